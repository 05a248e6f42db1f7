"""Step conditions: ``"not opened"``, ``"attempts >= 3"``, ``"last_outcome in [no_answer, refused]"``.

Parsed once when a playbook loads (errors name the condition), evaluated purely against :class:`Facts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Mapping

from unpaid.clock import format_duration, parse_duration
from unpaid.i18n import _

#: What the desk records as ``data.outcome`` of a ``call`` history entry.
OUTCOMES = ("no_answer", "callback", "promised", "thinking", "says_paid", "wrong_number", "refused", "duplicate",
            "installments")

#: Condition fields and their value types.
FIELDS = {
    "opened": "bool",       # the previous message was opened (needs a source that reports opens)
    "clicked": "bool",      # a link in the previous message was clicked
    "attempts": "int",      # messages + calls + source mailings done by this playbook for the order
    "messages": "int",
    "calls": "int",
    "last_outcome": "outcome",  # the last call outcome recorded by the desk, or "none"
    "elapsed": "duration",  # time since the order entered the playbook
    "offer": "int",         # percent of the order's active offer, 0 when none
}
ORDER_FIELDS = {
    "status": "str", "native_status": "str", "source": "str", "product": "str", "manager": "str",
    "number": "str", "total": "number", "has_email": "bool", "has_phone": "bool",
}
OPS = ("==", "!=", ">=", "<=", ">", "<", "not in", "in")
_SHAPE = re.compile(r"^\s*(not\s+)?([a-z_][a-z0-9_.]*)\s*(?:(==|!=|>=|<=|>|<|not\s+in|in)\s*(.+?))?\s*$", re.I)


@dataclass(frozen=True)
class Condition:
    """One parsed condition: ``field op value`` (a bare boolean field means ``== true``)."""

    text: str
    field: str
    kind: str
    op: str
    value: Any

    def holds(self, facts: "Facts") -> bool:
        actual = facts.get(self.field)
        if self.op in ("in", "not in"):
            found = actual in self.value
            return found if self.op == "in" else not found
        if actual is None:
            return self.op == "!="
        if self.op == "==":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        try:
            return {">": actual > self.value, "<": actual < self.value,
                    ">=": actual >= self.value, "<=": actual <= self.value}[self.op]
        except TypeError:
            return False

    def describe(self, facts: "Facts") -> str:
        """``condition `not opened` is false (opened = true)`` style text for explanations."""
        actual = facts.get(self.field)
        shown = format_duration(actual, human=True) if isinstance(actual, timedelta) else _show(actual)
        return f"`{self.text}` ({self.field} = {shown})"


@dataclass
class Facts:
    """What conditions can see about one order in one playbook at one moment."""

    values: dict[str, Any] = field(default_factory=dict)
    order: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        if name.startswith("order.extra."):
            return self.extra.get(name[len("order.extra."):])
        if name.startswith("order."):
            return self.order.get(name[len("order."):])
        return self.values.get(name)


def parse_condition(text: Any, uses_events: set[str] | None = None) -> Condition:
    """Parse one condition string; ValueError says what is wrong and what is accepted.

    ``uses_events`` collects ``open``/``click`` when the condition needs the source's events.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(_("a condition must be a non-empty string such as \"attempts >= 3\""))
    m = _SHAPE.match(text)
    if not m:
        raise ValueError(_("cannot read condition {text!r}; write FIELD OP VALUE, e.g. \"attempts >= 3\"").format(
            text=text))
    negate, name, op, raw = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
    kind = _kind(name)
    if op is None:
        if kind != "bool":
            raise ValueError(_("condition {text!r}: {name} is not true/false; compare it, e.g. \"{name} >= 1\"").format(
                text=text, name=name))
        op, value = ("!=" if negate else "=="), True
    else:
        if negate:
            raise ValueError(_("condition {text!r}: put `not` only before a true/false field (\"not opened\")").format(
                text=text))
        op = re.sub(r"\s+", " ", op.lower())
        value = _value(raw, kind, op, text)
    if name in ("opened", "clicked") and uses_events is not None:
        uses_events.add("open" if name == "opened" else "click")
    return Condition(text.strip(), name, kind, op, value)


def _kind(name: str) -> str:
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith("order.extra.") and len(name) > len("order.extra."):
        return "str"
    if name.startswith("order.") and name[len("order."):] in ORDER_FIELDS:
        return ORDER_FIELDS[name[len("order."):]]
    known = ", ".join(list(FIELDS) + [f"order.{k}" for k in ORDER_FIELDS] + ["order.extra.KEY"])
    raise ValueError(_("unknown condition field {name!r}; use one of: {known}").format(name=name, known=known))


def _value(raw: str, kind: str, op: str, text: str) -> Any:
    if op in ("in", "not in"):
        body = raw.strip()
        if not (body.startswith("[") and body.endswith("]")):
            raise ValueError(_("condition {text!r}: `{op}` needs a list, e.g. [no_answer, refused]").format(
                text=text, op=op))
        items = [i.strip().strip("'\"") for i in body[1:-1].split(",") if i.strip()]
        return frozenset(_scalar(i, kind, text) for i in items)
    if kind in ("bool", "outcome", "str") and op not in ("==", "!="):
        raise ValueError(_("condition {text!r}: {kind} values can only be compared with == or !=").format(
            text=text, kind=kind))
    return _scalar(raw.strip().strip("'\""), kind, text)


def _scalar(raw: str, kind: str, text: str) -> Any:
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise ValueError(_("condition {text!r}: expected true or false, got {raw!r}").format(text=text, raw=raw))
        return raw.lower() == "true"
    if kind == "int" or kind == "number":
        try:
            return int(raw) if kind == "int" else float(raw)
        except ValueError:
            raise ValueError(_("condition {text!r}: {raw!r} is not a number").format(text=text, raw=raw)) from None
    if kind == "duration":
        return parse_duration(raw)
    if kind == "outcome":
        if raw not in OUTCOMES and raw != "none":
            raise ValueError(_("condition {text!r}: unknown call outcome {raw!r}; use one of: {names}, none").format(
                text=text, raw=raw, names=', '.join(OUTCOMES)))
        return raw
    return raw


def _show(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "none" if value is None else str(value)
