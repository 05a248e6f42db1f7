"""Hook implementations only: the ``getcourse`` connector and the ``unpaid getcourse`` commands."""

from __future__ import annotations

from unpaid import hookimpl


@hookimpl
def register_connectors(register):
    from unpaid_getcourse.spec import SPEC

    register(SPEC)


@hookimpl
def register_commands(cli):
    # Imported here: click commands are built only when the CLI resolves a plugin command.
    from unpaid_getcourse.commands import getcourse

    cli.add_command(getcourse)
