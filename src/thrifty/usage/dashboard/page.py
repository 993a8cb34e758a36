"""The dashboard page: one HTML file with its CSS, its small script, its SVG charts and its data
inline, so it opens offline, can be mailed, and loads nothing. A Content-Security-Policy of
``default-src 'none'`` makes the browser refuse any request a later edit might add by mistake.

The data document goes in whole as ``<script type="application/json" id="thrifty-data">``:
the exact numbers behind every chart, for scripts and for the tests. Inside it ``<``, ``>`` and
``&`` are written as JSON ``\\u`` escapes, so no project name can end the script element.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from thrifty.usage.dashboard.charts import (
    colour,
    esc,
    grouped_bars,
    hbars,
    money,
    share_bars,
    stacked_bars,
)

__all__ = ["render_page"]

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
#: Modes get colours of their own, never a model's: a mode chart must not look like a model chart.
MODE_COLOURS = {"api": "#34495e", "plan": "#8e6c8a", "batch": "#7f8c3a"}
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)


def _asset(name: str) -> str:
    return resources.files("thrifty.usage.dashboard").joinpath(name).read_text("utf-8")


def data_script(doc: Mapping[str, Any]) -> str:
    text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return f'<script type="application/json" id="thrifty-data">{text}</script>'


def _legend(colours: Mapping[str, str]) -> str:
    items = "".join(
        f'<li data-series="{esc(name)}"><span class="swatch" style="background:{c}"></span>{esc(name)}</li>'
        for name, c in colours.items()
    )
    return f'<ul class="legend">{items}</ul>'


def _palette(names: Sequence[str]) -> dict[str, str]:
    return {name: colour(i) for i, name in enumerate(names)}


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: range | None = None) -> str:
    """A table whose ``numeric`` columns (default: all but the first) align right."""
    numeric = numeric if numeric is not None else range(1, len(headers))

    def cls(i: int) -> str:
        return " class=num" if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{esc(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _mode_section(mode: str, doc: Mapping[str, Any], models: dict[str, str], projects: dict[str, str]) -> str:
    m = doc["modes"][mode]
    total = m["total"]
    days = m["days"]
    out = [f'<section class="mode" data-mode="{esc(mode)}"><h2>{esc(m["title"])}</h2>']
    out.append(
        f'<p class="note">{total["calls"]:,} calls, {total["total_tokens"]:,} tokens, '
        f'<span class="mode-total" data-mode="{esc(mode)}" data-cost="{esc(total["cost"] or "")}">'
        f"{esc(money(total['cost'], total['cost_complete']))}</span>.</p>"
    )
    for title, key, colours in (("by model", "by_model", models), ("by project", "by_project", projects)):
        used = {name: c for name, c in colours.items() if any(name in d[key] for d in days)}
        columns = [(d["day"], d["cost"], d["cost_complete"], d[key]) for d in days]
        out.append(f"<h3>Spend per day {title}</h3>{_legend(used)}")
        out.append(stacked_bars(f"{mode} spend per day {title}", mode, columns, used))
    out.append("<h3>By model</h3>")
    out.append(
        hbars(
            f"{mode} spend by model",
            mode,
            [(r["model"], r["cost"], r["cost_complete"]) for r in m["models"]],
            models,
        )
    )
    out.append(
        _table(
            ["Model", "Calls", "Input", "Output", "Cache write", "Cache read", "Cost"],
            [
                [
                    r["model"],
                    f"{r['calls']:,}",
                    f"{r['input_tokens']:,}",
                    f"{r['output_tokens']:,}",
                    f"{r['cache_write_tokens']:,}",
                    f"{r['cache_read_tokens']:,}",
                    money(r["cost"], r["cost_complete"]),
                ]
                for r in m["models"]
            ],
        )
    )
    out.append("<h3>By project</h3>")
    items = [(r["project"], r["cost"], r["cost_complete"]) for r in m["projects"]]
    out.append(hbars(f"{mode} spend by project", mode, items, projects))
    cache = m["cache"]
    out.append(
        f'<h3>Cache</h3><p class="cache" data-mode="{esc(mode)}" data-saving="{esc(cache["saving"])}">'
        f"{total['cache_read_tokens']:,} tokens read from the cache. Without caching these calls would have "
        f"cost {esc(money(cache['no_cache_cost']))} instead of {esc(money(cache['cost']))}: caching saved "
        f"<strong>{esc(money(cache['saving']))}</strong> (cache reads at their discount, less what cache "
        "writes cost over plain input).</p>"
    )
    if cache["unpriced_calls"]:
        out.append(f'<p class="note">{cache["unpriced_calls"]:,} calls with no known price are left out.</p>')
    out.append("</section>")
    return "".join(out)


def _modes_over_time(doc: Mapping[str, Any], active: list[str]) -> str:
    days = sorted({d["day"] for mode in active for d in doc["modes"][mode]["days"]})
    values = {mode: {d["day"]: d["cost"] for d in doc["modes"][mode]["days"]} for mode in active}
    colours = {mode: MODE_COLOURS[mode] for mode in active}
    return (
        "<h2>Spend per day by billing mode</h2>"
        '<p class="note">Side by side, never added up: plan figures are what the calls would have cost '
        "at API prices, not money billed.</p>"
        f"{_legend(colours)}{grouped_bars('spend per day by billing mode', days, values, colours)}"
    )


def _stamp(moment: str | None) -> str:
    """An ISO time from the data document as people read it: ``2026-12-06 14:00``."""
    return moment[:16].replace("T", " ") if moment else ""


def _plan_section(plan: Mapping[str, Any] | None) -> str:
    if plan is None:
        return (
            '<h2>Plan windows</h2><p class="empty">No plan is configured (thrifty login --plan NAME), '
            "so there are no windows to show.</p>"
        )
    out = [
        f"<h2>Plan windows: {esc(plan['label'])}</h2>"
        f'<p class="note">Limits: {esc(plan["limits"].rstrip("."))}. '
        "Use is weighted tokens (input + cache writes + output; cache reads are free).</p>"
    ]
    now = [
        [
            w["window"],
            f"{float(w['used']):.1%}",
            _stamp(w["resets_at"]) or "opens with the next call",
            "yes" if w["estimate"] else "no",
        ]
        for w in plan["now"]
    ]
    out.append(_table(["Window now", "Used", "Resets", "Estimated limit"], now, numeric=range(1, 2)))
    for title, key, limit in (
        ("5-hour blocks", "blocks", "five_hour_limit"),
        ("Weeks", "weeks", "weekly_limit"),
    ):
        entries = plan[key]
        out.append(f"<h3>{title} (most recent {len(entries)})</h3>")
        if not entries:
            out.append('<p class="empty">No plan calls in this period.</p>')
            continue
        items = [
            (_stamp(e["start"]), e["share"], f"{e['weighted_tokens']:,} of {plan[limit]:,} weighted tokens")
            for e in entries
        ]
        out.append(share_bars(f"plan {title}", items))
    return "".join(out)


def _advice_section(advice: Mapping[str, Any] | None) -> str:
    if advice is None:
        return ""
    if "error" in advice:
        return f'<h2>Plan or API key?</h2><p class="empty">{esc(advice["error"])}</p>'
    verdict = advice["verdict"]
    period = advice["period"]
    rows = [
        [o["name"], money(o["monthly_cost"]), "yes" if o["eligible"] else "no", o["why_not"] or ""]
        for o in advice["options"]
    ]
    return (
        "<h2>Plan or API key?</h2>"
        f'<p class="verdict" data-kind="{esc(verdict["kind"])}" '
        f'data-monthly-cost="{esc(verdict["monthly_cost"])}">'
        f"{esc(verdict['text'])}</p>"
        f'<p class="note">thrifty advise, {esc(period["since"][:10])} to {esc(period["until"][:10])} '
        f"({esc(period['days'][:6])} days, scaled to 30). Rule: {esc(advice['rule'])}</p>"
        + _table(["Option", "Per month", "Eligible", "Why not"], rows, numeric=range(1, 2))
    )


def _card(mode: str, m: Mapping[str, Any]) -> str:
    total = m["total"]
    return (
        f'<div class="card" data-mode="{esc(mode)}"><div>{esc(m["title"])}</div>'
        f'<div class="big">{esc(money(total["cost"], total["cost_complete"]))}</div></div>'
    )


def render_page(doc: Mapping[str, Any]) -> str:
    """The whole page for the data document ``dashboard_data`` built (titles added)."""
    models = _palette(doc["models"])
    projects = _palette(doc["projects"])
    active = [mode for mode, m in doc["modes"].items() if m["total"]["calls"]]
    span = f"{_stamp(doc['since']) or 'the first call'} to {_stamp(doc['until']) or 'now'}"
    filters = [f"{k} {doc[k]}" for k in ("mode", "project") if doc[k]]
    if doc["source"] != "all":
        filters.append(f"source {doc['source']}")
    body = [
        "<header><h1>thrifty usage</h1>",
        f'<p class="meta">Ledger {esc(doc["ledger"])} · {esc(span)} · timezone {esc(doc["timezone"])} · '
        f"cost mode {esc(doc['cost_mode'])}{' · ' + esc(', '.join(filters)) if filters else ''} · "
        f"generated {esc(doc['generated_at'])}</p></header>",
    ]
    if not active:
        body.append('<p class="empty" id="no-usage">No usage in the ledger matches these filters.</p>')
    else:
        cards = "".join(_card(mode, doc["modes"][mode]) for mode in active)
        body.append(f'<div class="cards">{cards}</div>')
        if len(active) > 1:
            body.append(_modes_over_time(doc, active))
        body.extend(_mode_section(mode, doc, models, projects) for mode in active)
    body.append(_plan_section(doc["plan"]))
    body.append(_advice_section(doc["advice"]))
    body.append('<p id="detail" aria-live="polite"></p>')
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>thrifty usage</title>"
        f"<style>{_asset('style.css')}</style></head><body>"
        + "".join(body)
        + data_script(doc)
        + f"<script>{_asset('script.js')}</script></body></html>\n"
    )
