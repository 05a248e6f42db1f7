"""``unpaid dedupe``: mark orders with a paid twin or a duplicate False (dry run by default)."""

from __future__ import annotations

import click

from unpaid.cli.options import complete_source
from unpaid.errors import ExitCode, UnpaidError
from unpaid.i18n import N_, _, ngettext
from unpaid.output import Column
from unpaid.text import human


def _columns(app) -> list[Column]:
    from unpaid.cli.order_view import customer_text, product_text

    from unpaid.i18n import lookup

    return [
        Column("id", N_("order")),
        Column("status_label", N_("status"), lookup),
        Column("customer", N_("customer"), customer_text),
        Column("items", N_("product"), product_text),
        Column("action", N_("action"), lambda v: lookup(ACTIONS.get(v, v or ""))),
        Column("reason", N_("reason"), human),
        Column("result", N_("result"), human),
    ]


#: The actions as people read them in a table (the codes stay in JSON and CSV).
ACTIONS = {"false": N_("false"), "keep": N_("keep"), "skip": N_("skip")}


def _row(decision, fmt: str, result: str | None = None, applied: bool = False) -> dict:
    from unpaid.records import flat_order, order_dict

    row = {**order_dict(decision.order), "action": decision.action, "reason": decision.reason,
           "twin": decision.twin, "warning": decision.warning}
    if applied:
        row["result"] = result
    return flat_order(row) if fmt == "csv" else row


@click.command()
@click.option("--apply", "apply_", is_flag=True, help="Push the False statuses to the sources (default: dry run).")
@click.option("--force", is_flag=True,
              help="Also mark False orders a manager holds or the customer promised to pay (a warning each).")
@click.option("--source", "sources", multiple=True, metavar="SOURCE", shell_complete=complete_source,
              help="Only decide on orders of this source (twins in other sources still count; repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None,
              help="Output format [default: the global --format, else table].")
@click.pass_obj
def dedupe(app, apply_: bool, force: bool, sources: tuple[str, ...], fmt: str | None):
    """Mark orders with a paid twin or a duplicate as False.

    Orders are grouped by customer (e-mail, else phone) and product, across sources; orders of a
    group created within `same_product_within` (default 30d) of each other are one purchase. An
    actual order is False ("paid twin") when the customer paid for the product within that window
    before it was created, or any time after; an older payment is an earlier purchase (a renewal)
    and a refunded order never counts. Of several actual orders of one purchase one is kept: the
    one a playbook holds (the earliest entered), else a partly paid one, else the newest; the others
    are False. Partly paid orders are never marked False; orders without e-mail/phone or product
    are left alone.

    An order a manager holds ("In work", a live claim) or whose customer promised to pay (the last
    call outcome is `promised` for today or later, or the order still waits for payment since one)
    is skipped with the reason; --force marks it False too, with a warning line for each.

    Without --apply this only prints every decision with its reason. With --apply the Falses are
    pushed to each source in batches (a CSV file is rewritten once per batch of 5,000) and recorded;
    every failure is reported with its order and the rest go on. Running it again proposes nothing new.
    The last line counts the orders looked at: to mark False + kept + skipped.

    \b
    Exit status: 0 ok, 1 some orders could not be changed, 2 bad usage.

    \b
    Examples:
      unpaid dedupe                   # what would change, and why
      unpaid dedupe --apply --source shop
    """
    from unpaid.dedupe import FALSE, plan_stream
    from unpaid.output import render
    from unpaid.store.dedupe_facts import dedupe_facts, dedupe_groups, orders_by_id, unkeyed_orders

    fmt = fmt or app.format
    store, now = app.store, app.now()
    for name in sources:
        if name not in app.config.sources and store.orders.count_source(name) == 0:
            app.config.source(name)  # raises, listing the configured sources
    # Grouped in SQL and decided a batch of groups at a time: never every order in memory at once. The
    # rules read a few columns of each order; only the orders that get a decision are read whole.
    window = app.config.same_product_within
    stream = plan_stream(dedupe_groups(store, window), lambda ids: dedupe_facts(store, ids, now),
                         unkeyed_orders(store), window=window, today=now.astimezone(app.zone).date(),
                         force=force, zone=app.zone, orders_of=lambda ids: orders_by_id(store, ids))
    decisions = (d for d in stream if not sources or d.order.source in sources)
    if not apply_:
        tally = _Tally()
        render((_row(d, fmt) for d in tally.watch(app, decisions)), fmt, app.stdout, _columns(app)[:-1])
        counts = tally.text()
        if tally.n[FALSE]:
            app.info(_("{counts} — run `unpaid dedupe --apply` to do it").format(counts=counts))
        else:
            app.info(_("nothing to mark False ({counts})").format(counts=counts))
        return
    decisions = list(decisions)
    to_false = [d for d in decisions if d.action == FALSE]
    for d in to_false:
        if d.warning:
            app.warn(f"{d.order_id}: {human(d.warning)}")
    counts = _counts(decisions)
    failed = _apply(app, decisions, fmt)
    done = len(to_false) - failed
    if failed:
        line = ngettext("marked {n} order False, {failed} failed ({counts})",
                        "marked {n} orders False, {failed} failed ({counts})", done)
    else:
        line = ngettext("marked {n} order False ({counts})", "marked {n} orders False ({counts})", done)
    app.info(line.format(n=done, failed=failed, counts=counts))
    if failed:
        click.get_current_context().exit(ExitCode.FAILED)


class _Tally:
    """Counts decisions by action as they stream past, and warns of each forced False as it comes."""

    def __init__(self) -> None:
        from unpaid.dedupe import FALSE, KEEP, SKIP

        self.n = {FALSE: 0, KEEP: 0, SKIP: 0}

    def watch(self, app, decisions):
        for d in decisions:
            self.n[d.action] += 1
            if d.warning:
                app.warn(f"{d.order_id}: {human(d.warning)}")
            yield d

    def text(self) -> str:
        return _text(self.n)


def _counts(decisions) -> str:
    """``N orders looked at: F to mark False, K kept, S skipped`` — the three always add up to N."""
    from unpaid.dedupe import FALSE, KEEP, SKIP

    return _text({a: sum(1 for d in decisions if d.action == a) for a in (FALSE, KEEP, SKIP)})


def _text(n: dict[str, int]) -> str:
    from unpaid.dedupe import FALSE, KEEP, SKIP

    total = sum(n.values())
    return ngettext("{n} order looked at: {false} to mark False, {kept} kept, {skipped} skipped",
                    "{n} orders looked at: {false} to mark False, {kept} kept, {skipped} skipped", total).format(
        n=total, false=n[FALSE], kept=n[KEEP], skipped=n[SKIP])


#: Orders pushed in one batch: one rewrite of a CSV file, one fresh read per source.
CHUNK = 5000


def _data(decision) -> dict:
    """What the history keeps of a decision: its twin, and the hold --force overrode."""
    return {"twin": decision.twin, **({"forced": decision.warning} if decision.warning else {})}


def _apply(app, every, fmt: str) -> int:
    """Push the False decisions in batches per source through the one status-change path; print every
    decision with its result (none for kept and skipped ones); return how many failed.

    Every failure is reported with its order and the rest go on, whatever the error.
    """
    from unpaid.dedupe import FALSE

    from unpaid.actions import StatusChange, change_statuses
    from unpaid.model import Status
    from unpaid.output import render
    from unpaid.secrets import redact
    from unpaid.text import Phrase

    store, now = app.store, app.now()
    decisions = [d for d in every if d.action == FALSE]
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
                            store, connector, [StatusChange(d.order, d.reason, _data(d)) for d in chunk],
                            Status.FALSE, actor=app.actor, now=now, kind="dedupe", playbook="dedupe",
                            command="unpaid dedupe --apply"))
                    except UnpaidError as exc:  # the source cannot change statuses: nothing of it was written
                        results.update((d.order_id, exc) for d in chunk)
        except UnpaidError as exc:  # the source cannot be opened
            results.update((d.order_id, exc) for d in group if d.order_id not in results)
    rows, failed = [], 0
    for d in every:
        if d.action != FALSE:
            rows.append(_row(d, fmt, applied=True))
            continue
        outcome = results[d.order_id]
        if isinstance(outcome, UnpaidError):
            failed += 1
            result = Phrase(N_("failed: {error}"), error=redact(str(outcome)))
            app.warn(f"{d.order_id}: {outcome}")
        else:
            result = N_("done") if outcome.changed else outcome.note or N_("unchanged")
        rows.append(_row(d, fmt, result, applied=True))
    render(rows, fmt, app.stdout, _columns(app))
    return failed
