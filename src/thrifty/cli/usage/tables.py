"""Tables that fit the terminal: columns are dropped, least useful first, before figures wrap.

Only a terminal is a reason to squeeze. Written to a file or a pipe a table gets every column
at its natural width, so a report saved for later still has its model and cache columns and a
session id stays on one line, ready to paste into ``--resume``; ``--compact`` asks for the
narrow form anywhere (at most ``COMPACT_WIDTH`` columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from thrifty.cli.usage import common

#: Text columns that may fold onto several lines (long paths and names) instead of forcing
#: width. Never "Session": an id cut in two cannot be pasted into ``--resume``.
FOLDABLE = {"Project": 16, "Model": 12}


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


#: ``--compact``: the most columns a table may take, wherever it goes.
COMPACT_WIDTH = 80
#: A table with no width limit is never this wide; rich needs a number.
UNLIMITED = 100_000


def on_terminal(console: Console) -> bool:
    """The file itself, not rich's guess: FORCE_COLOR makes rich treat a pipe as a terminal."""
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


def table_width(console: Console) -> int | None:
    """The width tables may take on ``console``: None for no limit (not a terminal)."""
    if common.compact_tables():
        return min(console.width, COMPACT_WIDTH)
    return console.width if on_terminal(console) else None


def unlimited(console: Console) -> Console:
    """A console on the same file that never wraps or crops a table."""
    return Console(file=console.file, width=UNLIMITED, highlight=False, color_system=None)


def report_console() -> Console:
    """A console for a report of tables and prose, at ``table_width``: prose lines are then not
    wrapped in a file either."""
    console = Console(highlight=False)
    width = table_width(console)
    if width is None:
        return unlimited(console)
    return console if width == console.width else Console(highlight=False, width=width)


def print_grid(console: Console, grid: Grid) -> bool:
    """Print ``grid``; True when columns had to be hidden to fit."""
    width = table_width(console)
    if width is None:
        keep, fits = list(range(len(grid.columns))), True
    else:
        keep, fits = fit(grid.columns, grid.rows, width)
    table = Table(title=grid.title, title_justify="left")
    for i in keep:
        column = grid.columns[i]
        # Figures stay on one line when the table fits; on a tiny terminal rich wraps them
        # rather than cropping the cost off the edge.
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            overflow="fold",
            no_wrap=fits and (width is None or column.header not in FOLDABLE),
        )
    for n, cells in enumerate(grid.rows):
        if n in grid.sections:
            table.add_section()
        table.add_row(*(cells[i] for i in keep), style=grid.styles[n])
    if width is None:
        unlimited(console).print(table)
    else:
        console.print(table, width=width)
    return len(keep) < len(grid.columns)


HIDDEN_NOTE = "Some columns are hidden to fit; --json, --csv or a file or pipe has them all."


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
