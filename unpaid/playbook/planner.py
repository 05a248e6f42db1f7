"""The planner, pure: (order, its ledger and playbook state, a playbook, now) -> decisions with reasons.

No I/O: :class:`Case` carries everything read from the store. The runner acts on the first due
decision of a case; ``unpaid plan`` shows them all, and with ``until`` simulates forward, assuming
each action succeeds, to forecast what will happen and when — and says why other things will not.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Mapping

from unpaid.clock import format_duration, to_iso
from unpaid.i18n import _, active, lookup, ngettext, speaking
from unpaid.model import FINISHED, Order, Status
from unpaid.playbook.conditions import Facts
from unpaid.playbook.model import IDEMPOTENT_ACTIONS, MAX_RUNS_PER_STEP, WINDOWED_ACTIONS, Playbook, Step
from unpaid.store.ledger import CLAIMED, DONE, FAILED, SKIPPED, UNCERTAIN, LedgerEntry, ledger_key

#: A failed action that gave up carries this retry time: it waits for review, never retried by itself.
GAVE_UP = datetime(9999, 1, 1, tzinfo=timezone.utc)
#: Decision kinds. ``act``/``skip``/``enter``/``exit``/``finish``/``advance`` are done by ``unpaid run``;
#: ``wait``/``review``/``out`` only explain.
ACTING = frozenset({"enter", "act", "skip", "exit", "finish", "advance"})
_HORIZON_STEPS = 200
_MEMO = 100_000  # entries a planner's memo of pure answers keeps before starting afresh


@dataclass(frozen=True)
class Decision:
    at: datetime
    order_id: str
    playbook: str
    kind: str
    reason: str
    step: str = ""
    action: str = ""
    key: str | None = None
    repeat: int = 0
    due: bool = False
    fallback: bool = False
    retry: bool = False
    channel: str | None = None
    #: An ``out`` of an order eligible too long ago to enter (``enter_within``): the plan leaves it out.
    stale: bool = False

    def as_dict(self, at: str | None = None) -> dict[str, Any]:
        """The decision as a record; ``at`` is ``to_iso(self.at)`` when the caller has it already."""
        return {"at": at or to_iso(self.at), "order_id": self.order_id, "playbook": self.playbook, "kind": self.kind,
                "step": self.step, "action": self.action, "due": self.due, "reason": self.reason, "key": self.key}


@dataclass
class Case:
    """One order as seen by one playbook: the order and everything the store knows about it."""

    order: Order
    enrollment: Any = None  # unpaid.store.enrollments.Enrollment
    ledger: Mapping[str, LedgerEntry] = field(default_factory=dict)
    tasks: list = field(default_factory=list)  # unpaid.store.tasks.Task of this playbook
    outcome: Any = None  # unpaid.store.tasks.Outcome
    events: list[tuple[str, datetime]] = field(default_factory=list)
    offer: Any = None  # unpaid.store.offers.StoredOffer
    paid_twin: str | None = None
    chain_holder: str | None = None
    optout: bool = False
    contacts: list[datetime] = field(default_factory=list)
    #: Dials the desk recorded for the order, and messages sent to the customer about it (by anyone).
    dials: int = 0
    messages: int = 0
    #: Steps of this playbook already done for another order of the same customer and product, within
    #: ``same_product_within``: step name -> (that order's id, when).
    chain_done: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    #: The order's open call that belongs to someone else (the desk's follow-up after a promise, another
    #: playbook's): a call step waits for it instead of opening a second one.
    open_call: Any = None

    @property
    def gave_up_at(self) -> datetime | None:
        """When the desk last gave up calling (the last dial was the last unanswered one), or None."""
        out = self.outcome
        return out.at if out is not None and out.data.get("given_up") else None

    @property
    def chain_key(self) -> str | None:
        key, product = self.order.customer.key, self.order.product_key
        return f"{key}|{product or ''}" if key else None


@dataclass
class _State:
    """The enrollment as the simulation moves it forward."""

    entered_at: datetime
    cursor: int
    since: datetime
    loops: dict[str, int]
    paused_until: datetime | None
    open_task: Any
    task_closed: datetime | None
    messages: int
    calls: int  # dials: call outcomes recorded at the desk
    last_msg_at: datetime | None
    offer: int
    offer_until: datetime | None
    outcome: str | None
    contacts: list[datetime]
    ledger: Mapping[str, LedgerEntry]
    gave_up_at: datetime | None = None
    ladder_done: set[str] = field(default_factory=set)
    #: When each step was last done (for a goto's ``every``: the loop's period counts from its target).
    last_done: dict[str, datetime] = field(default_factory=dict)
    ended: bool = False


def local_minute(moment: datetime, zone: tzinfo) -> str:
    """``moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")``, at a third of its cost (``strftime`` formats
    through the C library; tens of thousands of moments a plan)."""
    local = moment.astimezone(zone)
    return local.isoformat(" ")[:16] if local.year >= 1000 else local.strftime("%Y-%m-%d %H:%M")


def next_position(pb: Playbook, cursor: int, loops: Mapping[str, int], step: Step,
                  done: bool = True) -> tuple[int, dict[str, int]]:
    """Where the enrollment goes after ``step`` was done (or skipped): the next step, or a done goto's target."""
    new_loops = dict(loops)
    new_loops[step.name] = new_loops.get(step.name, 0) + 1
    if pb.end is not None and step is pb.end:
        return len(pb.steps), new_loops
    if step.action == "goto" and done:
        return pb.index(step.to), new_loops
    return cursor + 1, new_loops


class Planner:
    """Decisions for one playbook. ``channels`` maps channel name -> ChannelInfo (address, dedupes)."""

    def __init__(self, playbook: Playbook, channels: Mapping[str, Any], zone: tzinfo | None = None):
        self.pb = playbook
        self.channels = channels
        #: Times in reasons are for people: written in the shop's zone (UTC, marked, when none is given).
        self.zone = zone
        #: Messages planned in this pass, per customer: the cap sees them when one customer has several orders.
        self.booked: dict[str, list[datetime]] = {}
        #: Chains taken in this pass (chain key -> order id): a duplicate planned later will not enter.
        self.chains: dict[str, str] = {}
        # Pure functions of their arguments, asked the same questions for thousands of orders in a pass:
        # the send window's next slot per (moment, zone) and a moment written for people.
        self._slots: dict[tuple[datetime, str | None], datetime] = {}
        self._whens: dict[datetime, str] = {}
        self._contact_steps: list[Step] | None = None
        # Texts for people in the active language: a duration, a step's summary (language, value) -> text.
        self._ages: dict[tuple[str, timedelta], str] = {}
        self._describes: dict[tuple[str, int], str] = {}
        # The playbook's steps by name (as _step finds them: the end, then a rung's, then the first of that
        # name) and its rungs by step: asked several times per decision.
        self._steps: dict[str, Step] = {s.name: s for s in reversed(playbook.steps)}
        self._steps.update((r.step.name, r.step) for r in reversed(playbook.ladder))
        if playbook.end is not None:
            self._steps[playbook.end.name] = playbook.end
        self._rungs = {id(r.step): r for r in reversed(playbook.ladder)}
        self._reach: tuple[Case, bool] | None = None

    # ---- public ----

    def due(self, case: Case, now: datetime) -> Decision | None:
        """The first decision ``unpaid run`` should carry out now, or None."""
        first = self.first(case, now)
        return first if first is not None and first.due and first.kind in ACTING else None

    def first(self, case: Case, now: datetime) -> Decision | None:
        """The case's next decision (due or not; ``review`` when it waits for a human)."""
        first = self.decide(case, now, now)[:1]
        return first[0] if first else None

    def decide(self, case: Case, now: datetime, until: datetime | None = None, book: bool = False) -> list[Decision]:
        """Decisions from ``now`` up to ``until`` (default: now), plus the next one after, each with its reason."""
        until = until or now
        order = case.order
        out: list[Decision] = []
        self._reach = None
        en = case.enrollment
        if en is not None and en.state != "active":
            return [self._d(en.exited_at or now, case, "out",
                           _("left the playbook: {reason}").format(
                reason=lookup(en.exit_reason) if en.exit_reason else en.exit_reason), now)]
        gone = self._exit_reason(case)
        if en is None:
            taken = self.chains.get(case.chain_key or "") if book else None
            if taken and taken != order.id and not case.chain_holder:
                case = replace(case, chain_holder=taken)
            entry = self._entry(case, now, until, gone)
            if book and entry.kind == "enter" and case.chain_key:
                self.chains[case.chain_key] = order.id
            held = entry.kind == "enter" and self.pb.holds_out(order.id)
            if held:
                entry = replace(entry, reason=_("{reason}; {held}").format(reason=entry.reason, held=self._held_reason()))
            out.append(entry)
            if entry.kind != "enter" or entry.at > until or held:
                return out
            state = self._state(case, entered_at=entry.at)
            t = max(now, entry.at)
        else:
            if gone:
                return [self._d(now, case, "exit", gone, now)]
            if self.pb.holds_out(order.id):
                return [self._held(case, now)]
            state = self._state(case)
            t = now
        # The steps' next decision at ``t``: still the same after a skipped rung (that changes only which
        # rungs are done, which no step looks at), so a late order's superseded offer does not decide it twice.
        steps_next: tuple[datetime, Decision] | None = None
        for _round in range(_HORIZON_STEPS):
            then = steps_next[1] if steps_next is not None and steps_next[0] == t else \
                self._next_step(state, case, t, now)
            rung = self._rung(state, case, t, now, then)
            d = rung if rung is not None else then
            out.append(d)
            if d.kind not in ("act", "skip") or d.at > until:
                break
            steps_next = (t, then) if rung is not None and d.kind == "skip" else None
            if book and d.kind == "act" and d.action == "send" and order.customer.key:
                self.booked.setdefault(order.customer.key, []).append(d.at)
            self._apply(state, d)
            if d.kind == "act" and d.at < now and self._rung_of(self._step(d.step)) is None:
                state.since = now  # an overdue step is done now, and the next counts from then
            t = max(t, d.at)
            if state.ended:
                break
        return out

    def english(self, case: Case, d: Decision, now: datetime) -> str:
        """``d``'s reason in English: what the store keeps (history, enrollments, the ledger) whatever is spoken."""
        with speaking("en"):
            for again in self.decide(case, now, now):
                if (again.kind, again.step, again.key) == (d.kind, d.step, d.key):
                    return again.reason
        return d.reason

    def _when(self, moment: datetime) -> str:
        text = self._whens.get(moment)
        if text is None:
            text = to_iso(moment) if self.zone is None else local_minute(moment, self.zone)
            if len(self._whens) > _MEMO:
                self._whens.clear()
            self._whens[moment] = text
        return text

    def _age(self, delta: timedelta) -> str:
        """``format_duration(delta, human=True)``, once per language and duration."""
        memo = (active(), delta)
        text = self._ages.get(memo)
        if text is None:
            text = self._ages[memo] = format_duration(delta, human=True)
        return text

    def _describe(self, step: Step) -> str:
        """``step.describe()``, once per language and step (the playbook's steps live as long as the planner)."""
        memo = (active(), id(step))
        text = self._describes.get(memo)
        if text is None:
            text = self._describes[memo] = step.describe()
        return text

    # ---- entry and exit ----

    def _held_reason(self) -> str:
        return _("held out (hold-out group {share:.0%}): no action, a control for `unpaid report lift`").format(
            share=self.pb.holdout)

    def _held(self, case: Case, now: datetime) -> Decision:
        """A held-out order gets no step, not even the end: it leaves when paid or cancelled, or finishes
        quietly when the playbook's ``end`` would have come."""
        en, pb = case.enrollment, self.pb
        if pb.end is not None and pb.end_after is not None:
            return self._d(en.entered_at + pb.end_after, case, "finish", self._held_reason(), now)
        return self._d(now, case, "wait", self._held_reason(), now)

    def _exit_reason(self, case: Case) -> str | None:
        o, wanted = case.order, self.pb.segment.statuses
        if o.status in FINISHED and o.status not in wanted:
            return _("order is {status}").format(status=o.status.value)
        if case.paid_twin and Status.PAID not in wanted:
            return _("customer paid twin order {twin} for the same product").format(twin=case.paid_twin)
        return None

    def _entry(self, case: Case, now: datetime, until: datetime, gone: str | None) -> Decision:
        pb, o = self.pb, case.order
        eligible = pb.segment.eligible_at(o)
        if gone:
            return self._d(now, case, "out", _("will not enter: {reason}").format(reason=gone), now)
        reasons = pb.segment.explain(o, max(eligible, now), young=False)
        if reasons:
            return self._d(now, case, "out", _("not in the segment: {reasons}").format(reasons="; ".join(reasons)),
                           now)
        late = now - eligible
        if late > pb.enter_within:
            return self._d(eligible, case, "out", _("eligible since {since}, more than {within} ago: too old to "
                                                    "enter (enter_within)").format(
                since=self._when(eligible), within=self._age(pb.enter_within)), now, stale=True)
        if case.chain_holder and case.chain_holder != o.id:
            return self._d(now, case, "out", _("one chain per customer and product: {order} is already in this "
                                               "playbook").format(order=case.chain_holder), now)
        why = _("matches the segment ({age} after creation)").format(age=self._age(pb.segment.min_age)) \
            if pb.segment.min_age else _("matches the segment")
        return self._d(eligible, case, "enter", why, now)

    # ---- state ----

    def _state(self, case: Case, entered_at: datetime | None = None) -> _State:
        en = case.enrollment
        ledger = case.ledger if en is not None else {}
        # One walk over the entries: when each step was last done, and the last message sent.
        last_done: dict[str, datetime] = {}
        last_msg_at = None
        for e in ledger.values():
            if e.state == DONE:
                at = e.updated_at
                if e.step not in last_done or at > last_done[e.step]:
                    last_done[e.step] = at
                if e.action in ("send", "trigger") and (last_msg_at is None or at > last_msg_at):
                    last_msg_at = at
        open_task = task_closed = None
        if en is not None:
            for t in case.tasks:
                if t.state == "open":
                    open_task = t
                if t.closed_at and (task_closed is None or t.closed_at > task_closed):
                    task_closed = t.closed_at
        offer = case.offer
        entered = en.entered_at if en is not None else entered_at
        booked = self.booked.get(case.order.customer.key or "") if self.booked else None
        gave_up = case.gave_up_at
        st = _new(_State)  # every field, in its order, as _State(...) sets them: one per case of a pass
        st.__dict__.update(
            entered_at=entered, cursor=en.cursor if en else 0, since=(en.cursor_since if en else entered),
            loops=dict(en.loops) if en else {}, paused_until=en.paused_until if en else None,
            open_task=open_task, task_closed=task_closed,
            messages=case.messages, calls=case.dials,
            last_msg_at=last_msg_at,
            offer=offer.percent if offer else 0, offer_until=offer.valid_until if offer else None,
            outcome=case.outcome.outcome if case.outcome else None,
            contacts=sorted(case.contacts + booked) if booked else sorted(case.contacts), ledger=ledger,
            gave_up_at=gave_up if gave_up and entered and gave_up >= entered else None,
            ladder_done={r.step.name for r in self.pb.ladder
                         if (e := ledger.get(ledger_key(case.order.id, self.pb.name, r.step.name, 0))) is not None
                         and e.state in (DONE, SKIPPED)} if ledger else set(),
            last_done=last_done, ended=False)
        return st

    def _apply(self, st: _State, d: Decision) -> None:
        step = self._step(d.step)
        acted = self._act_step(step, d.fallback)
        if self._rung_of(step) is not None:  # a ladder rung: the offer changes, the steps do not move
            st.ladder_done.add(step.name)
            if d.kind == "act":
                st.offer, st.offer_until = step.offer.percent, d.at + step.offer.valid
            return
        if d.kind == "act":
            if acted.action == "send":
                st.messages += 1
                st.last_msg_at = d.at
                if step.capped:
                    st.contacts = sorted(st.contacts + [d.at])
            elif acted.action == "trigger":
                st.messages += 1
                st.last_msg_at = d.at
            elif acted.action == "call":
                st.open_task = "forecast"
            elif acted.action == "offer":
                st.offer, st.offer_until = acted.offer.percent, d.at + acted.offer.valid
            elif acted.action in ("cancel", "status") and acted.status in FINISHED:
                st.ended = True
        if step is self.pb.end:
            st.ended = True
        st.cursor, st.loops = next_position(self.pb, st.cursor, st.loops, step, d.kind == "act")
        if d.kind == "act":  # offsets count from the previous step that was done, not from skipped ones
            st.since = d.at
            st.last_done[step.name] = d.at
        st.ledger = {}

    def _step(self, name: str) -> Step:
        """``pb.end`` when ``name`` is the end's, else ``pb.step(name)``."""
        step = self._steps.get(name)
        return step if step is not None else self.pb.step(name)  # (an unknown name raises as before)

    def _rung_of(self, step: Step):
        """``pb.rung(step)``: the ladder rung ``step`` carries out, or None."""
        return self._rungs.get(id(step))

    @staticmethod
    def _act_step(step: Step, fallback: bool) -> Step:
        return step.fallback if fallback and step.fallback else step

    # ---- the next decision ----

    def _rung(self, st: _State, case: Case, t: datetime, now: datetime, then: Decision) -> Decision | None:
        """The next offer of the ladder when it comes before ``then`` (the steps' next decision), else None.

        A rung switches exactly at its time from entry, whatever step the order is at; one whose successor
        has already started is skipped as superseded, so a late order gets the current offer, not a ladder.
        """
        ladder = self.pb.ladder
        if not ladder or st.ended or then.kind in ("finish", "exit", "out"):
            return None
        for i, rung in enumerate(ladder):
            if rung.step.name in st.ladder_done:
                continue
            starts = st.entered_at + rung.at
            # Waiting (a call, a review) does not hold the offers back: a rung due now goes ahead of the wait.
            if starts > (max(now, t) if then.kind in ("wait", "review") else then.at):
                return None
            if self.pb.end_after is not None and rung.at >= self.pb.end_after:
                return None
            if i + 1 < len(ladder) and st.entered_at + ladder[i + 1].at <= max(t, now):
                key = ledger_key(case.order.id, self.pb.name, rung.step.name, 0)
                return self._d(max(t, starts), case, "skip", _("superseded by {step} ({percent}%), which has "
                                                               "started").format(
                    step=ladder[i + 1].step.name, percent=ladder[i + 1].percent), now, step=rung.step.name,
                    action="offer", key=key)
            return self._action(rung.step, st, case, starts, t, now,
                                _("offer ladder: {age} after entry").format(age=self._age(rung.at))
                                if rung.at else _("offer ladder: at entry"))
        return None

    def _next_step(self, st: _State, case: Case, t: datetime, now: datetime) -> Decision:
        pb = self.pb
        end_at = st.entered_at + pb.end_after if pb.end is not None and pb.end_after is not None else None
        if st.open_task is None and st.cursor >= len(pb.steps):
            if pb.end is not None and st.loops.get(pb.end.name, 0) == 0:
                return self._action(pb.end, st, case, end_at or st.since, t, now, _("the playbook's end"))
            return self._d(st.since, case, "finish", _("all steps done"), now)
        if st.open_task is not None:  # a call the managers work, even after the last step: wait for it
            d = self._waiting(st, case, now)
        else:
            step = pb.steps[st.cursor]
            if step.at is not None:
                base = st.entered_at + step.at
                why = _("{age} after entry").format(age=self._age(step.at))
            elif step.every is not None and step.to in st.last_done:
                base = st.last_done[step.to] + step.every
                why = _("every {period}: {step} last ran {when}").format(
                    period=self._age(step.every), step=step.to, when=self._when(st.last_done[step.to]))
            else:
                base = max(st.since, st.task_closed or st.since) + step.after
                if not st.cursor:
                    why = _("{age} after entry").format(age=self._age(step.after)) if step.after else \
                        _("at entry")
                else:
                    why = _("{age} after the previous step").format(age=self._age(step.after)) \
                        if step.after else _("right after the previous step")
            d = self._action(step, st, case, base, t, now, why)
        # A held action is never hidden by the end: the order waits for the person who must look at it.
        if end_at is not None and d.kind != "review" and (d.kind == "wait" or d.at >= end_at):
            return self._action(pb.end, st, case, end_at, t, now,
                                _("the playbook's end ({age} after entry)").format(
                                    age=self._age(pb.end_after)))
        return d

    def _waiting(self, st: _State, case: Case, now: datetime) -> Decision:
        task = st.open_task
        if task == "forecast":
            return self._d(st.since, case, "wait", _("then waits for the manager's call outcome"), now)
        return self._d(task.due_at, case, "wait", _("waits for the outcome of call task #{task} (due {due})").format(
            task=task.id, due=self._when(task.due_at)), now, step=task.step)

    def _action(self, step: Step, st: _State, case: Case, base: datetime, t: datetime, now: datetime,
                why: str) -> Decision:
        o = case.order
        name = step.name
        n = st.loops.get(name, 0)
        key = f"{o.id}|{self.pb.name}|{name}|{n}"  # ledger_key(o.id, self.pb.name, name, n)
        kw = {"step": name, "action": step.action, "key": key, "repeat": n}
        at, notes = base, [why]
        entry = st.ledger.get(key)
        retry = False
        if entry is not None:
            if entry.state == CLAIMED and entry.lease_until and entry.lease_until > now:
                # A run that died still holds its claim until the lease ends; say when, so nobody waits blindly.
                return self._d(now, case, "wait", _("being done by run {run} (claimed until {until}; if that run "
                                                    "died, it is reviewed then)").format(
                    run=entry.run_id, until=self._when(entry.lease_until)), now, **kw)
            if entry.state in (CLAIMED, UNCERTAIN):
                if not self._safe_to_repeat(step, case):
                    from unpaid.review import resolve_command

                    why = entry.error or _("outcome unknown after an interrupted run")
                    return self._d(entry.updated_at, case, "review",
                                   _("{why}; the channel cannot drop a repeat: check, then `{command}`").format(
                                       why=why, command=resolve_command(key)), now, **kw)
                retry, notes = True, notes + [_("repeating an action whose outcome is unknown (safe: "
                                                "idempotent or the channel drops repeats)")]
            elif entry.state == FAILED:
                if entry.next_try_at is None or entry.next_try_at >= GAVE_UP:
                    from unpaid.review import resolve_command

                    return self._d(entry.updated_at, case, "review",
                                   ngettext("gave up after {n} attempts: {error}; fix the cause, then `{command}` "
                                            "to try again",
                                            "gave up after {n} attempts: {error}; fix the cause, then `{command}` "
                                            "to try again", entry.attempts).format(
                                       n=entry.attempts, error=entry.error,
                                       command=resolve_command(key, "unsent")), now, **kw)
                at = max(at, entry.next_try_at)
                notes.append(_("retry {n} after: {error}").format(n=entry.attempts + 1, error=entry.error))
            elif entry.state in (DONE, SKIPPED):
                said = _("already done; moving on") if entry.state == DONE else _("already skipped; moving on")
                return self._d(now, case, "advance", said, now, **kw)
        if n >= MAX_RUNS_PER_STEP:
            return self._d(at, case, "skip", ngettext("step ran {n} times: loop limit",
                                                      "step ran {n} times: loop limit", n).format(n=n), now, **kw)
        if st.paused_until and at < st.paused_until:
            at = st.paused_until
            notes.append(_("paused until {when}").format(when=self._when(st.paused_until)))
        # Judge the conditions when the action can really happen: a step reached on a quiet Sunday
        # sees Monday's facts ("elapsed >= 3w"), not the ones of the moment it was reached.
        zone = case.order.extra.get("timezone") if case.order.extra else None  # self._zone(case)
        at = self._windowed(step, at, now, zone, notes)
        if step.when:  # the facts are built only for a step that has conditions to judge
            facts = self._facts(st, case, max(at, t))
            failed = [c for c in step.when if not c.holds(facts)]
            if failed:
                return self._d(at, case, "skip", _("condition {conditions} is false").format(
                    conditions=", ".join(c.describe(facts) for c in failed)), now, **kw)
            notes.append(_("when {conditions}").format(conditions=", ".join(c.describe(facts) for c in step.when)))
        done_for = case.chain_done.get(step.name) if step.action in _CHAINED else None
        if done_for is not None:
            return self._d(at, case, "skip", _("already done for this customer and product with order {order} on "
                                               "{when} (one purchase within {window}: same_product_within)").format(
                order=done_for[0], when=self._when(done_for[1]), window=self._age(self.pb.purchase_window)),
                now, **kw)
        if step.action == "call" and st.gave_up_at is not None:
            return self._d(at, case, "skip", _("the desk gave up calling at {when} (the last unanswered call in a "
                                               "row): no more calls in this playbook — a manager can still "
                                               "`unpaid take` the order").format(when=self._when(st.gave_up_at)),
                           now, **kw)
        if step.action == "offer" and not self._reachable_memo(case):
            return self._d(at, case, "skip", _("no message or call of this playbook can reach the customer: an "
                                               "offer nobody hears of is not made"), now, **kw)
        acted, fallback = step, False
        if step.action in ("send", "call"):
            need = self._address_kind(step)
            if not self._address(o, need):
                if step.fallback and self._address(o, self._address_kind(step.fallback)):
                    acted, fallback = step.fallback, True
                    notes.append((_("no phone: falls back to {fallback}") if need == "phone" else
                                  _("no email: falls back to {fallback}")).format(
                        fallback=self._describe(step.fallback)))
                else:
                    if step.fallback:
                        said = (_("customer has no phone (and none for the fallback {fallback})") if need == "phone"
                                else _("customer has no email (and none for the fallback {fallback})")).format(
                            fallback=self._describe(step.fallback))
                    else:
                        said = _("customer has no phone") if need == "phone" else _("customer has no email")
                    return self._d(at, case, "skip", said, now, **kw)
            if acted.action == "send" and case.optout:
                return self._d(at, case, "skip", _("customer opted out of messages"), now, **kw)
        if step.action == "trigger" and case.optout:  # the source's own mailing is a message too
            return self._d(at, case, "skip", _("customer opted out of messages"), now, **kw)
        if acted.action == "call" and case.open_call is not None:
            notes.append(_("the order's call task #{task} is already in the queue (due {due}): waits for that "
                           "one").format(task=case.open_call.id, due=self._when(case.open_call.due_at)))
        if step.action == "offer" and st.offer >= step.offer.percent and st.offer_until and st.offer_until > at:
            return self._d(at, case, "skip", _("an offer of {percent}% is active until {until} (offers only go "
                                               "up)").format(percent=st.offer, until=self._when(st.offer_until)),
                           now, **kw)
        at, more = self._slot(acted, st, case, at, now, step.capped, zone)
        notes += more
        kw.update(action=acted.action, channel=acted.channel)
        return self._d(at, case, "act", _("{action}: {notes}").format(action=self._describe(acted), notes="; ".join(notes)),
                       now, fallback=fallback, retry=retry, **kw)

    def _slot(self, step: Step, st: _State, case: Case, at: datetime, now: datetime,
              capped: bool = True, zone: Any = False) -> tuple[datetime, list[str]]:
        """Defer to the frequency cap (unless the step is outside it) and the send window until both allow it
        (``zone``: the case's, when the caller has it)."""
        pb, notes = self.pb, []
        if zone is False:
            zone = self._zone(case)
        for _round in range(10):
            moved = at
            if step.action == "send" and capped and pb.cap is not None and case.order.customer.key:
                # A step due in the past goes out now: the cap counts the messages before now, not before `at`.
                sent_at = max(at, now)
                recent = [c for c in st.contacts if sent_at - pb.cap.per < c <= sent_at]
                if len(recent) >= pb.cap.messages:
                    at = recent[len(recent) - pb.cap.messages] + pb.cap.per
                    notes.append(ngettext("deferred by the frequency cap ({n} per {per}; last message {when})",
                                          "deferred by the frequency cap ({n} per {per}; last message {when})",
                                          pb.cap.messages).format(
                        n=pb.cap.messages, per=self._age(pb.cap.per), when=self._when(recent[-1])))
            at = self._windowed(step, at, now, zone, notes)
            if at == moved:
                break
        return at, notes

    def _windowed(self, step: Step, at: datetime, now: datetime, zone: str | None, notes: list[str]) -> datetime:
        """``at``, or the next slot of the send window when the step waits for it (noted in ``notes``)."""
        if step.action not in WINDOWED_ACTIONS or not step.windowed or self.pb.window.always:
            return at
        happens = max(at, now)  # an overdue step goes out now: now must be inside the window
        slot = self._slots.get((happens, zone))
        if slot is None:
            if len(self._slots) > _MEMO:
                self._slots.clear()
            slot = self._slots[(happens, zone)] = self.pb.window.next_slot(happens, zone)
        if slot == happens:
            return at
        notes.append(_("deferred to the send window {window}").format(window=self.pb.window.describe(zone)))
        return slot

    @staticmethod
    def _zone(case: Case) -> str | None:
        return case.order.extra.get("timezone") if case.order.extra else None

    def _safe_to_repeat(self, step: Step, case: Case) -> bool:
        if step.action in IDEMPOTENT_ACTIONS:
            return True
        channels = [s.channel for s in (step, step.fallback) if s is not None and s.action == "send"]
        return all(self.channels[c].dedupes for c in channels if c in self.channels) and bool(channels)

    def _reachable_memo(self, case: Case) -> bool:
        """:meth:`_reachable` of the case, asked once per case (an offer ladder asks at every rung)."""
        if self._reach is None or self._reach[0] is not case:
            self._reach = (case, self._reachable(case))
        return self._reach[1]

    def _reachable(self, case: Case) -> bool:
        """Whether any message or call of this playbook can reach the customer (an address, not opted out)."""
        steps = self._contact_steps
        if steps is None:  # the playbook's, with their fallbacks: the same for every order
            steps = self._contact_steps = [x for s in (*self.pb.steps, *((self.pb.end,) if self.pb.end else ()))
                                           for x in (s, s.fallback) if x is not None]
        for s in steps:
            if s.action == "call" and case.order.customer.phone:
                return True
            if s.action == "send" and not case.optout and self._address(case.order, self._address_kind(s)):
                return True
            if s.action == "trigger" and not case.optout:
                return True
        # A playbook with no contact step makes offers a plugin or the shop passes on: nothing to judge.
        return not any(s.action in ("send", "call", "trigger") for s in steps)

    def _address_kind(self, step: Step) -> str:
        if step.action == "call":
            return "phone"
        info = self.channels.get(step.channel)
        return info.address if info else "email"

    @staticmethod
    def _address(order: Order, kind: str) -> str | None:
        return order.customer.phone if kind == "phone" else order.customer.email

    def _attempts(self, st: _State) -> int:
        """``attempts`` as the playbook's ``count`` says: dials, messages, or both (docs/cases.md)."""
        return {"calls": st.calls, "messages": st.messages}.get(self.pb.count, st.calls + st.messages)

    def _facts(self, st: _State, case: Case, at: datetime) -> Facts:
        o = case.order
        since = st.last_msg_at
        seen = {k for k, when in case.events if since is not None and when >= since}
        offer = st.offer if st.offer_until and st.offer_until > at else 0
        return Facts(
            values={"opened": "open" in seen, "clicked": "click" in seen, "messages": st.messages,
                    "calls": st.calls, "attempts": self._attempts(st),
                    "last_outcome": st.outcome or "none", "elapsed": at - st.entered_at, "offer": offer},
            order={"status": o.status.value, "native_status": o.native_status, "source": o.source,
                   "product": o.product_key, "manager": o.manager, "number": o.number,
                   "total": o.total.minor / 100, "has_email": bool(o.customer.email),
                   "has_phone": bool(o.customer.phone)},
            extra=o.extra or {})

    def _d(self, at: datetime, case: Case, kind: str, reason: str, now: datetime, **kw: Any) -> Decision:
        # Built as Decision(...) would build it (every field, in its order), without the frozen class's
        # checked assignment of each field: a hundred thousand decisions a pass at a million orders.
        d = _new(Decision)
        _setattr(d, "__dict__", {"at": at, "order_id": case.order.id, "playbook": self.pb.name, "kind": kind, "reason": reason,
                                  **_DEFAULTS, **kw, "due": at <= now})
        return d


_new = object.__new__
_setattr = object.__setattr__
#: Decision's fields after ``reason``, with their defaults, in their order.
_DEFAULTS = {f.name: f.default for f in fields(Decision)[5:]}
if set(_DEFAULTS) != {"step", "action", "key", "repeat", "due", "fallback", "retry", "channel", "stale"}:
    raise AssertionError("Decision's fields changed: update Planner._d")


#: Steps a customer must not get twice for one purchase (see ``same_product_within``).
_CHAINED = frozenset({"send", "trigger", "call", "offer"})


def backoff(attempts: int) -> timedelta:
    """Wait before retry ``attempts`` + 1: 1 min, 5 min, 30 min, 2 h, then 6 h."""
    steps = (60, 300, 1800, 7200, 21600)
    return timedelta(seconds=steps[min(max(attempts, 1), len(steps)) - 1])
