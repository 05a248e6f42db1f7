"""``unpaid report --html FILE``: every report on one self-contained page, with charts drawn by pygal.

Pure: report rows in, one HTML string out (inline SVG and CSS, no script or style from the network). The
figures stand in tables whose cells carry the JSON value (``data-value``), so the page can be checked
against ``--format json``; a small inline script marks each chart with the shapes the browser drew.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Mapping, Sequence

from unpaid.errors import InputError
from unpaid.i18n import N_, _, pgettext, speaking

EXTRA_HINT = N_("install the charts with `pip install 'unpaid[reports]'` (pygal), or leave out --html")
#: The reports whose tables the page shows, in order (the forecast looks ahead, not back).
TABLES = ("recovery", "reasons", "managers", "steps", "offers", "funnel", "lift")
#: The heading over each report's table.
HEADINGS = {"recovery": N_("Recovery"), "reasons": N_("Reasons"), "managers": N_("Managers"), "steps": N_("Steps"),
            "offers": N_("Offers"), "funnel": N_("Funnel"), "lift": N_("Lift")}
#: Counts the browser test finds drawn: one per chart, each the number of SVG shapes with an area.
_DRAWN = """
document.querySelectorAll('figure.chart').forEach(function (f) {
  var n = 0;
  f.querySelectorAll('svg .series rect, svg .series path').forEach(function (s) {
    var b = s.getBBox(); if (b.width > 0 && b.height > 0) { n++; }
  });
  f.setAttribute('data-drawn', n);
});
document.body.setAttribute('data-ready', '1');
"""


def require_charts() -> None:
    """Raise InputError (before any work) when pygal, of the ``reports`` extra, is not installed."""
    import importlib.util

    if importlib.util.find_spec("pygal") is None:
        raise InputError(_("--html: the charts need pygal, which is not installed"), _(EXTRA_HINT))


def page(reports: Mapping[str, list[dict]], timeline: Sequence[Mapping[str, Any]], title: str,
         language: str) -> str:
    """The page: ``reports`` (name -> rows, as ``--format json`` gives them), ``timeline`` (rows ``{day,
    currency, recovered, revenue}``, revenue as money), a ``title`` naming the period, the tables' ``language``."""
    require_charts()
    import pygal
    with speaking(language):
        charts = [
            ("revenue", _("Recovered revenue over time"), _revenue(pygal, timeline)),
            ("reasons", _("Refusal reasons"), _reasons(pygal, reports["reasons"])),
            ("managers", _("Managers"), _managers(pygal, reports["managers"])),
            ("funnel", _("Funnel"), _funnel(pygal, reports["funnel"])),
            ("lift", _("Lift over the hold-out group, with its 95% interval"), _lift(pygal, reports["lift"])),
        ]
        body = [f"<h1>{escape(title)}</h1>"]
        for key, heading, svg in charts:
            body.append(f'<figure class="chart" data-chart="{key}"><figcaption>{escape(heading)}</figcaption>{svg}'
                        "</figure>")
        for name in TABLES:
            body.append(f"<h2>{escape(_(HEADINGS[name]))}</h2>" + _table(name, reports[name], language))
    return (f"<!DOCTYPE html>\n<html lang=\"{escape(language)}\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(body)
            + f"\n<script>{_DRAWN}</script>\n</body></html>\n")


def _config(pygal: Any, **kw: Any) -> Any:
    # js=[]: pygal would link its tooltip script from the network; the page must open offline.
    return pygal.Config(js=[], disable_xml_declaration=True, width=800, height=360, legend_at_bottom=True,
                        no_data_text=_("no data"), **kw)


def _render(chart: Any) -> str:
    return chart.render(is_unicode=True)


def _revenue(pygal: Any, timeline: Sequence[Mapping[str, Any]]) -> str:
    chart = pygal.Bar(_config(pygal, x_label_rotation=30))
    days = sorted({t["day"] for t in timeline})
    chart.x_labels = days
    for cur in sorted({t["currency"] for t in timeline}):
        by_day = {t["day"]: t["revenue"]["minor"] / 100 for t in timeline if t["currency"] == cur}
        chart.add(cur, [by_day.get(d) for d in days])
    return _render(chart)


def _reasons(pygal: Any, rows: list[dict]) -> str:
    chart = pygal.HorizontalBar(_config(pygal))
    for r in rows:
        if r["by"] == "all":
            chart.add(r["reason"], r["count"])
    return _render(chart)


def _managers(pygal: Any, rows: list[dict]) -> str:
    chart = pygal.Bar(_config(pygal))
    chart.x_labels = [f"{r['manager']} ({r['currency']})" for r in rows]
    for field, label in (("calls", pgettext("chart legend", "calls")),
                         ("reached", pgettext("chart legend", "reached")),
                         ("promises", pgettext("chart legend", "promises")),
                         ("promises_kept", pgettext("chart legend", "promises kept")),
                         ("payments_after_calls", pgettext("chart legend", "paid after calls"))):
        if rows:
            chart.add(label, [r[field] for r in rows])
    return _render(chart)


def _funnel(pygal: Any, rows: list[dict]) -> str:
    chart = pygal.HorizontalBar(_config(pygal, show_legend=False))
    stages = rows[::-1]  # a horizontal bar chart draws its first label at the bottom: `new` goes on top
    chart.x_labels = [r["stage"] for r in stages]
    if any(r["count"] for r in stages):
        chart.add(pgettext("chart legend", "orders"), [r["count"] for r in stages])
    return _render(chart)


def _lift(pygal: Any, rows: list[dict]) -> str:
    points = _("{value} pp")  # percentage points
    chart = pygal.HorizontalBar(_config(pygal, value_formatter=lambda v: points.format(value=f"{v:+.1f}")))
    shown = [r for r in rows if r["lift"] is not None]
    chart.x_labels = [r["playbook"] for r in shown]
    for field, label in (("lift_low", pgettext("chart legend", "95% interval: from")),
                         ("lift", pgettext("chart legend", "lift")),
                         ("lift_high", pgettext("chart legend", "95% interval: to"))):
        if shown:
            chart.add(label, [round(r[field] * 100, 2) for r in shown])
    return _render(chart)


def _table(name: str, rows: list[dict], language: str) -> str:
    from unpaid.reports.words import COLUMNS, cell, header, source_field

    fields = [(source_field(name, f), f) for f in COLUMNS[name]]
    head = "".join(f"<th>{escape(header(f, language))}</th>" for f in COLUMNS[name])
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f'<td data-field="{key}" data-value="{escape(json.dumps(row.get(key)), quote=True)}">'
                        f"{escape(cell(f, row.get(key), language) or '—')}</td>" for key, f in fields)
        body.append(f'<tr data-row="{i}">{cells}</tr>')
    if not rows:
        body.append(f'<tr><td colspan="{len(fields)}">—</td></tr>')
    return f'<table data-report="{name}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
figure.chart { margin: 1.5em 0; max-width: 820px; }
figcaption { font-weight: 600; margin-bottom: .5em; }
table { border-collapse: collapse; margin: .5em 0 2em; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: left; }
td[data-value^="{"], td[data-value^="0"], td[data-value^="1"], td[data-value^="2"], td[data-value^="3"],
td[data-value^="4"], td[data-value^="5"], td[data-value^="6"], td[data-value^="7"], td[data-value^="8"],
td[data-value^="9"] { text-align: right; }
"""
