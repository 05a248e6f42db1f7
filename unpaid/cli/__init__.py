"""The ``unpaid`` command: global options, the lazy command table and error handling."""

from __future__ import annotations

import os
import sys

import click

from unpaid import __version__
from unpaid.cli.lazy import LazyGroup
from unpaid.errors import ExitCode, UnpaidError
from unpaid.i18n import N_, _

#: name -> ("module:attribute", short help). Modules are imported only when their command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("unpaid.cli.admin:init", N_("Write a commented starter unpaid.toml.")),
    "auth": ("unpaid.cli.admin:auth", N_("Store, check or delete a source's secret keys.")),
    "doctor": ("unpaid.cli.admin:doctor", N_("Check config, credentials, store and connectivity.")),
    "migrate": ("unpaid.cli.migrate:migrate", N_("Copy the store to PostgreSQL (--to URL) or back (--from URL).")),
    "plugins": ("unpaid.cli.admin:plugins", N_("List installed plugins and what their connectors can do.")),
    "install": ("unpaid.cli.install:install", N_("Install plugins (pip packages or folders) where unpaid runs.")),
    "connector": ("unpaid.cli.connector:connector", N_("Write a new connector plugin: `unpaid connector new NAME`.")),
    "demo": ("unpaid.cli.demo:demo", N_("Build a sample shop, sync it, dedupe it and show today's work.")),
    "sync": ("unpaid.cli.sync:sync", N_("Pull new and changed orders from the sources into the store.")),
    "orders": ("unpaid.cli.orders:orders", N_("List orders: the actual unpaid ones by default, newest first.")),
    "show": ("unpaid.cli.orders:show", N_("Show an order: details, the customer's other orders, history.")),
    "status": ("unpaid.cli.orders:status", N_("Change an order's status in the source and record it.")),
    "dedupe": ("unpaid.cli.dedupe:dedupe", N_("Mark orders with a paid twin or a duplicate as False.")),
    "playbooks": ("unpaid.cli.playbooks:playbooks", N_("List dunning playbooks; `playbooks check FILE` validates one.")),
    "plan": ("unpaid.cli.playbooks:plan", N_("Dry run of the playbooks: what would happen, when and why.")),
    "run": ("unpaid.cli.playbooks:run", N_("Carry out due playbook actions exactly once (safe from cron).")),
    "optout": ("unpaid.cli.playbooks:optout", N_("Stop all messages to a customer, or list who opted out.")),
    "review": ("unpaid.cli.review:review", N_("List actions held for a person (outcome unknown) and settle them.")),
    "events": ("unpaid.cli.events:events", N_("List, import or add the opens and clicks that conditions wait for.")),
    "queue": ("unpaid.cli.desk:queue", N_("Today's calls: due orders nobody else holds, with phone, offer, script.")),
    "take": ("unpaid.cli.desk:take", N_("Take an order for a call: yours for a lease, In work in the source.")),
    "next": ("unpaid.cli.desk:next_", N_("Take the top of your call queue.")),
    "release": ("unpaid.cli.desk:release", N_("Give a taken order back to the queue.")),
    "outcome": ("unpaid.cli.desk:outcome", N_("Record a call's result and set up what follows.")),
    "postpone": ("unpaid.cli.desk:postpone", N_("Move an order's next call to a later day.")),
    "comment": ("unpaid.cli.desk:comment", N_("Add a comment to an order (and in the source).")),
    "edit": ("unpaid.cli.desk:edit", N_("Correct an order's phone, e-mail, name or address.")),
    "send": ("unpaid.cli.desk:send", N_("Send a customer a message or offer by hand, recorded like automatic ones.")),
    "report": ("unpaid.cli.report:report", N_("What the work earns: recovered revenue, refusal reasons, managers, lift.")),
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "UNPAID"}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings=CONTEXT_SETTINGS,
             epilog="Plugins may add commands of their own: see `unpaid plugins`. Docs: docs/guide.md in unpaid's "
                    "source; a wheel installs them in share/doc/unpaid of the environment unpaid runs in.")
@click.option("--config", metavar="FILE", envvar="UNPAID_CONFIG", show_envvar=True,
              help="Config file [default: ./unpaid.toml, then the user config dir].")
@click.option("--db", metavar="FILE|URL", envvar="UNPAID_DB", show_envvar=True,
              help="State database: a file, or postgresql://USER@HOST/DBNAME [default: `db` in the config, then "
                   "the user data dir].")
@click.option("--now", metavar="TIME", envvar="UNPAID_NOW", show_envvar=True,
              help="Pretend it is TIME (ISO-8601; zone from the config) — for tests and simulations.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), envvar="UNPAID_FORMAT",
              show_envvar=True, help="Output format for data [default: table].")
@click.option("-v", "--verbose", count=True, help="More detail on stderr; tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only data on stdout; no progress or summaries.")
@click.version_option(__version__, "--version", prog_name="unpaid", help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context, config, db, now, fmt, verbose, quiet):
    """unpaid — turn unpaid orders into paid ones.

    Sync orders from GetCourse, AutoWebOffice or CSV files, hide the finished ones, mark twins and
    duplicates False, run dunning playbooks from cron and work the call queue.

    \b
    Examples:
      unpaid demo                      # a sample shop, no account needed
      unpaid sync && unpaid orders     # pull, then list what needs work
      unpaid orders --format json | jq '.[].id'
    """
    from unpaid.cli.context import App

    app = App(config=config, db=db, now=now, fmt=fmt, verbose=verbose, quiet=quiet)
    ctx.obj = app
    ctx.call_on_close(app.close)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning known errors into one line and an exit code (docs/exit-codes.md)."""
    from unpaid.cli.failure import quiet_exit, tracked_stdout

    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("_UNPAID_COMPLETE"):
        cli.main(args=args, prog_name="unpaid")  # shell completion: click prints the script or the words
    with tracked_stdout() as stdout:
        code = _run(args, stdout)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_exit(ExitCode.OK)
    except ValueError:  # stdout closed by the command
        pass
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _run(args: list[str], stdout) -> object:
    """Invoke the command in its language; the one spoken before is spoken again after (tests run many
    invocations in one process)."""
    from unpaid import i18n

    before = i18n.active()
    try:
        return _invoke(args, stdout)
    finally:
        i18n.activate(before)


def _invoke(args: list[str], stdout) -> object:
    """Invoke the command; every way it can end badly exits here with its code and one line."""
    import errno
    from functools import partial

    from unpaid.cli import failure, language
    from unpaid.cli.failure import quiet_exit
    from unpaid.signals import Interrupted, handled

    ctx = None
    fail = partial(failure.fail, args)
    language.start(args, cli)
    try:
        with handled():
            # Not cli.main(): it turns a closed pipe into exit 1 and Ctrl-C into a bare Abort.
            with cli.make_context("unpaid", list(args)) as ctx:
                return cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except UnpaidError as exc:
        fail(_("Error: {message}").format(message=exc), exc.exit_code, exc, stdout_used=stdout.used)
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        name = exc.name if isinstance(exc, Interrupted) else "SIGINT"
        fail(_("Interrupted by {signal} — run the command again: finished actions are not repeated")
             .format(signal=name),
             ExitCode.INTERRUPTED, stdout_used=stdout.used)
    except click.ClickException as exc:
        exc.show()
        fail(_("Error: {message}").format(message=exc.format_message()),
             ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code, shown=True, stdout_used=stdout.used)
    except OSError as exc:
        if exc.errno == errno.EPIPE and failure.stdout_gone():
            quiet_exit(ExitCode.OK)  # `unpaid orders | head`: the reader left; not an error worth a message
        fail(_("Error: unexpected OSError: {error} — run again with -v for details and report it").format(error=exc),
             ExitCode.FAILED,
             exc, stdout_used=stdout.used)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback without -v
        damaged = _store_failure(exc, ctx)
        if damaged is not None:
            fail(_("Error: {message}").format(message=damaged), damaged.exit_code, exc, stdout_used=stdout.used)
        fail(_("Error: unexpected {type}: {error} — run again with -v for details and report it")
             .format(type=type(exc).__name__, error=exc),
             ExitCode.FAILED, exc, stdout_used=stdout.used)


def _store_failure(exc: Exception, ctx: click.Context | None) -> UnpaidError | None:
    """A SQLite error from a query (a damaged, read-only or vanished database) as the StoreError naming the file;
    a PostgreSQL one (lost connection, missing privilege) as the StoreError naming the database."""
    app = getattr(ctx, "obj", None)
    psycopg = sys.modules.get("psycopg")  # imported only when a PostgreSQL URL is configured
    if psycopg is not None and isinstance(exc, psycopg.Error) and app is not None:
        from unpaid.store.postgres import query_error

        return query_error(str(app.db_path), exc)
    sqlite3 = sys.modules.get("sqlite3")  # not imported here: a command that never opened the store has none
    if sqlite3 is None or not isinstance(exc, sqlite3.Error) or app is None:
        return None
    from unpaid.store import store_error

    return store_error(app.db_path, exc)
