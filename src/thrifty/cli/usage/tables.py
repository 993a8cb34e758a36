"""Tables that fit the terminal: columns are dropped, least useful first, before figures wrap."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

#: Text columns that may fold onto several lines (long ids and paths) instead of forcing width.
FOLDABLE = {"Session": 12, "Project": 16, "Model": 12}


@dataclass(frozen=True)
class Column:
    header: str
    #: The order a narrow terminal drops columns in (lowest first); None: always shown.
    drop_rank: int | None = None
    numeric: bool = False


@dataclass
class Grid:
    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)
    #: Row indexes that start a new section (a rule is drawn above them).
    sections: set[int] = field(default_factory=set)

    def add(self, cells: list[str], style: str | None = None, *, section: bool = False) -> None:
        if section:
            self.sections.add(len(self.rows))
        self.rows.append(cells)
        self.styles.append(style)


def _longest(cells: list[list[str]], i: int) -> int:
    return max((len(line) for row in cells for line in row[i].splitlines()), default=0)


def fit(columns: list[Column], cells: list[list[str]], width: int) -> tuple[list[int], bool]:
    """The columns to show, dropping the least useful until the rest fit; and whether they do."""

    def need(i: int) -> int:
        header = columns[i].header
        if header in FOLDABLE:  # folds: a few characters and the longest header word suffice
            return max(min(_longest(cells, i), FOLDABLE[header]), *map(len, header.split())) + 3
        return max(_longest(cells, i), *map(len, header.splitlines())) + 3  # padding and border

    keep = list(range(len(columns)))
    ranked = sorted((c.drop_rank, i) for i, c in enumerate(columns) if c.drop_rank is not None)
    for _, i in ranked:
        if sum(need(j) for j in keep) + 1 <= width:
            break
        keep.remove(i)
    return keep, sum(need(j) for j in keep) + 1 <= width


def print_grid(console: Console, grid: Grid) -> bool:
    """Print ``grid``; True when columns had to be hidden to fit."""
    keep, fits = fit(grid.columns, grid.rows, console.width)
    table = Table(title=grid.title, title_justify="left")
    for i in keep:
        column = grid.columns[i]
        # Figures stay on one line when the table fits; on a tiny terminal rich wraps them
        # rather than cropping the cost off the edge.
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            overflow="fold",
            no_wrap=fits and column.header not in FOLDABLE,
        )
    for n, cells in enumerate(grid.rows):
        if n in grid.sections:
            table.add_section()
        table.add_row(*(cells[i] for i in keep), style=grid.styles[n])
    console.print(table)
    return len(keep) < len(grid.columns)


HIDDEN_NOTE = "Some columns are hidden to fit the terminal; --json or --csv has them all."


#: Columns after the key with the order a narrow terminal drops them in (lowest first; None:
#: always shown). Numbers must never wrap mid-figure, so columns go before digits get split.
NUMERIC = [
    Column("Calls", 8, True),
    Column("Input", 5, True),
    Column("Output", 6, True),
    Column("Cache\nwrite", 1, True),
    Column("Cache\nread", 2, True),
    Column("Total\ntokens", None, True),
    Column("Cost", None, True),
]
