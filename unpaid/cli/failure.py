"""How a command ends badly: one line on stderr and, when JSON was asked for, ``{"error", "exit"}`` on stdout.

Scripts that asked for ``--format json`` (or ``jsonl``, or set ``UNPAID_FORMAT``) read stdout only; they get
the error there too, whichever layer raised it — even a usage error found before any command started.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Iterator, NoReturn

import click

JSON_FORMATS = ("json", "jsonl")


class TrackedStdout:
    """sys.stdout, noting whether anything was written: an error object must not follow data already printed
    (``auth get`` lists the secrets, then fails on a missing one): the JSON would no longer parse."""

    def __init__(self, stream):
        self._stream = stream
        self.used = False

    def write(self, text: str) -> int:
        if text:
            self.used = True
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextmanager
def tracked_stdout() -> Iterator[TrackedStdout]:
    """Route sys.stdout through a :class:`TrackedStdout` while a command runs."""
    original = sys.stdout
    sys.stdout = tracked = TrackedStdout(original)
    try:
        yield tracked
    finally:
        sys.stdout = original


def wants_json(args: list[str]) -> bool:
    """Whether the command line (or ``UNPAID_FORMAT``) asks for JSON; the last ``--format`` wins."""
    fmt = os.environ.get("UNPAID_FORMAT", "")
    it = iter(args)
    for arg in it:
        if arg == "--":
            break
        if arg == "--format":
            fmt = next(it, "")
        elif arg.startswith("--format="):
            fmt = arg.partition("=")[2]
    return fmt in JSON_FORMATS


def debug(args: list[str]) -> bool:
    return os.environ.get("UNPAID_DEBUG", "") not in ("", "0") or any(
        a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args
    )


def fail(args: list[str], message: str, code: int, exc: BaseException | None = None,
         shown: bool = False, stdout_used: bool = False) -> NoReturn:
    """Exit with ``code`` after printing ``message`` (``Error: what — fix``), unless ``shown`` already did; the
    JSON object goes to stdout when JSON was asked and the command printed nothing there yet."""
    from unpaid.secrets import redact

    if exc is not None and debug(args):
        import traceback

        click.echo(redact("".join(traceback.format_exception(exc))), err=True)
    if not shown:
        from unpaid.text import terminal_safe

        click.echo(terminal_safe(redact(message)), err=True)
    if wants_json(args) and not stdout_used:
        from unpaid.i18n import _

        prefix = _("Error: {message}").format(message="")
        text = redact(message.removeprefix("Error: ").removeprefix(prefix))
        try:
            click.echo(json.dumps({"error": text, "exit": int(code)}, ensure_ascii=False))
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):  # the reader is gone, or stdout was closed
            pass
    sys.exit(code)


def stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader left. Only then is a broken pipe the quiet end of ``| head``: one
    of unpaid's own pipes, or a socket, breaking is an error to report, never a silent exit 0."""
    import select

    try:
        fd = sys.stdout.fileno()
        if not hasattr(select, "poll"):
            return True  # no poll (Windows): taken for the reader's, as always
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def quiet_exit(code: int) -> NoReturn:
    """End after the reader of stdout left (``unpaid orders | head -1``): no message, like other Unix tools.

    stdout is pointed at /dev/null so the interpreter's final flush does not fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(code)
