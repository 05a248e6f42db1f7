"""``unpaid dedupe``: mark orders with a paid twin or a newer duplicate False (dry run by default)."""

from __future__ import annotations

import click

from unpaid.cli.options import complete_source
from unpaid.errors import ExitCode, UnpaidError
from unpaid.output import Column, plural


def _columns(app) -> list[Column]:
    from unpaid.cli.order_view import customer_text, product_text

    return [
        Column("id", "order"),
        Column("status_label", "status"),
        Column("customer", "customer", customer_text),
        Column("items", "product", product_text),
        Column("action", "action"),
        Column("reason", "reason"),
        Column("result", "result"),
    ]


def _row(decision, fmt: str, result: str | None = None) -> dict:
    from unpaid.records import flat_order, order_dict

    row = {**order_dict(decision.order), "action": decision.action, "reason": decision.reason,
           "twin": decision.twin}
    if result is not None:
        row["result"] = result
    return flat_order(row) if fmt == "csv" else row


@click.command()
@click.option("--apply", "apply_", is_flag=True, help="Push the False statuses to the sources (default: dry run).")
@click.option("--source", "sources", multiple=True, metavar="SOURCE", shell_complete=complete_source,
              help="Only decide on orders of this source (twins in other sources still count; repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None,
              help="Output format [default: the global --format, else table].")
@click.pass_obj
def dedupe(app, apply_: bool, sources: tuple[str, ...], fmt: str | None):
    """Mark orders with a paid twin or a newer duplicate as False.

    Orders are grouped by customer (e-mail, else phone) and product, across sources. An actual
    order whose customer already paid for the same product is False ("paid twin"); of several
    actual orders of the same product the newest is kept and the others are False. Partly paid
    orders are never marked False; orders without e-mail/phone or product are left alone.

    Without --apply this only prints every decision with its reason. With --apply the Falses are
    pushed to each source in batches (a CSV file is rewritten once per batch of 5,000) and recorded;
    every failure is reported with its order and the rest go on. Running it again proposes nothing new.

    \b
    Exit status: 0 ok, 1 some orders could not be changed, 2 bad usage.

    \b
    Examples:
      unpaid dedupe                   # what would change, and why
      unpaid dedupe --apply --source shop
    """
    from unpaid.dedupe import FALSE, plan
    from unpaid.output import render
    from unpaid.store.orders import OrderQuery

    fmt = fmt or app.format
    store = app.store
    for name in sources:
        if name not in app.config.sources and store.orders.count_source(name) == 0:
            app.config.source(name)  # raises, listing the configured sources
    # Customers with more than one order, plus every actual order (for the unkeyed ones).
    candidates = {o.id: o for o in store.orders.with_twins()}
    candidates.update((o.id, o) for o in store.orders.query(OrderQuery()) if o.id not in candidates)
    decisions = [d for d in plan(candidates.values()) if not sources or d.order.source in sources]
    to_false = [d for d in decisions if d.action == FALSE]
    if not apply_:
        render((_row(d, fmt) for d in decisions), fmt, app.stdout, _columns(app)[:-1])
        if to_false:
            app.info(f"{len(to_false)} of {len(decisions)} orders would be marked False — "
                     "run `unpaid dedupe --apply` to do it")
        else:
            app.info(f"nothing to mark False ({len(decisions)} orders looked at)")
        return
    failed = _apply(app, to_false, fmt)
    done = len(to_false) - failed
    app.info(f"marked {plural(done, 'order')} False" + (f", {failed} failed" if failed else ""))
    if failed:
        click.get_current_context().exit(ExitCode.FAILED)


#: Orders pushed in one batch: one rewrite of a CSV file, one fresh read per source.
CHUNK = 5000


def _apply(app, decisions, fmt: str) -> int:
    """Push the False decisions in batches per source through the one status-change path; return how many failed.

    Every failure is reported with its order and the rest go on, whatever the error.
    """
    from unpaid.actions import StatusChange, change_statuses
    from unpaid.model import Status
    from unpaid.output import render
    from unpaid.secrets import redact

    store, now = app.store, app.now()
    by_source: dict[str, list] = {}
    for d in decisions:
        by_source.setdefault(d.order.source, []).append(d)
    results: dict[str, object] = {}
    for source, group in by_source.items():
        try:
            with app.connector(source) as connector:
                for start in range(0, len(group), CHUNK):
                    chunk = group[start : start + CHUNK]
                    try:
                        results.update(change_statuses(
                            store, connector, [StatusChange(d.order, d.reason, {"twin": d.twin}) for d in chunk],
                            Status.FALSE, actor=app.actor, now=now, kind="dedupe", playbook="dedupe",
                            command="unpaid dedupe --apply"))
                    except UnpaidError as exc:  # the source cannot change statuses: nothing of it was written
                        results.update((d.order_id, exc) for d in chunk)
        except UnpaidError as exc:  # the source cannot be opened
            results.update((d.order_id, exc) for d in group if d.order_id not in results)
    rows, failed = [], 0
    for d in decisions:
        outcome = results[d.order_id]
        if isinstance(outcome, UnpaidError):
            failed += 1
            result = redact(f"failed: {outcome}")
            app.warn(f"{d.order_id}: {outcome}")
        else:
            result = "done" if outcome.changed else outcome.note or "unchanged"
        rows.append(_row(d, fmt, result))
    render(rows, fmt, app.stdout, _columns(app))
    return failed
