"""``unpaid playbooks``, ``plan``, ``run`` and ``optout``: list, check, forecast and run dunning playbooks."""

from __future__ import annotations

import shlex
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import click

from unpaid.cli.answer import answer, wants_json
from unpaid.cli.options import TEXT, format_option, output_options
from unpaid.errors import InputError
from unpaid.i18n import N_, _, ngettext, pgettext

if TYPE_CHECKING:
    from unpaid.cli.context import App
    from unpaid.playbook.load import Library


def _library(app: "App", extra: Path | None = None, only: bool = False) -> "Library":
    from unpaid.playbook.load import load_library

    return load_library(app.config, app.plugins, extra, only)


def _names(lib: "Library", names: tuple[str, ...]) -> list[str]:
    for name in names:
        if name not in lib.playbooks:
            known = ", ".join(sorted(lib.playbooks)) or _("none")
            raise InputError(_("--playbook: no playbook {name!r} (defined: {known})").format(name=name, known=known),
                             _("see `unpaid playbooks`"))
    # Named explicitly, a switched-off playbook can still be previewed by `plan`; `run` never runs it.
    return list(names) or sorted(n for n, pb in lib.playbooks.items() if pb.enabled)


def _page(rows: Iterator[dict], limit: int | None, page: int) -> Iterator[dict]:
    if limit is None:
        return rows
    return islice(rows, (page - 1) * limit, page * limit)


@click.group(invoke_without_command=True)
@output_options
@click.pass_context
def playbooks(ctx: click.Context, fmt: str, limit: int | None, page: int):
    """List the playbooks of the config (and `playbook_files`), checked.

    \b
    Examples:
      unpaid playbooks
      unpaid playbooks check examples/playbooks/pharmacy.toml
    """
    if ctx.invoked_subcommand is not None:
        return
    from unpaid.clock import format_duration
    from unpaid.output import Column, render

    app: App = ctx.obj
    lib = _library(app)
    rows = ({"name": pb.name, "title": pb.title, "segment": pb.segment.name, "steps": len(pb.steps),
             "span": format_duration(pb.span) if pb.span is not None else _("loops"),
             "window": pb.window.describe() if not pb.window.always else _("any time"),
             "enabled": pb.enabled, "where": pb.where.split(": ")[0]} for pb in lib.playbooks.values())
    n = render(_page(rows, limit, page), fmt, app.stdout,
               [Column("name", N_("Playbook")), Column("title", N_("Title")), Column("segment", N_("Segment")),
                Column("steps", N_("Steps")), Column("span", N_("Span")), Column("window", N_("Window"))])
    if n == 0 and fmt == "table":
        app.info(_("No playbooks: add [playbooks.NAME] to the config or list files in `playbook_files`."))


@playbooks.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--online", is_flag=True, help="Also connect to each channel the playbooks use (nothing is sent).")
@format_option
@click.pass_obj
def check(app: "App", file: Path, online: bool, fmt: str):
    """Validate one playbook file: fields, segments, channels and their settings, conditions, templates.

    Each problem of a channel's settings prints one `fail` line with the fix; the exit code is 2 for
    a setting, 3 for a channel that --online could not reach or that refused the login.
    """
    from unpaid.playbook.runner import channels_of
    from unpaid.preflight import check_channel, worst

    if not file.is_file():
        raise InputError(_("FILE: {file} does not exist").format(file=file), _("give the path of a playbook .toml file"))
    lib = _library(app, file, only=True)
    if not lib.playbooks:
        raise InputError(_("{file}: no [playbooks.NAME] table").format(file=file),
                         _("a playbook file defines at least one playbook"))
    checked = [{"playbook": pb.name, "ok": True, "steps": len(pb.steps), "end": pb.end.describe() if pb.end else None}
               for pb in lib.playbooks.values()]
    problems, channels = [], []
    for name in sorted(channels_of(list(lib.playbooks.values()))):
        found = check_channel(app.config, name, app.plugins, online)
        channels.append({"channel": name, "ok": not found, "problems": [str(p) for p in found]})
        problems += found
    answer(app, fmt, {"file": str(file), "playbooks": checked, "channels": channels})
    if not wants_json(fmt):
        for row in checked:
            steps = ngettext("{n} step", "{n} steps", row["steps"]).format(n=row["steps"])
            click.echo(_("ok  {playbook}: {steps}, end: {end}").format(playbook=row["playbook"], steps=steps,
                                                                      end=row["end"]) if row["end"] else
                       _("ok  {playbook}: {steps}").format(playbook=row["playbook"], steps=steps), file=app.stdout)
        for row in channels:
            lines = [_("fail  {problem}").format(problem=p) for p in row["problems"]] or [
                (_("ok  channel {channel}: reachable") if online else _("ok  channel {channel}")).format(
                    channel=row["channel"])]
            click.echo("\n".join(lines), file=app.stdout)
    if problems:
        click.get_current_context().exit(worst(problems))


@click.command()
@click.option("--until", metavar="TIME", help="Forecast up to TIME (ISO date or +2w) assuming every action succeeds.")
@click.option("--playbook", "names", multiple=True, metavar="NAME", help="Only this playbook (repeatable).")
@click.option("--order", "order_id", metavar="ID", help="Explain one order, whatever its age or status.")
@click.option("--jobs", type=click.IntRange(1, 64), metavar="N",
              help="Plan in N processes at once, each with its own customers; the rows are the same (json/jsonl, "
                   "all rows, SQLite) [default: one per CPU, at most 4, from 5,000 orders].")
@output_options
@click.pass_obj
def plan(app: "App", until: str | None, names: tuple[str, ...], order_id: str | None, jobs: int | None, fmt: str,
         limit: int | None, page: int):
    """Dry run: every action that would happen, when and why — and why others will not.

    \b
    Examples:
      unpaid plan                         # what `unpaid run` would do now
      unpaid plan --until +3w             # forecast three weeks ahead
      unpaid plan --order shop:1042       # the story of one order
    """
    from unpaid.clock import parse_when
    from unpaid.output import Column, render

    lib = _library(app)
    now = app.now()
    horizon = None
    if until:
        try:
            horizon = parse_when(until, app.zone, now)
        except ValueError as exc:
            raise InputError("--until: {exc}".format(exc=exc), _("e.g. --until +2w or --until 2026-12-31")) from None
        if horizon < now:
            raise InputError(_("--until is before --now"), _("give a later moment"))
    ids = None
    if order_id:
        from unpaid.cli.orders import find_order

        ids = [find_order(app, order_id).id]
    from unpaid.playbook import planning
    from unpaid.review import Channels, message_id

    channels = Channels(app.config, app.plugins)  # opened only for the Message-ID of a held send
    scope = plan_scope(app, lib, _names(lib, names), now, horizon, ids, lambda entry: message_id(entry, channels))
    columns = [Column("when", N_("When")), Column("order_id", N_("Order")), Column("playbook", N_("Playbook")),
               Column("step", N_("Step")), Column("kind", N_("Decision"), code_label), Column("reason", N_("Why"))]
    # Cases, decisions and rows hold no reference cycles: reference counting frees them, and the cyclic
    # collector would only walk them again and again (a tenth of a plan of a million orders), as in sync.
    from unpaid.cycles import no_cycle_collection

    rows = iter(())
    try:
        with no_cycle_collection():
            texts = _in_parallel(app, scope, jobs, fmt, limit)
            if texts is not None:
                shown = render(texts, fmt, app.stdout, encoded=True)
            else:
                rows = planning.plan_rows(scope)
                shown = render(_page(rows, limit, page), fmt, app.stdout, columns)
    finally:
        channels.close()
    # The plan is computed lazily, page by page: a planned store of a million orders is not walked
    # to its end for a table of 50 rows, so the counts say what they cover.
    counts = scope.counts
    covered = dict(counts)
    more = limit is not None and next(rows, None) is not None
    if covered:
        told = ", ".join(_count_kind(k, v) for k, v in sorted(covered.items()))
        if more:
            app.info(ngettext("Plan up to this page: {counts}. {shown} rows shown; more with --page {next}, "
                              "or all with --format jsonl",
                              "Plan up to this page: {counts}. {shown} rows shown; more with --page {next}, "
                              "or all with --format jsonl", shown).format(counts=told, shown=shown, next=page + 1))
        else:
            app.info(_("Plan: {counts}").format(counts=told))
    else:
        app.info(_("Nothing to do: no order is due or waiting in any playbook."))


def code_label(code: object) -> str:
    """A decision, action or result code as a table shows it; JSON, JSONL and CSV keep the code."""
    labels = {
        "act": pgettext("plan code", "act"), "act later": pgettext("plan code", "act later"),
        "enter": pgettext("plan code", "enter"), "enter later": pgettext("plan code", "enter later"),
        "skip": pgettext("plan code", "skip"), "skip later": pgettext("plan code", "skip later"),
        "advance": pgettext("plan code", "advance"), "exit": pgettext("plan code", "exit"),
        "finish": pgettext("plan code", "finish"), "out": pgettext("plan code", "out"),
        "review": pgettext("plan code", "review"), "wait": pgettext("plan code", "wait"),
        "send": pgettext("plan code", "send"), "trigger": pgettext("plan code", "trigger"),
        "offer": pgettext("plan code", "offer"), "status": pgettext("plan code", "status"),
        "call": pgettext("plan code", "call"), "cancel": pgettext("plan code", "cancel"),
        "goto": pgettext("plan code", "goto"), "done": pgettext("plan code", "done"),
        "deferred": pgettext("plan code", "deferred"), "skipped": pgettext("plan code", "skipped"),
        "failed": pgettext("plan code", "failed"), "other_run": pgettext("plan code", "other_run"),
        "entered": pgettext("plan code", "entered"), "advanced": pgettext("plan code", "advanced"),
        "exited": pgettext("plan code", "exited"), "finished": pgettext("plan code", "finished"),
    }
    return labels.get(str(code), "" if code is None else str(code))


#: Decision kinds as the plan's summary counts them (the kind codes stay English in the rows and JSON).
_KIND_COUNTS = {
    "act": lambda n: ngettext("{n} act", "{n} act", n),
    "advance": lambda n: ngettext("{n} advance", "{n} advance", n),
    "enter": lambda n: ngettext("{n} enter", "{n} enter", n),
    "exit": lambda n: ngettext("{n} exit", "{n} exit", n),
    "finish": lambda n: ngettext("{n} finish", "{n} finish", n),
    "out": lambda n: ngettext("{n} out", "{n} out", n),
    "review": lambda n: ngettext("{n} review", "{n} review", n),
    "skip": lambda n: ngettext("{n} skip", "{n} skip", n),
    "wait": lambda n: ngettext("{n} wait", "{n} wait", n),
}


def _count_kind(kind: str, n: int) -> str:
    """``3 act`` in English (as before), a counted phrase in other languages."""
    said = _KIND_COUNTS.get(kind)
    return said(n).format(n=n) if said is not None else f"{n} {kind}"


def plan_scope(app: "App", lib: "Library", names: list[str], now, horizon=None, ids=None, message_id=None):
    """What a plan of ``names`` covers (:class:`unpaid.playbook.planning.PlanScope`), from the app's store and
    config."""
    from unpaid.playbook.planning import PlanScope
    from unpaid.playbook.runner import optout_addresses

    return PlanScope(app.store, lib, names, now, app.zone, optout_addresses(app.config, app.store),
                     app.config.default_country, horizon, ids, message_id)


def _in_parallel(app: "App", scope, jobs: int | None, fmt: str, limit: int | None):
    """The plan's JSON texts from several processes (see unpaid.playbook.planning), or None for one process:
    a table, CSV or a page, one order, a PostgreSQL store, one CPU, or a small plan with ``--jobs`` unset."""
    from unpaid import workers
    from unpaid.output import json_row
    from unpaid.playbook import planning

    wanted = workers.wanted(jobs)
    if wanted < 2 or fmt not in ("json", "jsonl") or limit is not None or scope.ids is not None \
            or app.store.postgres:
        return None
    plan, total = planning.layout(scope, wanted)
    if jobs is None and total < planning.PARALLEL_FROM:
        return None
    return planning.in_parallel(scope, plan, wanted, json_row, app.store.open_again)


@click.command()
@click.option("--playbook", "names", multiple=True, metavar="NAME", help="Only this playbook (repeatable).")
@click.option("--lease", default="15m", show_default=True, metavar="AGE",
              help="How long a claimed action may take before its outcome counts as unknown.")
@click.option("--max-attempts", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Tries of a failing send before it is reported for review.")
@click.option("--resolve", "resolve_key", metavar="KEY",
              help="First settle an action held for review (its key from `unpaid review`).")
@click.option("--as", "resolve_as", type=click.Choice(["sent", "unsent"]),
              help="With --resolve: the action did happen (sent) or did not (unsent: this run does it).")
@output_options
@click.pass_obj
def run(app: "App", names: tuple[str, ...], lease: str, max_attempts: int, resolve_key: str | None,
        resolve_as: str | None, fmt: str, limit: int | None, page: int):
    """Carry out every due action, exactly once; safe to start from cron every few minutes.

    Exit code 1 when this run failed an action or held one for review (see `unpaid review`); actions
    held by earlier runs are reported again but do not fail later runs. Every channel the run uses is
    checked first: a bad setting stops it before the first send (exit 2). A channel that cannot be
    reached or refuses the login, or a source that cannot be read, stops only its own actions: they
    stay due, no attempt is counted, and the run exits 3.

    \b
    Example (crontab):
      */5 * * * *  unpaid -q sync && unpaid -q run || echo "unpaid: check failed actions"
    """
    from unpaid.cli.options import parse_age
    from unpaid.playbook.runner import Runner
    from unpaid.signals import Interrupted

    if (resolve_key is None) != (resolve_as is None):
        raise InputError(_("--resolve KEY and --as sent|unsent go together"),
                         _("give both, e.g. --resolve KEY --as sent"))
    lib = _library(app)
    if resolve_key is not None:
        from unpaid.cli.orders import check_id
        from unpaid.review import Channels, lookup, settle

        check_id(resolve_key, "--resolve")
        channels = Channels(app.config, app.plugins)
        try:
            [item] = lookup(app.store, [resolve_key], app.now(), channels, "--resolve")
            settle(app.store, item, resolve_as == "sent", app.now(), app.actor)
        finally:
            channels.close()
        app.info((_("{key}: marked sent.") if resolve_as == "sent" else _("{key}: marked unsent.")).format(
            key=shlex.quote(resolve_key)))
    runner = Runner(app.store, app.config, lib, app.plugins, app.clock, lease=parse_age(lease, "--lease"),
                    max_attempts=max_attempts, progress=app.info)
    try:
        report = runner.run(_names(lib, names))
    except Interrupted:
        # Say what was done before the stop; main() then prints the one line and exits 130.
        _report_run(app, runner.report, fmt, limit, page, stopped=True)
        raise
    _report_run(app, report, fmt, limit, page)


def _report_run(app: "App", report, fmt: str, limit: int | None, page: int, stopped: bool = False) -> None:
    """The rows of what a run did, and its one-line summary (stderr); exit 1 when something failed."""
    from unpaid.output import Column, render
    from unpaid.playbook.summary import summary_line

    # "Due" is when the playbook wanted it, "Done" when this run carried it out; both in the config's zone.
    rows = [dict(r, when=app.local(_from(r["at"])), done=app.local(_from(r["done_at"])))
            for r in report.rows if r["result"] != "other_run"]
    render(_page(iter(rows), limit, page), fmt, app.stdout,
           [Column("when", N_("Due")), Column("done", N_("Done")), Column("order_id", N_("Order")),
            Column("playbook", N_("Playbook")), Column("step", N_("Step")), Column("action", N_("Action"), code_label),
            Column("result", N_("Result"), code_label), Column("detail", N_("Detail"))])
    reasons: dict[str, int] = {}
    for r in report.rows:
        if r["result"] == "skipped":
            reasons[r["detail"]] = reasons.get(r["detail"], 0) + 1
    said = (_("Run {run} (stopped): {summary}.") if stopped else _("Run {run}: {summary}.")).format(
        run=report.run_id, summary=summary_line(report.counts, reasons))
    app.info(said)
    if report.held_before:
        app.info(ngettext("{n} held by earlier runs still wait for review: see `unpaid review`.",
                          "{n} held by earlier runs still wait for review: see `unpaid review`.",
                          report.held_before).format(n=report.held_before))
    for what, error in report.stopped.items():  # one line each: why the rest of its actions wait
        app.error(_("{message} — {fix}; the rest of {what}'s actions stay due for a later run").format(
            message=error.message, fix=error.fix or _("fix it"), what=what))
    if report.failed and not stopped:
        app.info(_("Some actions failed or need review: `unpaid plan` lists them with the reason."))
    if report.exit_code and not stopped:
        click.get_current_context().exit(report.exit_code)


def _from(text: str):
    from unpaid.clock import from_iso

    return from_iso(text)


@click.command()
@click.argument("address", required=False)
@click.option("--remove", is_flag=True, help="Allow messages to ADDRESS again.")
@click.option("--reason", metavar="TEXT", type=TEXT, help="Why the customer opted out.")
@output_options
@click.pass_obj
def optout(app: "App", address: str | None, remove: bool, reason: str | None, fmt: str, limit: int | None,
           page: int):
    """Stop (or, with --remove, allow again) every message to a customer's e-mail or phone; list without ADDRESS."""
    from unpaid.model import normalize_email, normalize_phone
    from unpaid.output import render
    from unpaid.store.optouts import OptOuts

    table = OptOuts(app.store)
    if not address:
        render(_page(iter([o.as_dict() for o in table.all()]), limit, page), fmt, app.stdout)
        return
    key = normalize_email(address) or normalize_phone(address, app.config.default_country)
    if not key:
        raise InputError(_("ADDRESS: {address!r} is neither an e-mail nor a phone").format(address=address),
                         _("e.g. anna@example.com"))
    if remove:
        said = _("{key} may be contacted again.") if table.remove(key) else _("{key} was not opted out.")
        app.info(said.format(key=key))
    else:
        added = table.add(key, app.actor, app.now(), reason)
        said = _("{key} will get no more messages.") if added else _("{key} had already opted out.")
        app.info(said.format(key=key))
