"""``unpaid orders``, ``unpaid show`` and ``unpaid status``: list, inspect and change orders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from unpaid.cli.answer import answer
from unpaid.cli.options import TEXT, complete_source, format_option, output_options, parse_age
from unpaid.errors import ConfigError, InputError, NotFoundError, StoreError
from unpaid.i18n import _, ngettext

if TYPE_CHECKING:
    from unpaid.cli.context import App
    from unpaid.model import Order, Status
    from unpaid.store.orders import OrderQuery


def parse_status(text: str, option: str = "STATUS") -> "Status":
    """A status from its code or label; InputError naming ``option`` otherwise."""
    from unpaid.model import Status

    try:
        return Status.parse(text)
    except ValueError as exc:
        raise InputError("{option}: {error}".format(option=option, error=exc),
                         _("labels work too, e.g. 'Waiting for payment' or Cancelled")) from None


#: The longest id a command accepts: source ids are far shorter; a longer one is a paste gone wrong.
MAX_ID = 200


def check_id(text: str, what: str) -> str:
    """``text`` when it can be an id (order, ledger key); InputError naming ``what`` otherwise."""
    if len(text) > MAX_ID:
        raise InputError(_("{what}: {start!r}… is {length} characters long, not an id").format(
                             what=what, start=text[:40], length=f"{len(text):,}"),
                         _("give an id of at most {limit} characters, e.g. shop:1042").format(limit=MAX_ID))
    return text


def find_order(app: "App", text: str) -> "Order":
    """The order named ``SOURCE:ID``, or by a bare native id or number when only one order has it."""
    check_id(text, "ORDER")
    store = app.store
    order = store.orders.get(text.strip())
    if order is not None:
        return order
    matches = store.orders.find(text.strip())
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(o.id for o in matches)
        raise InputError(_("{text!r} matches several orders: {ids}").format(text=text, ids=ids),
                         _("name one as SOURCE:ID"))
    raise NotFoundError(_("no order {order}").format(order=text), _("run `unpaid orders` or `unpaid sync`"))


def build_query(app: "App", *, statuses: tuple[str, ...], all_: bool, sources: tuple[str, ...],
                products: tuple[str, ...], older_than: str | None, newer_than: str | None,
                customer: str | None, manager: str | None, sort: str) -> "OrderQuery":
    """Turn the listing options into one OrderQuery.

    Named segments (``--segment``) merge their filters into the query built here.
    """
    from unpaid.store.orders import OrderQuery

    query = OrderQuery(sort=sort, products=products, customer=customer, manager=manager)
    if statuses:
        query.statuses = frozenset(parse_status(s, "--status") for s in statuses)
    elif all_:
        query.statuses = None
    for name in sources:
        if name not in app.config.sources and app.store.orders.count_source(name) == 0:
            app.config.source(name)  # raises, listing the configured sources
    query.sources = sources
    now = app.now()
    older, newer = parse_age(older_than, "--older-than"), parse_age(newer_than, "--newer-than")
    query.created_before = now - older if older is not None else None
    query.created_after = now - newer if newer is not None else None
    return query


@click.command()
@click.option("--status", "statuses", multiple=True, metavar="STATUS",
              help="Only orders in this status: code or label, finished ones too (repeatable).")
@click.option("--all", "all_", is_flag=True,
              help="Include finished orders (paid, cancelled, false, refunded, unmapped).")
@click.option("--source", "sources", multiple=True, metavar="SOURCE", shell_complete=complete_source,
              help="Only orders of this source (repeatable).")
@click.option("--product", "products", multiple=True, metavar="ID", help="Only this product id (repeatable).")
@click.option("--older-than", metavar="AGE", help="Created more than AGE ago (30m, 2h, 7d, 2w).")
@click.option("--newer-than", metavar="AGE", help="Created less than AGE ago.")
@click.option("--customer", metavar="TEXT", help="Customer e-mail, phone or name (part of it is enough).")
@click.option("--manager", metavar="NAME", help="Orders assigned to or claimed by this manager.")
@click.option("--sort", type=click.Choice(["newest", "oldest", "amount", "status"]), default="newest",
              show_default=True, help="Row order.")
@click.option("--jobs", type=click.IntRange(1, 64), metavar="N",
              help="Export in N processes at once; the rows are the same (json/jsonl/csv, all rows, newest or "
                   "oldest first, SQLite) [default: one per CPU, at most 4, from 50,000 orders].")
@output_options
@click.pass_obj
def orders(app, statuses, all_, sources, products, older_than, newer_than, customer, manager, sort, jobs,
           fmt, limit, page):
    """List orders: the actual ones (not paid, cancelled, false, refunded or unmapped) by default, newest first.

    The count goes to stderr, the rows to stdout. JSON rows follow docs/json.md.

    \b
    Examples:
      unpaid orders --older-than 2d --source shop
      unpaid orders --status payment_waiting --status new --sort amount
      unpaid orders --all --customer anna@example.com --format json
    """
    from unpaid.output import render, write_texts
    from unpaid.records import CSV_HEADER

    query = build_query(app, statuses=statuses, all_=all_, sources=sources, products=products,
                        older_than=older_than, newer_than=newer_than, customer=customer, manager=manager,
                        sort=sort)
    store, now = app.store, app.now()
    total = store.orders.count(query)
    offset = (page - 1) * limit if limit else 0
    if fmt in ("json", "jsonl", "csv"):  # written as the texts SQLite builds for most rows, a chunk at a time
        try:
            blocks = _in_parallel(app, query, fmt, jobs, total) if limit is None else None
            if blocks is None:
                blocks = store.orders.export(query, fmt, limit=limit, offset=offset)
            shown = write_texts(blocks, fmt, app.stdout, CSV_HEADER)
        except UnicodeDecodeError as exc:  # a store written by hand or damaged: SQLite hands the bytes on
            raise StoreError(_("{path}: an order holds text that is not UTF-8 ({error})").format(
                path=app.db_path, error=exc), _("check the database file, or restore it from a backup")) from None
    else:
        from unpaid.cli.order_view import order_columns

        rows = store.orders.records(query, limit=limit, offset=offset)
        shown = render(rows, fmt, app.stdout, order_columns(app, now))
    if shown:
        app.info(ngettext("{n} order (showing {first}–{last})", "{n} orders (showing {first}–{last})",
                          total).format(n=total, first=offset + 1, last=offset + shown))
    elif total:
        app.info(ngettext("{n} order (page {page} is past the end)", "{n} orders (page {page} is past the end)",
                          total).format(n=total, page=page))
    else:
        from unpaid.store.orders import OrderQuery

        if store.orders.count(OrderQuery(statuses=None)):
            app.info(_("0 orders"))
        else:
            app.info(_("0 orders — run `unpaid sync` first"))


def _in_parallel(app: "App", query: "OrderQuery", fmt: str, jobs: int | None, total: int):
    """The export's blocks read by several processes (unpaid.exports), or None for one process: a PostgreSQL
    store, a sort by amount or status, one CPU, a small export with ``--jobs`` unset, a busy writer."""
    from unpaid import exports, workers

    wanted = workers.wanted(jobs)
    if wanted < 2 or app.store.postgres or query.sort not in ("newest", "oldest") \
            or (jobs is None and total < exports.PARALLEL_FROM):
        return None
    return exports.blocks(app.store, query, fmt, wanted, app.store.open_again)


def order_card(app: "App", order: "Order") -> dict[str, Any]:
    """``{order, related, claim, history}``: the JSON of ``unpaid show``."""
    from unpaid.clock import to_iso
    from unpaid.dedupe import relation
    from unpaid.records import order_dict

    store, now = app.store, app.now()
    related = []
    if order.customer.key:
        for other in reversed(store.orders.by_customer([order.customer.key])):
            if other.id != order.id:
                related.append({**order_dict(other),
                                "relation": relation(order, other, app.config.same_product_within)})
    claim = store.claims.get(order.id, now)
    return {
        "order": order_dict(order),
        "related": related,
        "claim": {"manager": claim.manager, "claimed_at": to_iso(claim.claimed_at),
                  "lease_until": to_iso(claim.lease_until)} if claim else None,
        "held": _held(app, order.id, now),
        "history": [e.as_dict() for e in store.history.for_order(order.id)],
    }


def _held(app: "App", order_id: str, now) -> list[dict[str, Any]]:
    """The order's actions held for review, with their Message-ID and the command that settles each."""
    from unpaid.review import Channels, Filter, held

    channels = Channels(app.config, app.plugins)
    try:
        return [h.as_dict() for h in held(app.store, now, Filter(order_id=order_id), channels)]
    finally:
        channels.close()


@click.command()
@click.argument("order_ref", metavar="ORDER")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default=None,
              help="table: the card; json: {order, related, claim, history}.")
@click.pass_obj
def show(app, order_ref: str, fmt: str | None):
    """Show an order: details, the customer's other orders, who holds it, what is held for review, its history.

    ORDER is SOURCE:ID, or a bare id or order number when only one order has it. Other orders
    of the same customer are flagged "paid twin" (a paid order of the same product) or
    "duplicate" (another actual order of the same product). Automatic history entries are marked.

    \b
    Examples:
      unpaid show shop:1042
      unpaid show 1042 --format json | jq '.history'
    """
    order = find_order(app, order_ref)
    card = order_card(app, order)
    if (fmt or app.format) in ("json", "jsonl"):
        from unpaid.output import render_one

        render_one(card, "json", app.stdout)
        return
    from unpaid.cli.order_view import render_card

    render_card(app, card, app.now())


@click.command()
@click.argument("order_ref", metavar="ORDER")
@click.argument("status_text", metavar="STATUS")
@click.option("--reason", metavar="REASON", type=TEXT, help="A cancel reason from the config's cancel_reasons.")
@click.option("--reason-text", metavar="TEXT", type=TEXT, help="A free-text reason instead of one from the list.")
@format_option
@click.pass_obj
def status(app, order_ref: str, status_text: str, reason: str | None, reason_text: str | None, fmt: str):
    """Change an order's status in its source, then record it in the store and history.

    STATUS is a code or label: new, in_work, payment_waiting, not_confirmed, part_paid, paid,
    cancelled, false. Cancelling needs --reason (one of `cancel_reasons` in the config) or
    --reason-text. The source is asked first; nothing changes locally unless it accepts.

    \b
    Exit status: 0 changed (or already in that status), 1 changed at the source meanwhile,
    2 bad input or the source cannot change statuses, 3 the source failed.

    \b
    Examples:
      unpaid status shop:1042 cancelled --reason "Too expensive"
      unpaid status shop:1042 false --reason-text "test order"
    """
    from unpaid.actions import change_status, resolve_reason
    from unpaid.connector import NotSupported

    to = parse_status(status_text)
    why = resolve_reason(to, reason, reason_text, app.config.cancel_reasons)
    order = find_order(app, order_ref)
    now = app.now()
    if order.status is to:
        app.info(_("{order} is already {status}; nothing to do").format(order=order.id, status=to.label))
        answer(app, fmt, {"order_id": order.id, "from": to.value, "to": to.value, "changed": False, "note": None})
        return
    try:
        connector = app.connector(order.source)
    except ConfigError as exc:
        raise ConfigError(_("cannot reach the source of {order}: {error}").format(order=order.id, error=exc.message),
                          exc.fix) from None
    with connector:
        try:
            outcome = change_status(app.store, connector, order, to, actor=app.actor, now=now, reason=why,
                                    command=f"unpaid status {order.id} {to.value}")
        except NotSupported as exc:
            raise NotSupported(exc.source, _("change statuses")) from None
    if outcome.note:
        app.info(outcome.note)
    if why:
        line = _("{order}: {old} → {new} ({reason})").format(order=order.id, old=outcome.old.label,
                                                             new=outcome.new.label, reason=why)
    else:
        line = _("{order}: {old} → {new}").format(order=order.id, old=outcome.old.label, new=outcome.new.label)
    answer(app, fmt, {**outcome.as_dict(), "reason": why}, line if outcome.changed else None)
