"""A playbook parsed from TOML: entry segment, steps with offsets, conditions and actions, window, cap, end.

:func:`parse_playbook` checks the shape of one ``[playbooks.NAME]`` table; every error names the file,
the step and the field. Checks that need the rest of the config (segments, channels, what the sources
can do, templates) live in :mod:`unpaid.playbook.load`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from unpaid.clock import parse_duration
from unpaid.config import DEFAULT_SAME_PRODUCT_WITHIN
from unpaid.errors import ConfigError
from unpaid.i18n import _, pgettext
from unpaid.model import Status
from unpaid.playbook.conditions import Condition, parse_condition
from unpaid.playbook.windows import Window, parse_window
from unpaid.segments import Segment

ACTIONS = {
    "send": "send a message through a channel with a template",
    "trigger": "start the source's own mailing or process (group, tag, funnel)",
    "offer": "make a discount or bonus offer, valid for a period",
    "status": "set the order's status",
    "call": "create a call task for the managers' queue, with a script",
    "cancel": "cancel the order with a reason",
    "goto": "jump back (or forward) to another step",
}
#: Actions that reach the customer (they count as attempts).
CONTACT_ACTIONS = frozenset({"send", "trigger", "call"})
#: Actions held to the send window: contacts, and offers (an offer is made when the customer can hear of it).
WINDOWED_ACTIONS = CONTACT_ACTIONS | {"offer"}
#: Actions safe to retry when a crash left their outcome unknown.
IDEMPOTENT_ACTIONS = frozenset({"trigger", "offer", "status", "call", "cancel", "goto"})
OFFER_KINDS = ("discount", "bonus")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
STEP_FIELDS = {"name", "action", "after", "at", "when", "channel", "template", "trigger", "params", "kind",
               "percent", "valid", "status", "reason", "script", "to", "fallback", "window", "title", "cap", "every"}
PLAYBOOK_FIELDS = {"title", "segment", "channel", "window", "cap", "enter_within", "end", "templates", "steps",
                   "enabled", "count", "offers", "same_product_within", "language", "holdout"}
#: The largest hold-out group a playbook may keep: beyond half, the playbook is the experiment, not the rule.
MAX_HOLDOUT = 0.5
#: What ``attempts`` counts (docs/cases.md): dials recorded at the desk, messages to the customer, or both.
COUNTS = ("contacts", "calls", "messages")
#: Default: an order that became eligible more than this long ago does not enter (no blast of old orders).
DEFAULT_ENTER_WITHIN = timedelta(days=3)
MAX_RUNS_PER_STEP = 50


@dataclass(frozen=True)
class Offer:
    kind: str
    percent: int
    valid: timedelta


@dataclass(frozen=True)
class Rung:
    """One rung of an offer ladder: from ``at`` after entry, ``percent`` off (or bonus) until ``until``."""

    at: timedelta
    kind: str
    percent: int
    until: timedelta  # from entry: the next rung's ``at``, else the playbook's end, else ``at + valid``
    step: "Step"  # the offer action the runner carries out, named ``ladder-N``


@dataclass(frozen=True)
class Cap:
    """At most ``messages`` messages per customer per ``per``, across all playbooks and orders."""

    messages: int = 1
    per: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    name: str
    action: str
    index: int
    where: str
    after: timedelta | None = None  # from the previous step (or entry, for the first)
    at: timedelta | None = None  # from entry
    when: tuple[Condition, ...] = ()
    channel: str | None = None
    template: str | None = None
    trigger: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    offer: Offer | None = None
    status: Status | None = None
    reason: str | None = None
    script: str | None = None
    to: str | None = None
    fallback: "Step | None" = None
    windowed: bool = True
    title: str = ""
    #: False: a transactional message (a payment link, a thank-you) outside the frequency cap.
    capped: bool = True
    #: On a goto: the loop's period — the target step runs again this long after its last run.
    every: timedelta | None = None

    @property
    def contacts(self) -> bool:
        return self.action in CONTACT_ACTIONS

    def describe(self) -> str:
        """A short human summary: ``send reminder via email``."""
        if self.action == "send":
            return _("send {template} via {channel}").format(template=self.template, channel=self.channel)
        if self.action == "trigger":
            return _("trigger {trigger}").format(trigger=self.trigger)
        if self.action == "offer":
            kind = {"discount": pgettext("offer kind", "discount"), "bonus": pgettext("offer kind", "bonus")}
            return _("offer {percent}% {kind}").format(percent=self.offer.percent,
                                                        kind=kind.get(self.offer.kind, self.offer.kind))
        if self.action == "status":
            return _("set status {status}").format(status=self.status.value)
        if self.action == "cancel":
            return _("cancel ({reason})").format(reason=self.reason)
        if self.action == "goto":
            return _("go to {step}").format(step=self.to)
        return _("call task")


@dataclass(frozen=True)
class Playbook:
    name: str
    title: str
    segment: Segment
    steps: tuple[Step, ...]
    where: str
    channel: str | None = None
    window: Window = Window()
    cap: Cap | None = Cap()
    enter_within: timedelta = DEFAULT_ENTER_WITHIN
    end_after: timedelta | None = None
    end: Step | None = None
    templates: Path | None = None
    events: frozenset[str] = frozenset()  # event kinds the conditions need (open, click)
    enabled: bool = True
    count: str = "contacts"
    #: The letters' language (money and dates in them); None: the shop's.
    language: str | None = None
    ladder: tuple[Rung, ...] = ()
    #: Orders of one customer and product this close together are one purchase: a step done for one is not
    #: repeated for the other, even after the first one's chain finished. Parsing leaves None when the
    #: playbook sets none; loading fills in the config's top-level ``same_product_within``.
    same_product_within: timedelta | None = None
    #: The share of entering orders kept untouched as a control group (``holdout = "10%"``): they enter,
    #: are recorded as held out and get no action, so reports can show the playbook's lift.
    holdout: float = 0.0

    def holds_out(self, order_id: str) -> bool:
        """Whether ``order_id`` falls in the hold-out group: by a hash of the id alone, so the same order is
        held out on every run and machine (and of every playbook with the same share)."""
        if not self.holdout:
            return False
        import hashlib

        bucket = int.from_bytes(hashlib.sha256(order_id.encode()).digest()[:8], "big") % 10_000
        return bucket < round(self.holdout * 10_000)

    @property
    def purchase_window(self) -> timedelta:
        """``same_product_within``, the default when the playbook was parsed but not loaded."""
        return self.same_product_within or DEFAULT_SAME_PRODUCT_WITHIN

    def step(self, name: str) -> Step:
        for rung in self.ladder:
            if rung.step.name == name:
                return rung.step
        return next(s for s in self.steps if s.name == name)

    def rung(self, step: Step) -> Rung | None:
        """The ladder rung ``step`` carries out, or None for an ordinary step."""
        return next((r for r in self.ladder if r.step is step), None)

    def index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.name == name)

    @property
    def span(self) -> timedelta | None:
        """The longest fixed time from entry to the last step, when it is known without loops."""
        if self.end_after is not None:
            return self.end_after
        total = timedelta(0)
        for s in self.steps:
            if s.action == "goto":
                return None
            total = s.at if s.at is not None else total + (s.after or timedelta(0))
        return total


def _holdout(value: Any, where: str) -> float:
    """``holdout = "10%"``: the share of entering orders kept untouched (0 when unset)."""
    if value is None:
        return 0.0
    text = value.strip() if isinstance(value, str) else ""
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else -1.0
    except ValueError:
        share = -1.0
    if not 0 <= share <= MAX_HOLDOUT:
        raise _err(where, _("is {value!r}, not a share from 0% to {MAX_HOLDOUT:.0%}").format(
            value=value, MAX_HOLDOUT=MAX_HOLDOUT),
                   _("write e.g. holdout = \"10%\""))
    return share


def _err(where: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(_("{where} {problem}").format(where=where, problem=problem), fix)


def parse_playbook(name: str, body: Any, where: str, segments: Mapping[str, Segment]) -> Playbook:
    """Validate one ``[playbooks.NAME]`` table (``where`` = ``FILE: playbooks.NAME``)."""
    from unpaid.segments import parse_segment

    if not NAME.match(name):
        raise _err(where, _("has an invalid name"), _("use lower-case letters, digits, '-' and '_'"))
    if not isinstance(body, Mapping):
        raise _err(where, _("must be a table"), _("write [playbooks.{name}] with segment and steps").format(name=name))
    for k in body:
        if k not in PLAYBOOK_FIELDS:
            raise _err(f"{where}.{k}", _("is not a playbook field"),
                       _("use one of: {names}").format(names=', '.join(sorted(PLAYBOOK_FIELDS))))
    raw_segment = body.get("segment")
    if isinstance(raw_segment, str):
        if raw_segment not in segments:
            known = ", ".join(sorted(segments)) or "none"
            raise _err(f"{where}.segment", _("names an unknown segment {raw_segment!r} (defined: {known})").format(
                raw_segment=raw_segment, known=known),
                       _("define [segments.{raw_segment}] in the config or the playbook file").format(
                           raw_segment=raw_segment))
        segment = segments[raw_segment]
    elif isinstance(raw_segment, Mapping):
        segment = parse_segment(f"{name}:entry", raw_segment, f"{where}.segment")
    else:
        raise _err(f"{where}.segment", _("is missing"),
                   _("name a segment (segment = \"fresh\") or write an inline table"))
    channel = _str(body, "channel", where)
    try:
        window = parse_window(body.get("window", {}), f"{where}.window")
    except ValueError as exc:
        raise ConfigError(str(exc), _("fix the window: hours = \"09:00-21:00\", days = [\"mon\", ...]")) from None
    cap = _cap(body.get("cap", {}), f"{where}.cap")
    enter_within = _duration(body, "enter_within", where) or DEFAULT_ENTER_WITHIN
    raw_steps = body.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _err(f"{where}.steps", _("is missing or empty"), _("add [[playbooks.NAME.steps]] tables, one per step"))
    events: set[str] = set()
    steps = tuple(_step(i, s, f"{where}.steps[{i + 1}]", channel, events) for i, s in enumerate(raw_steps))
    names = [s.name for s in steps]
    for s in steps:
        if names.count(s.name) > 1:
            raise _err(s.where, _("reuses the step name {name!r}").format(name=s.name),
                       _("give every step a unique name"))
        if s.action == "goto" and s.to not in names:
            raise _err(f"{s.where}.to", _("names an unknown step {to!r}").format(to=s.to),
                       _("use one of: {names}").format(names=', '.join(names)))
    loop = zero_delay_loop(steps)
    if loop:
        path = " -> ".join(s.name for s in loop) + f" -> {loop[0].name}"
        raise _err(f"{where}.steps", _("loop {path} has no delay and no condition: one run would repeat it until the loop limit").format(
            path=path),
                   _("give a step in it a delay (after = \"1d\") or the goto a condition (when = [\"attempts < 3\"])"))
    end_after, end = None, None
    if "end" in body:
        end_body = body["end"]
        if not isinstance(end_body, Mapping):
            raise _err(f"{where}.end", _("must be a table"),
                       _("write end = { after = \"6w\", action = \"cancel\", ... }"))
        end_after = _duration(end_body, "after", f"{where}.end")
        rest = {k: v for k, v in end_body.items() if k != "after"}
        rest.setdefault("name", "end")
        rest.setdefault("action", "cancel")
        if rest.get("name") in names:
            raise _err(f"{where}.end.name", _("clashes with step {value!r}").format(value=rest['name']),
                       _("rename the end step"))
        end = _step(len(steps), rest, f"{where}.end", channel, events)
        if end.action == "goto":
            raise _err(f"{where}.end.action", _("cannot be goto"), _("end with cancel, status, send or call"))
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _err(f"{where}.enabled", _("must be true or false"), _("write enabled = false to switch it off"))
    count = body.get("count", "contacts")
    if count not in COUNTS:
        raise _err(f"{where}.count", _("is {count!r}").format(count=count),
                   _("use one of: {names} (what `attempts` counts)").format(names=', '.join(COUNTS)))
    ladder = _ladder(body.get("offers"), f"{where}.offers", end_after, len(steps) + 1)
    from unpaid.i18n import LANGUAGES, parse_language

    language = body.get("language")
    if language is not None and (not isinstance(language, str) or parse_language(language) is None):
        raise _err(f"{where}.language", _("is {language!r}").format(language=language),
                   _("use one of: {names}").format(names=', '.join(LANGUAGES)))
    within = _duration(body, "same_product_within", where)
    return Playbook(name, _str(body, "title", where) or "", segment, steps, where, channel, window, cap,
                    enter_within, end_after, end, events=frozenset(events), enabled=enabled, count=count,
                    language=parse_language(language) if language else None,
                    ladder=ladder, same_product_within=within,
                    holdout=_holdout(body.get("holdout"), f"{where}.holdout"))


def _ladder(raw: Any, where: str, end_after: timedelta | None, index: int) -> tuple[Rung, ...]:
    """``offers = [{ at = "0", percent = 15 }, { at = "3w", percent = 25 }]``: rungs that switch exactly on time."""
    if raw is None:
        return ()
    example = 'write offers = [{ at = "0", kind = "bonus", percent = 15 }, { at = "3w", kind = "bonus", percent = 25 }]'
    if not isinstance(raw, list) or not raw:
        raise _err(where, _("must be a list of offers"), example)
    parsed = []
    for i, body in enumerate(raw):
        here = f"{where}[{i + 1}]"
        if not isinstance(body, Mapping):
            raise _err(here, _("must be a table"), example)
        unknown = set(body) - {"at", "kind", "percent", "valid"}
        if unknown:
            raise _err(f"{here}.{sorted(unknown)[0]}", _("is not an offer field"), _("use at, kind, percent and valid"))
        at = _duration(body, "at", here)
        if at is None:
            raise _err(f"{here}.at", _("is missing"), _("write when it starts, counted from entry: at = \"3w\""))
        offer = _offer({"valid": "1s", **body}, here)
        parsed.append((at, offer, _duration(body, "valid", here), here))
    rungs: list[Rung] = []
    for i, (at, offer, valid, here) in enumerate(parsed):
        if i and (at <= parsed[i - 1][0] or offer.percent <= parsed[i - 1][1].percent):
            raise _err(here, _("must start later and offer more than the offer before it"),
                       _("list the offers in order; offers only go up"))
        if i + 1 < len(parsed):
            until = parsed[i + 1][0]
        elif valid is not None:
            until = at + valid
        elif end_after is not None:
            until = end_after
        else:
            raise _err(f"{here}.valid", _("is missing: the last offer needs a validity when the playbook has no end"),
                       _("write valid = \"3w\", or give the playbook end = { after = \"6w\", ... }"))
        # Not held to the send window: the offer switches exactly on time (no gap, no overlap).
        step = Step(f"ladder-{i + 1}", "offer", index + i, here, at=at, windowed=False,
                    offer=Offer(offer.kind, offer.percent, until - at))
        rungs.append(Rung(at, offer.kind, offer.percent, until, step))
    return tuple(rungs)


def zero_delay_loop(steps: tuple[Step, ...]) -> list[Step] | None:
    """Steps that can follow each other in a circle without waiting, through a goto without conditions, or None.

    Waiting means an ``after`` delay or a ``call`` (its task waits for a manager). ``at`` counts from entry,
    so on a second pass it is already past: no wait. A goto with conditions may stop the loop: not counted.
    """
    index = {s.name: i for i, s in enumerate(steps)}

    def waits(i: int) -> bool:
        return bool(steps[i].after) or bool(steps[i].every) or steps[i].action == "call"

    def following(i: int) -> list[int]:
        step = steps[i]
        if step.action == "goto" and not step.when:
            return [index[step.to]]
        return [i + 1] if i + 1 < len(steps) else []

    # Depth-first search over the edges into steps that do not wait; a back edge closes a loop.
    state: dict[int, int] = {}  # 1 = on the current path, 2 = explored
    path: list[int] = []

    def visit(i: int) -> list[int] | None:
        state[i] = 1
        path.append(i)
        for j in following(i):
            if waits(j):
                continue
            if state.get(j) == 1:
                return path[path.index(j):]
            if j not in state:
                found = visit(j)
                if found:
                    return found
        path.pop()
        state[i] = 2
        return None

    for start in range(len(steps)):
        if start not in state:
            found = visit(start)
            if found:
                return [steps[i] for i in found]
    return None


def _step(index: int, body: Any, where: str, default_channel: str | None, events: set[str]) -> Step:
    if not isinstance(body, Mapping):
        raise _err(where, _("must be a table"), _("write [[playbooks.NAME.steps]] with name and action"))
    name = body.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise _err(f"{where}.name", _("is missing or invalid"), _("give the step a name like \"first_reminder\""))
    where = f"{where} ({name})"
    for k in body:
        if k not in STEP_FIELDS:
            raise _err(f"{where}.{k}", _("is not a step field"),
                       _("use one of: {names}").format(names=', '.join(sorted(STEP_FIELDS))))
    action = body.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise _err(f"{where}.action", _("is {action!r}, not a known action").format(action=action),
                   _("use one of: {names}").format(names=', '.join(ACTIONS)))
    if "after" in body and "at" in body:
        raise _err(where, _("has both after and at"), _("use after (from the previous step) or at (from entry)"))
    every = _duration(body, "every", where)
    if every is not None and (action != "goto" or "after" in body or "at" in body or not every):
        raise _err(f"{where}.every", _("only applies to a goto, instead of after and at, and must not be zero"),
                   _("write every = \"7d\" on the goto that closes a weekly loop"))
    after = _duration(body, "after", where)
    at = _duration(body, "at", where)
    if after is None and at is None:
        after = timedelta(0)
    raw_when = body.get("when", [])
    if isinstance(raw_when, str):
        raw_when = [raw_when]
    if not isinstance(raw_when, list):
        raise _err(f"{where}.when", _("must be a list of conditions"),
                   _("write when = [\"not opened\", \"attempts < 3\"]"))
    conditions = []
    for text in raw_when:
        try:
            conditions.append(parse_condition(text, events))
        except ValueError as exc:
            raise _err(f"{where}.when:", str(exc), _("see docs/playbooks.md#conditions")) from None
    kw: dict[str, Any] = {}
    if action == "send":
        kw["channel"] = _str(body, "channel", where) or default_channel
        if not kw["channel"]:
            raise _err(f"{where}.channel", _("is missing"), _("set channel on the step or the playbook"))
        kw["template"] = _required(body, "template", where, 'template = "reminder"')
    elif action == "trigger":
        kw["trigger"] = _required(body, "trigger", where, 'trigger = "group"')
        params = body.get("params", {})
        if not isinstance(params, Mapping):
            raise _err(f"{where}.params", _("must be a table"), _("write params = { group = \"unpaid-reminders\" }"))
        kw["params"] = dict(params)
    elif action == "offer":
        kw["offer"] = _offer(body, where)
    elif action == "status":
        raw = _required(body, "status", where, 'status = "in_work"')
        try:
            kw["status"] = Status.parse(raw)
        except ValueError as exc:
            raise _err(f"{where}.status:", str(exc), _("fix the status name")) from None
        kw["reason"] = _str(body, "reason", where)
    elif action == "cancel":
        kw["status"] = Status.CANCELLED
        kw["reason"] = _required(body, "reason", where, 'reason = "Expired"')
    elif action == "call":
        kw["script"] = _str(body, "script", where) or ""
        kw["template"] = _str(body, "template", where)
    elif action == "goto":
        kw["to"] = _required(body, "to", where, 'to = "call"')
    if "fallback" in body:
        fb = body["fallback"]
        if not isinstance(fb, Mapping) or fb.get("action") not in ("send", "call"):
            raise _err(f"{where}.fallback", _("must be a table with action = \"send\" or \"call\""),
                       _("write fallback = { action = \"send\", channel = \"email\", template = \"ask_phone\" }"))
        if action not in ("send", "call"):
            raise _err(f"{where}.fallback", _("only applies to send and call steps"), _("remove it"))
        kw["fallback"] = _step(index, {"name": f"{name}", **fb}, f"{where}.fallback", default_channel, events)
    windowed = body.get("window", True)
    if not isinstance(windowed, bool):
        raise _err(f"{where}.window", _("must be true or false"), _("write window = false to ignore the send window"))
    capped = body.get("cap", True)
    if not isinstance(capped, bool):
        raise _err(f"{where}.cap", _("must be true or false"),
                   _("write cap = false for a transactional message outside the frequency cap"))
    return Step(name, action, index, where, after, at, tuple(conditions), windowed=windowed,
                title=_str(body, "title", where) or "", capped=capped, every=every, **kw)


def _offer(body: Mapping[str, Any], where: str) -> Offer:
    kind = body.get("kind", "discount")
    if kind not in OFFER_KINDS:
        raise _err(f"{where}.kind", _("is {kind!r}").format(kind=kind),
                   _("use one of: {names}").format(names=', '.join(OFFER_KINDS)))
    percent = body.get("percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent <= 100:
        raise _err(f"{where}.percent", _("is {percent!r}, not a whole percent from 1 to 100").format(percent=percent),
                   _("write e.g. percent = 5"))
    valid = _duration(body, "valid", where)
    if not valid:
        raise _err(f"{where}.valid", _("is missing or zero"), _("write how long the offer holds, e.g. valid = \"2d\""))
    return Offer(kind, percent, valid)


def _cap(raw: Any, where: str) -> Cap | None:
    if raw is False:
        return None
    if not isinstance(raw, Mapping):
        raise _err(where, _("must be a table or false"), _("write cap = { messages = 1, per = \"1d\" }"))
    unknown = set(raw) - {"messages", "per"}
    if unknown:
        raise _err(f"{where}.{sorted(unknown)[0]}", _("is not a cap field"), _("use messages and per"))
    messages = raw.get("messages", 1)
    if isinstance(messages, bool) or not isinstance(messages, int) or messages < 1:
        raise _err(f"{where}.messages", _("must be a whole number of at least 1"), _("write messages = 1"))
    per = _duration(raw, "per", where) or timedelta(days=1)
    return Cap(messages, per)


def _duration(body: Mapping[str, Any], key: str, where: str) -> timedelta | None:
    if key not in body:
        return None
    raw = body[key]
    text = str(raw).strip()
    if text.startswith("-"):
        raise _err(f"{where}.{key}", _("is negative ({raw!r})").format(raw=raw),
                   _("use a positive duration, e.g. {key} = \"1d\"").format(key=key))
    if text == "0":
        return timedelta(0)
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise _err(f"{where}.{key}:", str(exc), _("write e.g. {key} = \"2d\"").format(key=key)) from None


def _str(body: Mapping[str, Any], key: str, where: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _err(f"{where}.{key}", _("must be a string"), _("write {key} = \"...\"").format(key=key))
    return value


def _required(body: Mapping[str, Any], key: str, where: str, example: str) -> str:
    value = _str(body, key, where)
    if not value:
        raise _err(f"{where}.{key}", _("is missing"), _("write {example}").format(example=example))
    return value
