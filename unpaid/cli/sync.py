"""``unpaid sync``: pull new and changed orders from every configured source (or the named ones)."""

from __future__ import annotations

import click

from unpaid.cli.options import complete_source
from unpaid.output import plural
from unpaid.errors import ConfigError, ExitCode, UnpaidError

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
        raise ConfigError(f"no sources configured in {config.where}",
                          "add a [sources.NAME] table with a type, or run `unpaid init`")
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
        click.echo(f"\r\033[K{result.source}: {result.orders} orders…", nl=False, err=True)

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
        parts = [plural(result.orders, "order")]
    else:
        stored = f"{plural(c.get('orders', 0), 'order')} ({result.orders} stored, {c.get('unchanged', 0)} unchanged)"
        parts = [f"{plural(c.get('rows', 0), 'row')} read: {stored}"]
        parts.append(f"{c.get('rejected', 0)} rejected")
        if c.get("folded"):
            parts.append(f"{c['folded']} overridden by a later row with the same id")
    if result.changes:
        parts.append(plural(len(result.changes), "status change"))
    if result.paid:
        parts.append(f"{result.paid} newly paid")
    if not c and result.rejects:
        parts.append(f"{len(result.rejects)} rejected")
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
        app.warn(f"{result.source}: rejected {reject.where}: {reject.reason}")
    if len(shown) < len(fresh):
        app.warn(f"{result.source}: … and {len(fresh) - len(shown)} more rejected rows (all with -v)")
    old = len(rejects) - len(fresh)
    if old:
        app.warn(f"{result.source}: {plural(old, 'rejected row')} reported before, still unchanged "
                 "(listed with -v)")
    _report_missing(app, result)
    for note in result.notes:
        app.info(f"{result.source}: {note}")
    for warning in result.warnings:
        app.warn(f"{result.source}: {warning}")
    if not result.complete and result.error is None:
        app.warn(f"{result.source}: stopped early, more orders remain — run `unpaid sync {result.source}` again")
    if result.error is not None:
        kept = f" (the {result.orders} orders before it are kept)" if result.orders else ""
        from unpaid.secrets import redact
        from unpaid.text import terminal_safe

        click.echo(terminal_safe(redact(f"Error: {result.error}{kept}")), err=True)


def _report_missing(app, result) -> None:
    def some(ids: list[str]) -> str:
        return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")

    if result.missing:
        app.warn(f"{result.source}: {plural(len(result.missing), 'order')} no longer in the source: "
                 f"{some(result.missing)} — nothing is sent about them; they are cancelled if still missing "
                 "after the source's missing_after")
    if result.back:
        app.info(f"{result.source}: {plural(len(result.back), 'order')} back in the source: {some(result.back)}")
    if result.cancelled:
        app.warn(f"{result.source}: {plural(len(result.cancelled), 'order')} missing from the source past "
                 f"missing_after, marked cancelled: {some(result.cancelled)}")


def _total(app, results) -> None:
    if len(results) < 2:
        return
    failed = sum(1 for r in results if r.error is not None)
    line = (f"total: {plural(sum(r.orders for r in results), 'order')} stored from {plural(len(results), 'source')}, "
            f"{plural(sum(len(r.changes) for r in results), 'status change')}, {sum(r.paid for r in results)} newly "
            f"paid, {sum(len(r.rejects) for r in results)} rejected")
    app.info(line + (f", {failed} failed" if failed else ""))
