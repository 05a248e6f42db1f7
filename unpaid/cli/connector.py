"""``unpaid connector new``: start a connector plugin that passes the conformance suite."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from unpaid.cli.options import format_option

if TYPE_CHECKING:
    from unpaid.cli.context import App


@click.group()
def connector():
    """Tools for writing connector plugins (docs/connectors/writing.md)."""


@connector.command()
@click.argument("name")
@click.option("--http", is_flag=True, help="A shop with a JSON API (client, emulator) instead of a JSON export file.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the package [default: ./unpaid-NAME].")
@format_option
@click.pass_obj
def new(app: "App", name: str, http: bool, folder: Path | None, fmt: str):
    """Write a connector package NAME: spec, connector, mapping, a fake backend, conformance tests, README.

    Install it with `unpaid install -e DIR`; `unpaid plugins` then lists it and `python -m pytest`
    in DIR runs unpaid's conformance suite against it.

    \b
    Examples:
      unpaid connector new myshop --http
      unpaid connector new myshop --dir ~/src/unpaid-myshop
    """
    from unpaid.cli.answer import answer
    from unpaid.i18n import _, ngettext
    from unpaid.scaffold import check_name, write

    names = check_name(name)
    target = folder or Path(names.dist)
    files = write(names, http, target)
    follow = f"unpaid install -e {target} && cd {target} && python -m pytest"
    app.info(ngettext("wrote {n} file in {folder}", "wrote {n} files in {folder}", len(files))
             .format(n=len(files), folder=target))
    answer(app, fmt, {"name": names.name, "folder": str(target), "files": [str(f) for f in files], "next": follow},
           _("next: {command}").format(command=follow))
