"""SIGINT, SIGTERM and SIGHUP end every command the same way: exit 130 and one line (docs/exit-codes.md).

``timeout`` and systemd stop a process with SIGTERM, a closed terminal sends SIGHUP; both are handled
like Ctrl-C. A signal interrupts at once (open transactions roll back, temp files are removed by their
writers' ``finally``). Inside :func:`graceful` — the runner carrying out actions — the first signal only
asks to stop: the action under way ends and records its outcome, so no claim stays held for its lease,
then :func:`check` stops the run. A second signal interrupts at once.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal; ``name`` is ``SIGINT``, ``SIGTERM`` or ``SIGHUP``."""

    def __init__(self, name: str = "SIGINT"):
        super().__init__(name)
        self.name = name


class _State:
    graceful = 0
    pending: str | None = None


def _handler(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    if _State.graceful and _State.pending is None:
        _State.pending = name  # the action under way finishes first; see check()
        return
    raise Interrupted(name)


@contextmanager
def handled() -> Iterator[None]:
    """Route the stop signals to :class:`Interrupted` while a command runs; the old handlers come back after
    (tests run many commands in one process)."""
    previous = {}
    for sig in SIGNALS:
        try:
            previous[sig] = signal.signal(sig, _handler)
        except (ValueError, OSError):  # not the main thread: leave the defaults
            continue
    _State.pending = None
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _State.pending = None


@contextmanager
def graceful() -> Iterator[None]:
    """A stretch of work where a first signal waits for :func:`check` instead of interrupting."""
    _State.graceful += 1
    try:
        yield
    finally:
        _State.graceful -= 1


def check() -> None:
    """Raise :class:`Interrupted` when a signal asked to stop: call it between actions."""
    if _State.pending is not None:
        raise Interrupted(_State.pending)
