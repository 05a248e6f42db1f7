"""Shared option decorators: output format and paging, the SOURCE argument with completion, free text."""

from __future__ import annotations

import functools
import unicodedata
from typing import Any, Callable

import click

from unpaid.errors import InputError
from unpaid.i18n import _


#: Bounds of the numeric options: far beyond any real use, small enough that offsets and dates stay valid.
MAX_ROWS = 1_000_000
MAX_DAYS = 3650
#: ``--limit`` / ``--page`` (rows per page, page number) and ``--days`` (a whole number of days ahead).
LIMIT = click.IntRange(1, MAX_ROWS)
PAGE = click.IntRange(1, MAX_ROWS)
DAYS = click.IntRange(max=MAX_DAYS)
FORMATS = click.Choice(["table", "json", "jsonl", "csv"])


def format_option(func: Callable) -> Callable:
    """``--format`` on a command that answers with a line or one record: the command gets ``fmt`` (its own,
    else the global one, else table)."""

    @click.option("--format", "fmt", type=FORMATS, default=None,
                  help="Output format [default: the global --format, else table].")
    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str | None, **kwargs: Any):
        app = click.get_current_context().obj
        return func(*args, fmt=fmt or app.format, **kwargs)

    return wrapper


def output_options(func: Callable) -> Callable:
    """Add ``--format``, ``--limit`` and ``--page``; the command receives them as ``fmt``, ``limit``, ``page``."""

    @click.option("--format", "fmt", type=FORMATS, default=None,
                  help="Output format [default: the global --format, else table].")
    @click.option("--limit", type=LIMIT, default=None, show_default=False,
                  help="Rows per page [default: 50; all rows for json/jsonl/csv].")
    @click.option("--page", type=PAGE, default=1, show_default=True, help="Page number.")
    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str | None, limit: int | None, page: int, **kwargs: Any):
        app = click.get_current_context().obj
        fmt = fmt or app.format
        if limit is None and fmt == "table":
            limit = 50
        return func(*args, fmt=fmt, limit=limit, page=page, **kwargs)

    return wrapper


def complete_source(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for source names, read from the config."""
    try:
        from unpaid.config import load_config

        root = ctx.find_root().params
        return [n for n in load_config(root.get("config")).sources if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never print errors
        return []


def parse_age(text: str | None, option: str):
    """Parse an age option (``7d``) into a timedelta, naming the option on error."""
    if text is None:
        return None
    from unpaid.clock import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}", _("e.g. {option} 7d").format(option=option)) from None


class FreeText(click.ParamType):
    """Text typed by a person (a reason, a comment, a name), refused before anything is done when it holds
    bytes that are not text in the terminal's encoding (they arrive as surrogates) or control characters
    other than newline and tab: neither can be stored or written back to a source."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        what = _option_name(param)
        for char in value:
            if "\ud800" <= char <= "\udfff":
                raise InputError(_("{what} holds bytes that are not UTF-8 text").format(what=what),
                                 _("type it again in a UTF-8 terminal (check LANG and LC_ALL)"))
            if char not in "\n\t" and unicodedata.category(char) == "Cc":
                raise InputError(_("{what} holds the control character U+{code:04X}").format(what=what, code=ord(char)),
                                 _("remove it; only newlines and tabs are allowed in text"))
        return value


#: The shared instance: ``@click.option("--comment", type=TEXT)``.
TEXT = FreeText()


def _option_name(param: click.Parameter | None) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name if param is not None else _("the text")
