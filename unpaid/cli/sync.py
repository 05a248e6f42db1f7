"""``unpaid sync``: pull new and changed orders from every configured source (or the named ones)."""

from __future__ import annotations

import click

from unpaid.cli.options import complete_source
from unpaid.errors import ConfigError, ExitCode, UnpaidError
from unpaid.i18n import _, ngettext
from unpaid.text import human

#: Rejected rows listed per source; the rest are counted (all are listed with -v).
SHOWN_REJECTS = 20


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...", shell_complete=complete_source)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default=None,
              help="table: summary lines on stderr; json/jsonl: one result object per source on stdout.")
@click.option("--strict", is_flag=True, help="Exit 1 when a source rejected rows (default: warn, exit 0).")
@click.option("--full", is_flag=True, help="Read everything again from the start instead of from the bookmark.")
@click.pass_obj
def sync(app, sources: tuple[str, ...], fmt: str | None, strict: bool, full: bool):
    """Pull new and changed orders from the sources into the store.

    Each source resumes from where its last sync stopped. Sources run one after the other; one
    that fails does not stop the others. Rows a source could not read are reported (file:line and
    reason) and left out; the good rows are kept. Rejected rows exit 0 so that one bad row does
    not stop `unpaid sync && unpaid run` in cron; their warnings on stderr still reach cron's mail.

    \b
    Exit status (for cron):
      0  all sources synced (rejected rows are warnings, unless --strict)
      1  --strict and some rows were rejected
      2  bad usage or configuration (unknown source, missing credentials)
      3  a source was unreachable or refused the credentials

    \b
    Examples:
      unpaid sync                 # every configured source
      unpaid sync shop            # one source
      unpaid sync --full shop     # a deliberate re-read of everything
      unpaid -q sync --format json | jq '.[] | select(.error)'
    """
    from unpaid.sync import SyncResult, sync_source

    fmt = fmt or ("json" if app.format == "json" else "jsonl" if app.format == "jsonl" else "table")
    config = app.config
    names = list(dict.fromkeys(sources)) or sorted(config.sources)
    if not names:
        raise ConfigError(_("no sources configured in {where}").format(where=config.where),
                          _("add a [sources.NAME] table with a type, or run `unpaid init`"))
    for name in names:
        config.source(name)  # an unknown name fails before anything is synced
    store, now = app.store, app.now()
    results: list[SyncResult] = []
    for name in names:
        try:
            connector = app.connector(name)
        except UnpaidError as exc:  # the source could not even be opened: report it, go on
            result = SyncResult(name, error=exc)
        else:
            with connector:  # store errors are not the source's fault: they stop the command
                result = sync_source(store, connector, now, _progress(app), full=full)
        if app.stderr_tty and not app.quiet:
            click.echo("\r\033[K", nl=False, err=True)
        results.append(result)
        _report(app, result)
    _total(app, results)
    if fmt != "table":
        from unpaid.output import render

        render((_as_dict(r) for r in results), fmt, app.stdout)
    codes = [int(r.error.exit_code) for r in results if r.error is not None]
    if codes:
        click.get_current_context().exit(ExitCode.SOURCE if ExitCode.SOURCE in codes else max(codes))
    if strict and any(r.rejects for r in results):
        click.get_current_context().exit(ExitCode.FAILED)


def _progress(app):
    if not app.stderr_tty or app.quiet:
        return None

    def show(result) -> None:
        progress = ngettext("{source}: {n} order…", "{source}: {n} orders…", result.orders)
        click.echo("\r\033[K" + progress.format(source=result.source, n=result.orders), nl=False, err=True)

    return show


def _as_dict(result) -> dict:
    data = result.as_dict()
    data["rejects"] = [{"where": r.where, "reason": r.reason, "repeated": r.repeated} for r in _rejects(result)]
    data["missing_ids"] = result.missing
    data["cancelled_ids"] = result.cancelled
    return data


def _rejects(result) -> list:
    limit = getattr(result.error, "rejects", None)
    return limit if limit is not None else result.rejects


def _summary(result) -> str:
    c = result.counts
    if not c:
        parts = [ngettext("{n} order", "{n} orders", result.orders).format(n=result.orders)]
    else:
        rows, in_source = c.get("rows", 0), c.get("orders", 0)
        read = ngettext("{n} row read", "{n} rows read", rows).format(n=rows)
        stored = ngettext("{n} order ({stored} stored, {unchanged} unchanged)",
                          "{n} orders ({stored} stored, {unchanged} unchanged)", in_source).format(
            n=in_source, stored=result.orders, unchanged=c.get("unchanged", 0))
        parts = [_("{read}: {stored}").format(read=read, stored=stored)]
        parts.append(_("{n} rejected").format(n=c.get("rejected", 0)))
        if c.get("folded"):
            parts.append(_("{n} overridden by a later row with the same id").format(n=c["folded"]))
    if result.changes:
        n = len(result.changes)
        parts.append(ngettext("{n} status change", "{n} status changes", n).format(n=n))
    if result.paid:
        parts.append(_("{n} newly paid").format(n=result.paid))
    if not c and result.rejects:
        parts.append(_("{n} rejected").format(n=len(result.rejects)))
    return f"{result.source}: " + ", ".join(parts)


def _report(app, result) -> None:
    """One summary line for the source, then its rejected rows, notes and any failure."""
    if result.error is None or result.pages:
        app.info(_summary(result))
    rejects = _rejects(result)
    everything = app.verbose or rejects is not result.rejects  # over the limit: list them all again
    fresh = rejects if everything else [r for r in rejects if not r.repeated]
    shown = fresh if app.verbose else fresh[:SHOWN_REJECTS]
    for reject in shown:
        app.warn(_("{source}: rejected {where}: {reason}").format(source=result.source, where=reject.where,
                                                                  reason=human(reject.reason)))
    if len(shown) < len(fresh):
        more = len(fresh) - len(shown)
        app.warn(ngettext("{source}: … and {n} more rejected row (all with -v)",
                          "{source}: … and {n} more rejected rows (all with -v)", more).format(
            source=result.source, n=more))
    old = len(rejects) - len(fresh)
    if old:
        app.warn(ngettext("{source}: {n} rejected row reported before, still unchanged (listed with -v)",
                          "{source}: {n} rejected rows reported before, still unchanged (listed with -v)",
                          old).format(source=result.source, n=old))
    _report_missing(app, result)
    for note in result.notes:
        app.info(f"{result.source}: {human(note)}")
    for warning in result.warnings:
        app.warn(f"{result.source}: {human(warning)}")
    if not result.complete and result.error is None:
        app.warn(_("{source}: stopped early, more orders remain — run `unpaid sync {source}` again").format(
            source=result.source))
    if result.error is not None:
        from unpaid.secrets import redact
        from unpaid.text import terminal_safe

        if result.orders:
            line = ngettext("Error: {error} (the {n} order before it is kept)",
                            "Error: {error} (the {n} orders before it are kept)", result.orders).format(
                error=result.error, n=result.orders)
        else:
            line = _("Error: {error}").format(error=result.error)
        click.echo(terminal_safe(redact(line)), err=True)


def _report_missing(app, result) -> None:
    def some(ids: list[str]) -> str:
        if len(ids) <= 5:
            return ", ".join(ids)
        return _("{ids} and {n} more").format(ids=", ".join(ids[:5]), n=len(ids) - 5)

    if result.missing:
        n = len(result.missing)
        app.warn(ngettext(
            "{source}: {n} order no longer in the source: {ids} — nothing is sent about them; they are cancelled "
            "if still missing after the source's missing_after",
            "{source}: {n} orders no longer in the source: {ids} — nothing is sent about them; they are cancelled "
            "if still missing after the source's missing_after", n).format(
            source=result.source, n=n, ids=some(result.missing)))
    if result.back:
        n = len(result.back)
        app.info(ngettext("{source}: {n} order back in the source: {ids}",
                          "{source}: {n} orders back in the source: {ids}", n).format(
            source=result.source, n=n, ids=some(result.back)))
    if result.cancelled:
        n = len(result.cancelled)
        app.warn(ngettext("{source}: {n} order missing from the source past missing_after, marked cancelled: {ids}",
                          "{source}: {n} orders missing from the source past missing_after, marked cancelled: "
                          "{ids}", n).format(source=result.source, n=n, ids=some(result.cancelled)))


def _total(app, results) -> None:
    if len(results) < 2:
        return
    failed = sum(1 for r in results if r.error is not None)
    orders, changes = sum(r.orders for r in results), sum(len(r.changes) for r in results)
    parts = [
        ngettext("total: {n} order stored", "total: {n} orders stored", orders).format(n=orders),
        ngettext("from {n} source", "from {n} sources", len(results)).format(n=len(results)),
    ]
    line = _("{stored} {sources}, {changes}, {paid} newly paid, {rejected} rejected").format(
        stored=parts[0], sources=parts[1],
        changes=ngettext("{n} status change", "{n} status changes", changes).format(n=changes),
        paid=sum(r.paid for r in results), rejected=sum(len(r.rejects) for r in results))
    app.info(line + (_(", {n} failed").format(n=failed) if failed else ""))
