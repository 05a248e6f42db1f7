"""``unpaid review``: list the actions held for a person and settle them (see unpaid.review, docs/review.md)."""

from __future__ import annotations

import functools
import shlex
from typing import TYPE_CHECKING, Any, Callable

import click

from unpaid.cli.options import output_options
from unpaid.errors import InputError
from unpaid.i18n import N_, _, ngettext
from unpaid.i18n import lookup as translated

if TYPE_CHECKING:
    from unpaid.cli.context import App
    from unpaid.review import Filter


def filter_options(func: Callable) -> Callable:
    """``--run``, ``--playbook``, ``--order`` and ``--since``; the command receives them as ``flt`` (a Filter)."""

    @click.option("--run", "run_id", metavar="RUN_ID", help="Only actions held by this run (its id is in `run`'s summary).")
    @click.option("--playbook", metavar="NAME", help="Only actions of this playbook.")
    @click.option("--order", "order_ref", metavar="ORDER", help="Only actions for this order.")
    @click.option("--since", metavar="WHEN", help="Only actions held since WHEN (ISO time, or an age: 2h, 3d).")
    @functools.wraps(func)
    def wrapper(*args: Any, run_id: str | None, playbook: str | None, order_ref: str | None, since: str | None,
                **kwargs: Any):
        from unpaid.review import Filter

        app: App = click.get_current_context().obj
        order_id = None
        if order_ref:
            from unpaid.cli.orders import find_order

            order_id = find_order(app, order_ref).id
        flt = Filter(run_id=run_id, playbook=playbook, since=_since(app, since), order_id=order_id)
        return func(*args, flt=flt, **kwargs)

    return wrapper


def _since(app: "App", text: str | None):
    if text is None:
        return None
    from unpaid.clock import parse_duration, parse_when

    now = app.now()
    try:
        return now - parse_duration(text)  # "2h": held in the last two hours
    except ValueError:
        pass
    try:
        return parse_when(text, app.zone, now)
    except ValueError as exc:
        raise InputError(f"--since: {exc}", _("e.g. --since 2h or --since 2026-11-24T10:00")) from None


def _columns(app: "App", extra: tuple = ()) -> list:
    from unpaid.clock import from_iso
    from unpaid.output import Column

    return [Column("key", N_("Key"), shlex.quote), Column("order_id", N_("Order")), Column("playbook", N_("Playbook")),
            Column("step", N_("Step")), Column("channel", N_("Channel")), Column("message_id", "Message-ID"),
            *extra, Column("since", N_("Held since"), lambda v: app.local(from_iso(v))), Column("why", N_("Why"))]


@click.group(invoke_without_command=True)
@filter_options
@output_options
@click.pass_context
def review(ctx: click.Context, flt: "Filter", fmt: str, limit: int | None, page: int):
    """List the actions held for a person: their outcome is unknown, or they gave up.

    Look each one up (the mail server's log by its Message-ID), then settle it with `review resolve`.
    See docs/review.md.

    \b
    Examples:
      unpaid review
      unpaid review --playbook reminders --format json
      unpaid review resolve 'shop:1042|reminders|first|0' --as sent
      unpaid review resolve --run 3f9c2a1b7d4e --as unsent --dry-run
      unpaid review resolve --all --auto
    """
    if ctx.invoked_subcommand is not None:
        if flt.narrows:
            raise InputError(_("the filters go after `{command}`").format(command=ctx.invoked_subcommand),
                             _("e.g. unpaid review {command} --playbook NAME ...").format(command=ctx.invoked_subcommand))
        return
    from itertools import islice

    from unpaid.output import render
    from unpaid.review import Channels, held

    app: App = ctx.obj
    channels = Channels(app.config, app.plugins)
    try:
        items = held(app.store, app.now(), flt, channels)
    finally:
        channels.close()
    rows = (item.as_dict() for item in items)
    if limit is not None:
        rows = islice(rows, (page - 1) * limit, page * limit)
    shown = render(rows, fmt, app.stdout, _columns(app))
    if not items:
        app.info(_("Nothing is held for review."))
    else:
        n = len(items)
        held_line = ngettext("{n} held for review (showing {shown}).", "{n} held for review (showing {shown}).", n) \
            if shown < n else ngettext("{n} held for review.", "{n} held for review.", n)
        app.info(held_line.format(n=n, shown=shown) + " "
                 + _("Settle one with `unpaid review resolve KEY --as sent|unsent`."))


@review.command("resolve")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option("--as", "outcome", type=click.Choice(["sent", "unsent"]),
              help="sent: it did happen (recorded done, the playbook moves on); unsent: it did not (the next run does it).")
@click.option("--auto", is_flag=True, help="Settle those whose channel can prove what happened (an outbox file exists "
              "or not); leave the others held.")
@click.option("--all", "everything", is_flag=True, help="Every held action (or every one the filters match).")
@click.option("--dry-run", is_flag=True, help="Only show what would be settled.")
@filter_options
@output_options
@click.pass_obj
def resolve(app: "App", keys: tuple[str, ...], outcome: str | None, auto: bool, everything: bool, dry_run: bool,
            flt: "Filter", fmt: str, limit: int | None, page: int):
    """Settle held actions: KEYs, or all that the filters match, as sent or unsent, or --auto.

    Exit code 0 when everything asked for was settled (or, with --dry-run, would be); with --auto,
    actions no channel can prove stay held and are listed.
    """
    from unpaid.channel import Delivery
    from unpaid.output import Column, render
    from unpaid.review import Channels, held, lookup, proof, settle

    if (outcome is None) == (not auto):
        raise InputError(_("give either --as sent|unsent or --auto"),
                         _("e.g. --as unsent, or --auto for outbox channels"))
    if keys and everything:
        raise InputError(_("KEY and --all exclude each other"), _("name keys, or use --all with or without filters"))
    if not (keys or flt.narrows or everything):
        raise InputError(_("say which actions to settle"), _("name KEYs, filter with --run, --playbook, --order or "
                         "--since, or give --all; see them with `unpaid review`"))
    now = app.now()
    channels = Channels(app.config, app.plugins)
    rows: list[dict[str, Any]] = []
    try:
        if keys:  # named keys are checked before anything is settled: a typo changes nothing
            items = [i for i in lookup(app.store, dict.fromkeys(keys), now, channels) if flt.matches(i)]
        else:
            items = held(app.store, now, flt, channels)
        for item in items:
            verdict = outcome if not auto else {Delivery.SENT: "sent", Delivery.NOT_SENT: "unsent"}.get(
                proof(channels, item))
            # Results stay English in the rows (JSON, CSV); the table and the summary translate them.
            if verdict is None:
                result = RESULTS["held"]
            elif dry_run:
                result = RESULTS["would be " + verdict]
            elif settle(app.store, item, verdict == "sent", now, app.actor):
                result = verdict
            else:
                result = RESULTS["meanwhile"]
            rows.append(dict(item.as_dict(), result=result))
    finally:
        channels.close()
    shown = rows if limit is None else rows[(page - 1) * limit : page * limit]
    render(iter(shown), fmt, app.stdout, _columns(app, (Column("result", N_("Result"), translated),)))
    _summary(app, rows, dry_run)


def _summary(app: "App", rows: list[dict[str, Any]], dry_run: bool) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    if not rows:
        app.info(_("Nothing held matches: nothing to settle."))
        return
    text = ", ".join(_("{count} {result}").format(count=n, result=translated(what)) for what, n in sorted(counts.items()))
    app.info((_("Dry run, nothing changed: {results}.") if dry_run else _("Settled: {results}.")).format(results=text))


#: What ``review resolve`` did with each action (a table cell; kept English in machine output).
RESULTS = {"held": N_("held: the channel cannot tell"), "would be sent": N_("would be sent"),
           "would be unsent": N_("would be unsent"), "meanwhile": N_("settled meanwhile by someone else"),
           "sent": N_("sent"), "unsent": N_("unsent")}
