"""`unpaid migrate`: copy the store to another backend (SQLite <-> PostgreSQL); the work is in
:mod:`unpaid.store.migrate`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from unpaid.cli.admin import FORMAT

if TYPE_CHECKING:
    from unpaid.cli.context import App


@click.command()
@click.option("--to", "to", metavar="DB", help="Copy the store in use into DB (a postgresql:// URL or a file).")
@click.option("--from", "from_", metavar="DB", help="Copy DB into the store in use (e.g. back to a SQLite file).")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; write nothing.")
@FORMAT
@click.pass_obj
def migrate(app: "App", to: str | None, from_: str | None, dry_run: bool, fmt: str | None):
    """Copy every table of one store into another and compare the row counts table by table.

    `unpaid migrate --to postgresql://shop@db.example.com/unpaid` moves a SQLite store to a team's
    PostgreSQL database (docs/teams.md); `--from URL` copies it back. Killed half-way, run it again:
    it goes on where it stopped. A target holding another shop's data is refused.

    \b
    Exit status: 0 copied and every count equal; 1 a count differs; 2 bad input or a target
      holding another shop's data; 3 the database server cannot be reached.
    """
    from unpaid.errors import ExitCode, InputError
    from unpaid.i18n import N_, _
    from unpaid.output import Column, render
    from unpaid.store.migrate import run

    if bool(to) == bool(from_):
        raise InputError(_("give one of --to DB or --from DB"),
                         _("e.g. unpaid migrate --to postgresql://USER@HOST/DBNAME"))
    from unpaid.store.dialect import refuse_misspelt_url

    for option, value in (("--to", to), ("--from", from_)):
        refuse_misspelt_url(value, option)
    here = str(app.db_path)
    source, target = (here, to) if to else (from_, here)
    counts = run(source, target, dry_run=dry_run)
    render((c.as_dict() for c in counts), fmt or app.format, app.stdout,
           [Column("table", N_("table")), Column("source", N_("source rows")),
            Column("target_before", N_("target before")), Column("target", N_("target after")),
            Column("ok", N_("equal"))])
    if dry_run:
        app.info(_("dry run: {rows} rows in {tables} tables would be copied; nothing written").format(
            rows=sum(c.source for c in counts), tables=len(counts)))
        return
    bad = [c.table for c in counts if not c.ok]
    if bad:
        app.info(_("row counts differ in {tables}: the target had rows of its own, or the copy was cut short "
                   "— run the command again to resume").format(tables=", ".join(bad)))
        click.get_current_context().exit(ExitCode.FAILED)
    app.info(_("copied {rows} rows in {tables} tables; every count is equal").format(
        rows=sum(c.source for c in counts), tables=len(counts)))
