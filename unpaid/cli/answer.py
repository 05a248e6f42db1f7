"""The answer of a command that does one thing: a line for people, one JSON object for scripts (docs/json.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import click

if TYPE_CHECKING:
    from unpaid.cli.context import App


def wants_json(fmt: str | None) -> bool:
    return fmt in ("json", "jsonl")


def answer(app: "App", fmt: str | None, record: Mapping[str, Any], line: str | None = None) -> None:
    """Print ``record`` as one JSON object when ``fmt`` asks for JSON (jsonl: on one line), else ``line``."""
    from unpaid.output import render_one

    if wants_json(fmt):
        render_one(record, fmt, app.stdout)
    elif line:
        from unpaid.text import terminal_safe

        click.echo(terminal_safe(line, newlines=True), file=app.stdout)
