"""``unpaid report``: what working unpaid orders earns (docs/reports.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from unpaid.cli.options import format_option, parse_age
from unpaid.errors import InputError
from unpaid.i18n import N_, _

if TYPE_CHECKING:
    from unpaid.cli.context import App

_NAMES = "recovery|reasons|managers|steps|offers|funnel|lift|forecast"
#: What a report without rows says on stderr, by what is missing.
_EMPTY_STORE = N_("the store holds no orders yet — run `unpaid sync` first")
_NO_DATA = N_("no data for this report in the period and filters given")


@click.command()
@click.argument("name", metavar=f"[{_NAMES}]", required=False, default="recovery")
@click.option("--since", metavar="WHEN", help="Orders created at or after WHEN (a date or moment, config's zone).")
@click.option("--until", metavar="WHEN", help="Orders created before WHEN [default: now].")
@click.option("--source", metavar="NAME", help="Only orders of this source.")
@click.option("--product", metavar="ID", help="Only orders of this product (its id in the source).")
@click.option("--playbook", metavar="NAME", help="Only orders that entered this playbook.")
@click.option("--window", metavar="AGE", default="7d", show_default=True,
              help="Attribution window: a payment is credited to a touch at most this long before it.")
@click.option("--ahead", metavar="AGE", default="14d", show_default=True,
              help="forecast: the coming days the playbooks' plan covers.")
@click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
              help="Write every report, with charts, to one self-contained HTML page (needs unpaid[reports]).")
@format_option
@click.pass_obj
def report(app: "App", name: str, since: str | None, until: str | None, source: str | None, product: str | None,
           playbook: str | None, window: str, ahead: str, html_file: str | None, fmt: str):
    """Show what the work earns: recovered revenue, refusal reasons, managers, steps, offers, the funnel,
    the lift over a hold-out group, and the forecast of the coming days.

    Reports cover the orders created in the period that entered a playbook. A payment counts as recovered
    when a message, an offer or a call reached the customer before it, the last one at most --window
    earlier; see docs/reports.md for every figure.

    \b
    Examples:
      unpaid report
      unpaid report reasons --since 2026-11-01 --until 2026-12-01
      unpaid report managers --format csv > managers.csv
      unpaid report forecast --ahead 7d
      unpaid report --since 2026-11-01 --html november.html
    """
    from unpaid.output import render
    from unpaid.reports import NAMES
    from unpaid.reports.build import build, has_orders
    from unpaid.reports.scope import parse_scope

    if name not in NAMES:
        raise InputError(_("REPORT: unknown report {name!r}").format(name=name),
                         _("use one of: {names}").format(names=", ".join(NAMES)))
    span = parse_age(window, "--window")
    if not span:
        raise InputError(_("--window: must be longer than 0"), _("e.g. --window 7d"))
    scope = parse_scope(since, until, app.now(), app.zone, source=source, product=product, playbook=playbook)
    if html_file is not None:
        _write_page(app, html_file, scope, span, fmt)
        return
    if name == "forecast":
        rows = _forecast(app, scope, span, parse_age(ahead, "--ahead"))
    else:
        rows = build(name, app.store, scope, span, app.zone)
    if not rows and fmt == "table":
        app.info(_(_EMPTY_STORE if not has_orders(app.store) else _NO_DATA))
        return
    from unpaid.i18n import resolve

    render(rows, fmt, app.stdout, _columns(name, resolve(app.config.language)))
    if not rows:
        app.info(_(_EMPTY_STORE if not has_orders(app.store) else _NO_DATA))


def _forecast(app: "App", scope: Any, window: Any, ahead: Any) -> list[dict]:
    """The playbooks' plan over the coming ``ahead`` (as `unpaid plan --until`), per day, with the payments
    the past of each step says to expect; --playbook picks the playbook, the other filters the past."""
    from unpaid.cli.playbooks import _library, _names, plan_scope
    from unpaid.playbook.planning import plan_rows
    from unpaid.reports.build import build
    from unpaid.reports.forecast import forecast, step_rates
    from unpaid.reports.scope import EPOCH, Scope

    if not ahead:
        raise InputError(_("--ahead: must be longer than 0"), _("e.g. --ahead 14d"))
    lib, now = _library(app), app.now()
    names = _names(lib, (scope.playbook,) if scope.playbook else ())
    past = Scope(EPOCH, now, scope.source, scope.product, scope.playbook)
    rates = step_rates(build("steps", app.store, past, window, app.zone))
    return forecast(plan_rows(plan_scope(app, lib, names, now, now + ahead)), rates, app.zone)


def _columns(name: str, language: str) -> list:
    from unpaid.output import Column
    from unpaid.reports.words import COLUMNS, cell, header, source_field

    def fmt(field: str):
        return lambda value: cell(field, value, language)

    return [Column(source_field(name, f), header(f, language), fmt(f)) for f in COLUMNS[name]]


def _write_page(app: "App", path: str, scope: Any, window: Any, fmt: str) -> None:
    """Every report on one HTML page at ``path``; answers ``{path, written}``."""
    from pathlib import Path

    from unpaid.i18n import resolve
    from unpaid.output import render_one
    from unpaid.reports.build import build_page, has_orders
    from unpaid.reports.html import require_charts

    require_charts()
    if scope.since.year == 1970:
        title = _("unpaid: what the work earns, orders created from the beginning to {until}").format(
            until=app.local(scope.until))
    else:
        title = _("unpaid: what the work earns, orders created from {since} to {until}").format(
            since=app.local(scope.since), until=app.local(scope.until))
    text = build_page(app.store, scope, window, app.zone, title, resolve(app.config.language))
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(_("--html: cannot write {path}: {error}").format(path=path, error=exc.strerror),
                         _("choose a writable file")) from None
    if not has_orders(app.store):
        app.info(_(_EMPTY_STORE))
    render_one({"path": str(Path(path).resolve()), "written": True}, fmt, app.stdout) if fmt != "table" else \
        app.info(_("wrote {path}").format(path=path))
