"""``unpaid getcourse groups|reasons SOURCE``: the account's dictionaries, for writing playbooks."""

from __future__ import annotations

import click

from unpaid.errors import ConfigError

from unpaid_getcourse.i18n import _


def _connector(app, source: str):
    spec_type = app.config.source(source).type
    if spec_type != "getcourse":
        raise ConfigError(_("source {source!r} is of type {type!r}, not getcourse").format(source=source,
                                                                                          type=spec_type),
                          _("name a source with type = \"getcourse\""))
    return app.connector(source)


def _show(app, rows: list[dict], fmt: str | None) -> None:
    from unpaid.output import render

    render(rows, fmt or app.format, app.stdout)


@click.group()
def getcourse():
    """GetCourse: list the account's groups and cancel reasons."""


@getcourse.command()
@click.argument("source")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None)
@click.pass_obj
def groups(app, source: str, fmt: str | None):
    """List the groups of SOURCE's account (names and ids for the `group` trigger).

    Without a developer key this uses one request of the export budget.
    """
    with _connector(app, source) as connector:
        _show(app, connector.groups(), fmt)


@getcourse.command()
@click.argument("source")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None)
@click.pass_obj
def reasons(app, source: str, fmt: str | None):
    """List the cancel reasons of SOURCE's account (needs the developer key)."""
    with _connector(app, source) as connector:
        _show(app, connector.cancel_reasons(), fmt)
