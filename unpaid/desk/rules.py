"""Call outcomes and what follows each one: pure (outcome + options + facts + now + settings -> Plan).

The recorded outcome is one of :data:`unpaid.playbook.conditions.OUTCOMES`, so playbook conditions
(``last_outcome == promised``) read what the desk writes; a few everyday words are accepted as
aliases and kept as ``detail`` (``voicemail`` is a ``no_answer``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Callable, Sequence

from unpaid.desk.settings import DeskSettings
from unpaid.errors import InputError
from unpaid.i18n import N_, _, ngettext, speaking
from unpaid.model import Status
from unpaid.playbook.conditions import OUTCOMES

#: Everyday words -> the recorded outcome.
ALIASES = {"voicemail": "no_answer", "no_phone": "wrong_number", "mistake": "duplicate"}
#: What each outcome means, for `--help` and docs/desk.md.
#: (Shown with ``_(MEANINGS[outcome])``: the codes stay English, what they mean is translated.)
MEANINGS = {
    "no_answer": N_("no answer: call again later today at another time, then the next day; "
                    "after [desk] attempts in a row, a message and Not confirmed"),
    "voicemail": N_("same as no_answer (kept as detail)"),
    "callback": N_("asked to call back: --at TIME (in the future)"),
    "promised": N_("promised to pay: --on DATE; Waiting for payment, playbooks paused until then, "
                   "a follow-up call after it (at most [desk] promise_cap later, unless --force)"),
    "thinking": N_("thinking it over: call again in [desk] thinking (or --days N)"),
    "installments": N_("wants special terms (installments, a discount): call again in [desk] installments "
                       "(or --days N); the installments message, when its template is there"),
    "says_paid": N_("says they paid: a request for proof of payment, check again in [desk] says_paid"),
    "wrong_number": N_("wrong number: a message asking for a phone on the other channels, check again later"),
    "no_phone": N_("same as wrong_number: there is no phone to call"),
    "refused": N_("refused: --reason from cancel_reasons; the order is Cancelled"),
    "duplicate": N_("a duplicate order: set to False"),
    "mistake": N_("created by mistake: set to False"),
}
CHOICES = tuple(MEANINGS)
#: Outcomes that mean the customer was reached (they end a run of unanswered calls).
_NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class OutcomeOptions:
    """What the manager typed besides the outcome."""

    at: datetime | None = None       # callback time
    on: date | None = None           # promised day (local)
    call_on: datetime | None = None  # when to call after a promise
    days: int | None = None          # thinking: call again after N days
    reason: str | None = None        # refused
    comment: str | None = None
    force: bool = False


@dataclass(frozen=True)
class CallFacts:
    """Earlier call outcomes of the order, oldest first: (outcome, at)."""

    calls: Sequence[tuple[str, datetime]] = ()
    #: When the desk last gave up on the order: a call after that (a playbook tries again) starts a new run.
    gave_up_at: datetime | None = None

    def unanswered_run(self) -> list[datetime]:
        """Times of the no-answer calls since the customer was last reached (or the desk last gave up)."""
        run: list[datetime] = []
        for outcome, at in reversed(self.calls):
            if outcome != _NO_ANSWER or (self.gave_up_at is not None and at <= self.gave_up_at):
                break
            run.append(at)
        return run


@dataclass(frozen=True)
class Plan:
    """What to do after a call. ``send`` holds message purposes (keys of ``[desk.templates]``).

    ``summary`` is English (kept in the history and the ledger); ``said`` is the same in the active language.
    """

    outcome: str
    detail: str | None
    summary: str
    status: Status | None = None
    reason: str | None = None
    next_call: datetime | None = None
    pause_until: datetime | None = None
    send: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    said: str = ""

    def __post_init__(self) -> None:
        if not self.said:
            object.__setattr__(self, "said", self.summary)


def in_both(make: Callable[[], str]) -> tuple[str, str]:
    """``make()`` in English (for the history) and in the active language (for the manager)."""
    with speaking("en"):
        english = make()
    return english, make()


def canonical(text: str) -> tuple[str, str | None]:
    """(recorded outcome, alias used or None); InputError listing the choices for an unknown one."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in ALIASES:
        return ALIASES[key], key
    if key in OUTCOMES:
        return key, None
    raise InputError(_("OUTCOME: unknown call outcome {text!r}").format(text=text),
                     _("use one of: {choices}").format(choices=", ".join(CHOICES)))


def plan_outcome(text: str, opts: OutcomeOptions, facts: CallFacts, now: datetime, settings: DeskSettings,
                 zone: tzinfo, cancel_reasons: Sequence[str]) -> Plan:
    """Decide the status, the next call, the pause and the messages for one call outcome.

    Raises InputError (nothing is done) for a missing or contradictory option.
    """
    outcome, detail = canonical(text)
    _check_options(outcome, opts)
    base = {"outcome": outcome, "detail": detail, "comment": opts.comment}
    if outcome == "no_answer":
        return _no_answer(facts, now, settings, zone, detail, base)
    if outcome == "callback":
        if opts.at is None:
            raise InputError(_("callback needs --at TIME"), _("e.g. --at 18:30 or --at 2026-11-25T10:00"))
        if opts.at <= now:
            raise InputError(_("--at {at} is in the past").format(at=_local(opts.at, zone)),
                             _("give a future time for the callback"))
        at, _why = working_time(opts.at, settings, zone)
        summary, said = in_both(lambda: _("call back at {at}").format(at=_local(at, zone))
                                + _moved(opts.at, at, zone))
        return Plan(outcome, detail, summary, next_call=at, data={**base, "callback_at": at}, said=said)
    if outcome == "promised":
        return _promised(opts, now, settings, zone, base)
    if outcome in ("thinking", "says_paid", "wrong_number", "installments"):
        gap = {"thinking": settings.thinking, "says_paid": settings.says_paid,
               "wrong_number": settings.check_phone, "installments": settings.installments}[outcome]
        if opts.days is not None:
            gap = timedelta(days=opts.days)
        nxt = next_call_time(now + gap, settings, zone)
        send = {"says_paid": ("ask_proof",), "wrong_number": ("ask_phone",),
                "installments": ("installments",)}.get(outcome, ())
        words = {"thinking": N_("thinking it over; next call {at}"), "says_paid": N_("says they paid; next call {at}"),
                 "installments": N_("wants installments; next call {at}"),
                 "wrong_number": N_("wrong number; next call {at}") if detail is None
                 else N_("no phone; next call {at}")}[outcome]
        summary, said = in_both(lambda: _(words).format(at=_local(nxt, zone)))
        return Plan(outcome, detail, summary, next_call=nxt, send=send, data={**base, "next_call": nxt}, said=said)
    if outcome == "refused":
        from unpaid.actions import NEAREST_REASON, resolve_reason

        if not opts.reason:
            raise InputError(_("refused needs --reason"),
                             _("use one of: {choices}").format(choices=", ".join(cancel_reasons)))
        # `outcome` has no --reason-text: the reasons are the agreed list, anything else goes in the comment.
        reason = resolve_reason(Status.CANCELLED, opts.reason, None, cancel_reasons, NEAREST_REASON)
        summary, said = in_both(lambda: _("refused: {reason}").format(reason=reason))
        return Plan(outcome, detail, summary, status=Status.CANCELLED, reason=reason,
                    data={**base, "reason": reason}, said=said)
    reason = "Created by mistake" if detail == "mistake" else "Duplicate"  # stored as recorded: English
    said = _("created by mistake") if detail == "mistake" else _("duplicate")
    return Plan(outcome, detail, reason.lower(), status=Status.FALSE, reason=reason,
                data={**base, "reason": reason}, said=said)


def _check_options(outcome: str, opts: OutcomeOptions) -> None:
    allowed = {"callback": {"at"}, "promised": {"on", "call_on", "force"}, "thinking": {"days"},
               "installments": {"days"}, "says_paid": {"days"}, "wrong_number": {"days"},
               "refused": {"reason"}}.get(outcome, set())
    for name, value in (("at", opts.at), ("on", opts.on), ("call_on", opts.call_on), ("days", opts.days),
                        ("reason", opts.reason), ("force", opts.force or None)):
        if value is not None and name not in allowed:
            flag = "--" + name.replace("_", "-")
            raise InputError(_("{flag} does not apply to the outcome {outcome}").format(flag=flag, outcome=outcome),
                             _("remove {flag}").format(flag=flag))
    if opts.days is not None and opts.days < 1:
        raise InputError(_("--days {days} must be at least 1").format(days=opts.days), _("e.g. --days 3"))


def _no_answer(facts: CallFacts, now: datetime, s: DeskSettings, zone: tzinfo, detail: str | None,
               base: dict[str, Any]) -> Plan:
    run = facts.unanswered_run()
    attempt = len(run) + 1
    data = {**base, "attempt": attempt}
    if attempt >= s.attempts:
        # One "we could not reach you" letter per order: a second give-up (a manager tried again) is silent.
        send = ("unreachable",) if facts.gave_up_at is None else ()
        summary, said = in_both(lambda: (ngettext(
            "no answer ({n} in a row): given up, Not confirmed",
            "no answer ({n} in a row): given up, Not confirmed", attempt) if send else ngettext(
            "no answer ({n} in a row): given up, Not confirmed (the customer already had the letter)",
            "no answer ({n} in a row): given up, Not confirmed (the customer already had the letter)",
            attempt)).format(n=attempt))
        return Plan("no_answer", detail, summary, status=Status.NOT_CONFIRMED, send=send,
                    data={**data, "given_up": True}, said=said)
    today = now.astimezone(zone).date()
    today_calls = 1 + sum(1 for at in run if at.astimezone(zone).date() == today)
    nxt = None
    if today_calls < s.calls_per_day:
        nxt = now + s.retry_gap
        if nxt.astimezone(zone).date() != today or not s.hours.allows(nxt):
            nxt = None
    if nxt is None:
        nxt = _next_day_other_time(now, s, zone)
    summary, said = in_both(lambda: ngettext("no answer ({n} in a row); next call {at}",
                                             "no answer ({n} in a row); next call {at}", attempt).format(
        n=attempt, at=_local(nxt, zone)))
    return Plan("no_answer", detail, summary, next_call=nxt, data={**data, "next_call": nxt}, said=said)


def _next_day_other_time(now: datetime, s: DeskSettings, zone: tzinfo) -> datetime:
    """The next working day (tomorrow, or past the calendar's days off), shifted by the retry gap so the
    customer sees the call at another time of day."""
    local = now.astimezone(zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)
    opening = s.hours.next_slot(tomorrow)
    day = opening.astimezone(zone).date()
    candidate = datetime.combine(day, (local + s.retry_gap).time(), tzinfo=zone).astimezone(timezone.utc)
    if not s.hours.allows(candidate):
        candidate = datetime.combine(day, s.hours.start, tzinfo=zone).astimezone(timezone.utc)
    return s.hours.next_slot(max(candidate, opening))


def _promised(opts: OutcomeOptions, now: datetime, s: DeskSettings, zone: tzinfo, base: dict[str, Any]) -> Plan:
    if opts.on is None:
        raise InputError(_("promised needs --on DATE, the day the customer promised to pay"),
                         _("e.g. --on 2026-11-27"))
    today = now.astimezone(zone).date()
    if opts.on < today:
        raise InputError(_("--on {day} is in the past").format(day=opts.on),
                         _("give the day the customer promised to pay"))
    day_start = datetime.combine(opts.on, s.hours.start if not s.hours.always else time(0), tzinfo=zone)
    pause_until = max(day_start.astimezone(timezone.utc), now)
    end_of_day = datetime.combine(opts.on + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)
    latest = end_of_day + s.promise_cap
    if opts.call_on is not None and opts.call_on <= now:
        raise InputError(_("--call-on {at} is in the past").format(at=_local(opts.call_on, zone)),
                         _("give a later day"))
    nxt, _why = working_time(opts.call_on, s, zone) if opts.call_on else \
        (next_call_time(pause_until + s.promise_followup, s, zone), "")
    if nxt >= latest and not opts.force:
        raise InputError(_("--call-on {at} is more than {cap} after the promised day {day}").format(
            at=_local(nxt, zone), cap=age(s.promise_cap), day=opts.on),
            _("a promise is followed up within days: pick an earlier day, or add --force"))
    summary, said = in_both(lambda: _("promised to pay on {day}; playbooks paused until then; next call {at}").format(
        day=opts.on, at=_local(nxt, zone)) + (_moved(opts.call_on, nxt, zone) if opts.call_on else ""))
    return Plan("promised", None, summary, status=Status.PAYMENT_WAITING, next_call=nxt, pause_until=pause_until,
                data={**base, "promised_on": opts.on.isoformat(), "next_call": nxt}, said=said)


def next_call_time(at: datetime, s: DeskSettings, zone: tzinfo) -> datetime:
    """``at`` moved into calling hours (the same time when it already is)."""
    return s.hours.next_slot(at)


def working_time(at: datetime, s: DeskSettings, zone: tzinfo) -> tuple[datetime, str]:
    """A time the manager gave (``--at``, ``--call-on``, ``postpone``), and why it moved, if it did.

    It stays as given unless it falls on a day off or a holiday of ``[calendar]``: nobody calls then,
    so it moves to the start of calling hours on the next working day.
    """
    calendar = s.hours.calendar
    if not calendar or not calendar.off_at(at):
        return at, ""
    moved = s.hours.next_slot(at)
    return moved, _moved(at, moved, zone)


def _moved(given: datetime, at: datetime, zone: tzinfo) -> str:
    """`` (2026-11-28 is a day off: moved to the next working day)`` when ``at`` is not the time given."""
    if at == given:
        return ""
    return " (" + _("{day} is a day off: moved to the next working day").format(
        day=f"{given.astimezone(zone):%Y-%m-%d}") + ")"


def age(delta: timedelta) -> str:
    """A duration as people read it in the active language: ``2d 3h``, ``2 д 3 ч``, ``45m``."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    units = ((N_("{n}w"), 604800), (N_("{n}d"), 86400), (N_("{n}h"), 3600), (N_("{n}m"), 60))
    parts = []
    for unit, size in units:
        if seconds >= size:
            parts.append(_(unit).format(n=seconds // size))
            seconds %= size
    return sign + (" ".join(parts[:2]) if parts else _("{n}s").format(n=seconds))


def postpone_limit(last_promise: date | None, settings: DeskSettings, zone: tzinfo) -> datetime | None:
    """The latest a promised order may be postponed to: the promised day plus ``promise_cap``."""
    if last_promise is None:
        return None
    end_of_day = datetime.combine(last_promise + timedelta(days=1), time(0), tzinfo=zone)
    return end_of_day.astimezone(timezone.utc) + settings.promise_cap


def _local(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
