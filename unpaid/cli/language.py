"""The CLI's language: chosen before the command line is parsed (``--help`` speaks it too), help texts and
click's own words ("Usage:", "Show this message and exit.") shown in it, machine output kept English."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Mapping, Sequence

import click

from unpaid import i18n

MACHINE_FORMATS = ("json", "jsonl", "csv")
#: click's modules that say words through ``gettext`` (all loaded with click): given the click catalog.
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui", "utils")
CLICK = i18n.Domain("click", Path(i18n.__file__).resolve().parent / "locale", helps=False)


def _option_value(args: Sequence[str], name: str) -> str | None:
    """The value of a long option anywhere on the command line (``--name V`` or ``--name=V``)."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def configured_language(args: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """``language`` from the config the command will read, without loading (or judging) the rest of it."""
    from unpaid.config import FILENAME

    explicit = _option_value(args, "--config") or environ.get("UNPAID_CONFIG")
    path = Path(explicit).expanduser() if explicit else Path.cwd() / FILENAME
    if not explicit and not path.is_file():
        from unpaid.config import default_config_path

        path = default_config_path()
    try:
        import tomllib

        value = tomllib.loads(path.read_text(encoding="utf-8-sig")).get("language")
    except (OSError, ValueError):  # no file, unreadable or not TOML: the command itself will say so
        return None
    return value if isinstance(value, str) else None


def startup_language(args: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The language this invocation speaks: English for JSON, JSONL and CSV; else as :func:`i18n.resolve`."""
    env = os.environ if environ is None else environ
    fmt = _option_value(args, "--format") or env.get("UNPAID_FORMAT")
    if fmt in MACHINE_FORMATS:
        return i18n.DEFAULT
    return i18n.resolve(configured_language(args, env), env)


def translate(text: str | None) -> str | None:
    """A help text in the active language: unpaid's catalog, then each plugin's."""
    if not text:
        return text
    msgid = inspect.cleandoc(text)
    found = i18n.lookup(msgid)
    return found if found != msgid else text


def localize(command: click.Command) -> click.Command:
    """Show ``command``'s help (and its subcommands' and options') in the active language.

    The English texts are kept on the command, so a later invocation in another language (tests run many
    in one process) translates from them again rather than from a translation.
    """
    english = command.__dict__.setdefault("_unpaid_english", {
        "help": command.help, "short_help": command.short_help, "epilog": command.epilog,
        "params": [(param, getattr(param, "help", None), getattr(param, "prompt", None)) for param in command.params],
    })
    for attr in ("help", "short_help", "epilog"):
        setattr(command, attr, translate(english[attr]))
    command._help_option = None  # click keeps the --help option it made, with its help in that language
    for param, help_text, prompt in english["params"]:
        if help_text:
            param.help = translate(help_text)
        if isinstance(prompt, str):
            param.prompt = translate(prompt)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localize(sub)
    return command


def install_click_words() -> None:
    """Let click's own messages come from unpaid's click catalog (English stays click's own text)."""
    import sys

    for name in _CLICK_MODULES:
        module = sys.modules.get(f"click.{name}")
        if module is None:
            continue
        if hasattr(module, "_"):
            module._ = CLICK.gettext
        if hasattr(module, "ngettext"):
            module.ngettext = CLICK.ngettext


def start(args: Sequence[str], root: click.Command) -> str:
    """Speak the invocation's language from here on; return it."""
    language = i18n.activate(startup_language(args))
    install_click_words()
    localize(root)
    return language
