"""``unpaid events``: the opens and clicks behind `opened`/`clicked` conditions — list, import, add."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from unpaid.cli.answer import answer
from unpaid.cli.options import format_option, output_options
from unpaid.errors import InputError, NotFoundError
from unpaid.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from unpaid.cli.context import App


@click.group(invoke_without_command=True)
@click.option("--order", "order_id", metavar="ORDER", help="Only the events of this order.")
@output_options
@click.pass_context
def events(ctx: click.Context, order_id: str | None, fmt: str, limit: int | None, page: int):
    """List recorded opens and clicks, newest first.

    Sources that report events (see `unpaid plugins`) bring them in by themselves before each
    `unpaid run`. For a source whose mail service keeps them, declare
    `imported_events = ["open"]` under [sources.NAME] and import its exports.

    \b
    Examples:
      unpaid events --order gc:1042
      unpaid events import opens.csv --source gc
      unpaid events add gc:1042 open --at 2026-11-24T12:00
    """
    if ctx.invoked_subcommand is not None:
        return
    from unpaid.output import Column, render
    from unpaid.store.events import Events

    app: App = ctx.obj
    rows = Events(app.store).recent(order_id, page * limit if limit else None)
    start = (page - 1) * limit if limit else 0
    out = [{"order_id": o, "kind": k, "at": app.local(at, seconds=True)} for o, k, at in rows[start:]]
    render(out, fmt, app.stdout, [Column("at", N_("At")), Column("order_id", N_("Order")),
                                  Column("kind", N_("Kind"), lambda v: _(KINDS.get(v, v)))])


#: The event kinds as people read them in a table (the codes stay in JSON and CSV).
KINDS = {"open": N_("open"), "click": N_("click")}


@events.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", metavar="SOURCE", help="Source of order ids written without a prefix (1042 -> SOURCE:1042).")
@format_option
@click.pass_obj
def import_(app: "App", file: Path, source: str | None, fmt: str):
    """Record the opens and clicks of a mail service's export (CSV or JSON Lines).

    Columns: `kind` (open, click), `at` (a time; without an offset it is read in the config's
    zone) and `order` (gc:1042, or 1042 with --source) or `email` (every unpaid order of that
    customer gets the event). Bad rows are listed with FILE:LINE and skipped; the good ones are
    kept. Importing the same file twice records nothing new.

    Exit code 1 when a row was skipped, 2 when the file cannot be read.
    """
    from unpaid.event_file import BadRecord, read_events
    from unpaid.store.events import Events

    if source is not None:
        app.config.source(source)  # an unknown name fails here, naming the configured ones
    try:
        records = list(read_events(file, app.zone, source))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_("{file}: cannot read it ({kind}: {error})").format(
                             file=file, kind=exc.__class__.__name__, error=exc),
                         _("give a UTF-8 CSV or JSON Lines file")) from None
    rows, bad = [], 0
    store = app.store
    for rec in records:
        if isinstance(rec, BadRecord):
            _skip(file, rec.line, rec.reason)
            bad += 1
            continue
        targets = [rec.order_id] if rec.order_id else _orders_of(app, rec.email)
        if rec.order_id and store.orders.get(rec.order_id) is None:
            _skip(file, rec.line, _("no order {order} in the store (run `unpaid sync` first?)").format(
                order=rec.order_id))
            bad += 1
            continue
        if not targets:
            _skip(file, rec.line, _("no unpaid order of {email}").format(email=rec.email))
            bad += 1
            continue
        rows += [(oid, rec.kind, rec.at, {"imported_from": file.name}) for oid in targets]
    with store.transaction():
        added = Events(store).add_many(rows)
    recorded = ngettext("{file}: {n} event recorded", "{file}: {n} events recorded", added).format(
        file=file, n=added)
    skipped = ngettext("{n} row skipped.", "{n} rows skipped.", bad).format(n=bad)
    app.info(_("{recorded}, {known} already known, {skipped}").format(recorded=recorded, known=len(rows) - added,
                                                                     skipped=skipped))
    answer(app, fmt, {"file": str(file), "recorded": added, "known": len(rows) - added, "skipped": bad})
    if bad:
        click.get_current_context().exit(1)


@events.command("add")
@click.argument("order_id", metavar="ORDER")
@click.argument("kind", type=click.Choice(["open", "click"]))
@click.option("--at", "when", metavar="TIME", help="When it happened [default: now].")
@format_option
@click.pass_obj
def add(app: "App", order_id: str, kind: str, when: str | None, fmt: str):
    """Record one open or click of ORDER (from a webhook or by hand)."""
    from unpaid.clock import parse_when, to_iso
    from unpaid.store.events import Events

    from unpaid.cli.orders import check_id

    if app.store.orders.get(check_id(order_id, "ORDER")) is None:
        raise NotFoundError(_("no order {order}").format(order=order_id), _("run `unpaid orders` or `unpaid sync`"))
    try:
        at = parse_when(when, app.zone, app.now()) if when else app.now()
    except ValueError as exc:
        raise InputError("--at: {error}".format(error=exc), _("e.g. --at 2026-11-24T12:00")) from None
    with app.store.transaction():
        added = Events(app.store).add_many([(order_id, kind, at, {"added_by": app.actor})])
    if added:
        app.info(_("{order}: {kind} at {moment} recorded.").format(order=order_id, kind=_(KINDS[kind]),
                                                                  moment=app.local(at)))
    else:
        app.info(_("{order}: {kind} at {moment} was already recorded.").format(order=order_id, kind=_(KINDS[kind]),
                                                                              moment=app.local(at)))
    answer(app, fmt, {"order_id": order_id, "kind": kind, "at": to_iso(at), "recorded": bool(added)})


def _orders_of(app: "App", email: str | None) -> list[str]:
    from unpaid.store.orders import OrderQuery

    return [o.id for o in app.store.orders.query(OrderQuery(customer=email)) if o.customer.key == email]


def _skip(file: Path, line: int, reason: str) -> None:
    click.echo(_("{file}:{line}: skipped: {reason}").format(file=file, line=line, reason=reason), err=True)
