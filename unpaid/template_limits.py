"""Limits on rendering a template: a message is a letter, not a book.

A template is configuration, but a typo in one (a loop inside a loop over ``range(100000)``, ``'x' * 300000000``)
must not hang ``unpaid playbooks`` or take gigabytes. Rendering stops past :data:`MAX_CHARS` of output or
:data:`MAX_SECONDS` of processor time, and the sandbox refuses a ``*`` or ``**`` whose result would be huge; each raises
:class:`TemplateLimit`, which the callers turn into an error naming the template.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from functools import cache
from typing import Any, Iterator, Mapping

from unpaid.i18n import _

#: Characters a rendered message may have (subject, body or HTML part).
MAX_CHARS = 1_000_000
#: Seconds of processor time one rendering may take. Processor time, not wall time: on a busy machine a
#: letter that renders in milliseconds can wait seconds for a core, and must not fail for it.
MAX_SECONDS = 2.0
#: The largest exponent ``**`` accepts: 10 ** 1000 is already far beyond money or dates.
MAX_EXPONENT = 1000


class TemplateLimit(Exception):
    """Rendering went past a limit; the message says which."""


def limited_environment(**options: Any) -> Any:
    """A Jinja2 sandbox whose ``*`` and ``**`` are checked before they build a huge string, list or number,
    with the ``money`` and ``date`` filters that follow the letter's language (:mod:`unpaid.i18n`)."""
    from jinja2 import pass_context

    from unpaid.i18n import date_filter, money_filter

    env = _environment_class()(**options)
    env.filters["money"] = pass_context(money_filter)
    env.filters["date"] = pass_context(date_filter)
    return env


@cache
def _environment_class() -> type:
    # Built on first use: jinja2 costs ~40 ms and `unpaid --help` must not pay it.
    from jinja2.sandbox import SandboxedEnvironment

    class LimitedEnvironment(SandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                            and len(seq) * times > MAX_CHARS:
                        raise TemplateLimit(_("`*` would make {value:,} items (at most {MAX_CHARS:,})").format(
                            value=len(seq) * times, MAX_CHARS=MAX_CHARS))
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise TemplateLimit(_("`**` with an exponent of {right} (at most {MAX_EXPONENT})").format(
                    right=right, MAX_EXPONENT=MAX_EXPONENT))
            return super().call_binop(context, operator, left, right)

    return LimitedEnvironment


def render_limited(template: Any, context: Mapping[str, Any]) -> str:
    """``template.render(**context)`` within :data:`MAX_CHARS` and :data:`MAX_SECONDS`."""
    deadline = time.process_time() + MAX_SECONDS
    parts, size = [], 0
    with _alarm(MAX_SECONDS):
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_CHARS:
                raise TemplateLimit(_("the output passes {MAX_CHARS:,} characters").format(MAX_CHARS=MAX_CHARS))
            if time.process_time() > deadline:
                raise TemplateLimit(_("rendering takes more than {MAX_SECONDS:g} s").format(MAX_SECONDS=MAX_SECONDS))
            parts.append(chunk)
    return "".join(parts)


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a loop that prints nothing (which the checks between chunks never see) after ``seconds`` of
    the process's processor time (``ITIMER_PROF``).

    Only in the main thread (where Python delivers signals); elsewhere the checks between chunks remain.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(_signum: int, _frame: object) -> None:
        raise TemplateLimit(_("rendering takes more than {seconds:g} s").format(seconds=seconds))

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
