"""``unpaid install``: pip-install plugins into the environment unpaid itself runs in."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import click

from unpaid.cli.options import format_option

if TYPE_CHECKING:
    from unpaid.cli.context import App


@click.command()
@click.argument("packages", nargs=-1)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade the packages to their newest versions.")
@click.option("-e", "--editable", "editable", multiple=True, metavar="DIR",
              help="Install the plugin in folder DIR in development mode (repeatable).")
@format_option
@click.pass_obj
def install(app: "App", packages: tuple[str, ...], upgrade: bool, editable: tuple[str, ...], fmt: str):
    """Install plugins into the environment unpaid runs in: names from a package index, folders or wheels.

    The same as `python -m pip install PACKAGES` with the Python that runs unpaid, so a plugin
    lands where unpaid finds it whether unpaid was installed with pip, pipx or uv. Check the
    result with `unpaid plugins`.

    \b
    Examples:
      unpaid install ./plugins/csv                 # from a checkout of unpaid
      unpaid install dist/unpaid_csv-0.1.0-py3-none-any.whl
      unpaid install -e ./unpaid-myshop            # a plugin you are writing
    """
    from unpaid.cli.answer import answer
    from unpaid.errors import InputError
    from unpaid.i18n import _

    if not packages and not editable:
        raise InputError(_("name at least one package, folder or wheel to install"),
                         _("e.g. `unpaid install ./plugins/csv` or `unpaid install -e ./unpaid-myshop`"))
    command = [sys.executable, "-m", "pip", "install", *(["--upgrade"] if upgrade else []), *packages]
    for folder in editable:
        command += ["-e", folder]
    app.info(_("running {command}").format(command=" ".join(command[1:])))
    # pip's own output goes to stderr as it comes: it says which package could not be found or built, and
    # stdout stays for the answer.
    done = subprocess.run(command, stdout=sys.stderr)
    if done.returncode:
        raise InputError(_("pip could not install {packages} (exit {code})")
                         .format(packages=" ".join(packages + editable), code=done.returncode),
                         _("read pip's message above; `unpaid plugins` shows what is installed"))
    answer(app, fmt, {"installed": [*packages, *editable], "python": sys.executable},
           _("installed — `unpaid plugins` lists what each plugin provides"))

