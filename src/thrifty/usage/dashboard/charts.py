"""Inline SVG charts drawn here, in Python, so the page needs no script library, no font and no
network: it opens the same from a mail attachment as from disk.

Every mark that stands for money carries the exact figure in ``data-cost`` (and a ``<title>``
a browser shows on hover), so a reader, a script or a test can check the drawing against the
ledger instead of trusting pixel heights. Every piece of text goes through ``esc``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from html import escape

__all__ = ["PALETTE", "colour", "esc", "grouped_bars", "hbars", "money", "share_bars", "stacked_bars"]

#: Distinguishable on white and for the common colour blindnesses (Okabe-Ito, then a few more).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#882255",
    "#44AA99",
    "#117733",
)
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 200, 70, 30, 12
CENT = Decimal("0.01")


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def money(cost: str | None, complete: bool = True) -> str:
    """A cost for people: ``$1,234.57``, ``≥ $1.20`` when calls had no price, ``unknown``."""
    if cost is None:
        return "unknown"
    value = Decimal(cost)
    shown = abs(value).quantize(CENT, rounding=ROUND_HALF_UP)
    text = f"${shown:,}" if value == 0 or shown != 0 else "<$0.01"
    sign = "-" if value < 0 and shown != 0 else ""
    return f"{sign}{text}" if complete else f"≥ {sign}{text}"


def _dec(cost: str | None) -> Decimal:
    return Decimal(cost) if cost is not None else Decimal(0)


def _axis(top: Decimal, unit: str = "$") -> str:
    """The y axis: a base line and the top value."""
    label = money(f"{top:f}") if unit == "$" else f"{top:.0%}"
    base = HEIGHT - BOTTOM
    zero = "$0" if unit == "$" else "0%"
    return (
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}"/>'
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end">{esc(label)}</text>'
        f'<text class="tick" x="{LEFT - 6}" y="{base}" text-anchor="end">{zero}</text>'
    )


def _x_labels(keys: Sequence[str], step: float) -> str:
    """Every n-th key under the axis, so labels never overlap."""
    every = max(1, math.ceil(80 / max(step, 1.0)))
    out = []
    for i, key in enumerate(keys):
        if i % every == 0 or i == len(keys) - 1:
            x, y = LEFT + step * (i + 0.5), HEIGHT - BOTTOM + 16
            out.append(f'<text class="tick" x="{x:.1f}" y="{y}" text-anchor="middle">{esc(key)}</text>')
    return "".join(out)


def _svg(label: str, body: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def stacked_bars(
    label: str,
    mode: str,
    columns: Sequence[tuple[str, str | None, bool, Mapping[str, str | None]]],
    colours: Mapping[str, str],
) -> str:
    """One bar per column (``key, total cost, complete, {series: cost}``), stacked by series in
    ``colours`` order; the scale is this chart's own, since modes never share one."""
    top = max((_dec(total) for _, total, _, _ in columns), default=Decimal(0))
    base = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / max(len(columns), 1)
    width = max(step * 0.8, 1.0)
    parts = [_axis(top)]
    for i, (key, total, complete, series) in enumerate(columns):
        x = LEFT + step * i + (step - width) / 2
        y = float(base)
        parts.append(
            f'<g class="column" data-mode="{esc(mode)}" data-key="{esc(key)}" '
            f'data-cost="{esc(total or "")}" data-complete="{str(complete).lower()}">'
            f"<title>{esc(key)}: {esc(money(total, complete))}</title>"
        )
        for name in colours:
            if name not in series:
                continue
            cost = series[name]
            h = float(_dec(cost) / top) * (HEIGHT - BOTTOM - TOP) if top else 0.0
            y -= h
            parts.append(
                f'<rect class="seg" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{h:.2f}" '
                f'fill="{colours[name]}" data-mode="{esc(mode)}" data-key="{esc(key)}" '
                f'data-series="{esc(name)}" data-cost="{esc(cost or "")}">'
                f"<title>{esc(key)} · {esc(name)}: {esc(money(cost))}</title></rect>"
            )
        parts.append("</g>")
    parts.append(_x_labels([c[0] for c in columns], step))
    return _svg(label, "".join(parts))


def grouped_bars(
    label: str,
    keys: Sequence[str],
    values: Mapping[str, Mapping[str, str | None]],
    colours: Mapping[str, str],
) -> str:
    """Side by side, never stacked: one bar per series (a billing mode) for each key (a day)."""
    top = max((_dec(v) for series in values.values() for v in series.values()), default=Decimal(0))
    base = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / max(len(keys), 1)
    names = [name for name in colours if name in values]
    width = max(step * 0.8 / max(len(names), 1), 1.0)
    parts = [_axis(top)]
    for i, key in enumerate(keys):
        for j, name in enumerate(names):
            if key not in values[name]:
                continue
            cost = values[name][key]
            h = float(_dec(cost) / top) * (HEIGHT - BOTTOM - TOP) if top else 0.0
            x = LEFT + step * i + step * 0.1 + width * j
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{base - h:.2f}" width="{width:.2f}" height="{h:.2f}" '
                f'fill="{colours[name]}" data-key="{esc(key)}" data-series="{esc(name)}" '
                f'data-cost="{esc(cost or "")}">'
                f"<title>{esc(key)} · {esc(name)}: {esc(money(cost))}</title></rect>"
            )
    parts.append(_x_labels(keys, step))
    return _svg(label, "".join(parts))


def hbars(
    label: str, mode: str, items: Sequence[tuple[str, str | None, bool]], colours: Mapping[str, str]
) -> str:
    """Horizontal bars, one per item (``name, cost, complete``), longest first, names on the left."""
    items = sorted(items, key=lambda item: (-_dec(item[1]), item[0]))
    top = max((_dec(cost) for _, cost, _ in items), default=Decimal(0))
    row, name_w, cost_w = 26, 240, 110
    height = row * len(items) + 8
    span = WIDTH - name_w - cost_w
    parts = []
    for i, (name, cost, complete) in enumerate(items):
        y = 4 + row * i
        w = float(_dec(cost) / top) * span if top else 0.0
        short = name if len(name) <= 34 else "…" + name[-33:]
        parts.append(
            f'<text class="name" x="{name_w - 8}" y="{y + 16}" text-anchor="end">{esc(short)}</text>'
            f'<rect class="bar" x="{name_w}" y="{y + 3}" width="{w:.2f}" height="{row - 8}" '
            f'fill="{colours.get(name, PALETTE[0])}" data-mode="{esc(mode)}" data-series="{esc(name)}" '
            f'data-cost="{esc(cost or "")}"><title>{esc(name)}: {esc(money(cost, complete))}</title></rect>'
            f'<text class="value" x="{name_w + w + 6:.2f}" y="{y + 16}">{esc(money(cost, complete))}</text>'
        )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{esc(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def share_bars(label: str, items: Sequence[tuple[str, str | None, str]]) -> str:
    """Plan windows: each window's use (``key, share of the limit, detail``) against the limit,
    drawn as a dashed line at 100%."""
    shares = [Decimal(s) for _, s, _ in items if s is not None]
    top = max([Decimal(1), *shares])
    base = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / max(len(items), 1)
    width = max(step * 0.8, 1.0)
    limit_y = base - float(Decimal(1) / top) * (HEIGHT - BOTTOM - TOP)
    parts = [_axis(top, unit="%")]
    for i, (key, share, detail) in enumerate(items):
        h = float(Decimal(share or 0) / top) * (HEIGHT - BOTTOM - TOP)
        over = share is not None and Decimal(share) > 1
        x = LEFT + step * i + (step - width) / 2
        parts.append(
            f'<rect class="bar{" over" if over else ""}" x="{x:.2f}" y="{base - h:.2f}" width="{width:.2f}" '
            f'height="{h:.2f}" data-key="{esc(key)}" data-share="{esc(share or "")}">'
            f"<title>{esc(key)}: {esc(detail)}</title></rect>"
        )
    parts.append(
        f'<line class="limit" x1="{LEFT}" y1="{limit_y:.2f}" x2="{WIDTH}" y2="{limit_y:.2f}"/>'
        f'<text class="tick" x="{WIDTH - 4}" y="{limit_y - 4:.2f}" text-anchor="end">limit</text>'
    )
    parts.append(_x_labels([k[5:] for k, _, _ in items], step))
    return _svg(label, "".join(parts))
