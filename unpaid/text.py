"""Control characters from outside never pass: cleaned when data comes in, shown harmlessly when it goes out.

A line break in a name or an e-mail could split a mail header or a log line; an ANSI escape could
recolour, hide or rewrite what a terminal shows; a bidi override could reorder it.
"""

from __future__ import annotations

import re
from typing import Any

from unpaid.i18n import Phrase

# C0 and C1 controls, DEL, zero-width and bidi marks and overrides, the Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_SHOWN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Control characters (line breaks, terminal escapes) become spaces, runs of blanks one space.

    For names, titles and comments from a source, before they are stored."""
    return text if text.isprintable() else " ".join(_CONTROL.sub(" ", text).split())


def clean(value: Any) -> str | None:
    """:func:`clean_text` of a source's optional value: None and blank text become None."""
    if value is None:
        return None
    text = clean_text(str(value).strip())
    return text or None


def terminal_safe(text: str, newlines: bool = False) -> str:
    """``text`` with every control character written out (``\\x1b``, ``\\r``), so a terminal shows it
    instead of obeying it; ``newlines`` keeps line breaks (multi-line table cells, paragraphs)."""
    if text.isprintable() or (newlines and text.replace("\n", "").isprintable()):
        return text
    pattern = _SHOWN if newlines else _CONTROL
    return pattern.sub(lambda m: "".join(_escape(c) for c in m.group()), text)


def _escape(char: str) -> str:
    code = ord(char)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def human(value: Any) -> str:
    """``value`` for people in the active language: a :class:`Phrase` translated, a fixed English message
    (marked ``N_`` where it was written) looked up, anything else as it is."""
    if isinstance(value, Phrase):
        return value.human()
    if value is None:
        return ""
    from unpaid.i18n import lookup

    return lookup(str(value)) if isinstance(value, str) else str(value)
