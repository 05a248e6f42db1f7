"""The runner: for each due decision, claim it in the ledger -> re-check the order at its source -> act -> record.

The re-check is batched: before acting, a run reads the orders it is about to act on from each source that
reads many as cheaply as one (a file) in one :meth:`~unpaid.connector.Connector.fetch_many`, after the run
started, so a copy from before the run is never acted on and a file is not scanned once per action.

Exactly once, cron-safe: the claim is one atomic statement, so two runs never do the same action; the
result is written with the enrollment's move in one transaction, so a run killed at any point leaves
either a claim (outcome unknown: retried when safe, else reported) or a finished action, never a gap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from unpaid import signals
from unpaid.channel import ChannelError, ChannelUnavailable, Delivery, Message
from unpaid.clock import Clock, format_duration, to_iso
from unpaid.connector import AuthFailed, Capability, Connector, ConnectorError, NotFound, RateLimited, Temporary
from unpaid.errors import ExitCode, UnpaidError
from unpaid.i18n import N_, _, ngettext
from unpaid.model import FINISHED, Order, Status
from unpaid.playbook.cases import candidate_chunks, load_cases
from unpaid.playbook.model import IDEMPOTENT_ACTIONS
from unpaid.playbook.planner import ACTING, GAVE_UP, Case, Decision, Planner, backoff, next_position
from unpaid.store.contacts import Contacts
from unpaid.store.enrollments import EXITED, FINISHED as ENDED, Enrollments
from unpaid.store.history import Entry
from unpaid.store.ledger import DONE, FAILED, SKIPPED, UNCERTAIN
from unpaid.store.offers import Offers
from unpaid.store.optouts import OptOuts
from unpaid.store.tasks import Tasks

if TYPE_CHECKING:
    from unpaid.config import Config
    from unpaid.playbook.load import Library
    from unpaid.playbook.model import Playbook, Step
    from unpaid.plugins import Plugins
    from unpaid.store import Store

DEFAULT_LEASE = timedelta(minutes=15)
#: How long an action waits when its source could not be read: as long as it has waited so far, within these.
DEFER_MIN, DEFER_MAX = timedelta(minutes=1), timedelta(hours=2)
MAX_ATTEMPTS = 5
_PER_CASE = 60
class _Said(str):
    """English text for the store (history, the ledger), with ``shown``: the same in the active language for the
    run's rows."""

    shown: str

    def __new__(cls, english: str, shown: str) -> "_Said":
        made = super().__new__(cls, english)
        made.shown = shown
        return made


def _say(message: str, **fields: Any) -> _Said:
    """``message`` (marked with ``N_``) filled in: English for the store, the active language for people."""
    return _Said(message.format(**fields), _(message).format(**fields))


def _shown(text: str) -> str:
    return getattr(text, "shown", text)


_HISTORY_KIND = {"send": "message", "trigger": "message", "offer": "offer", "status": "status",
                 "cancel": "status", "call": "task"}


class _Lost(Exception):
    """Another run got there first: roll back and move on."""


class _Capped(_Lost):
    """The customer's frequency cap is full: the action waits for a later run."""


@dataclass
class RunReport:
    """What one run did: a row per decision carried out, and the counts the exit code comes from.

    ``result`` is one of :data:`unpaid.playbook.summary.ACTION_RESULTS` (an action that was due),
    :data:`~unpaid.playbook.summary.ORDER_RESULTS` (an order entering or leaving a playbook) or ``other_run``
    (another run got there first: not this run's work, so not counted as due here).
    """

    run_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: Of the ``review`` rows, those held by an earlier run: reported again, but not this run's failure.
    held_before: int = 0
    #: Deferred actions that failed this time (a retry is due later), as opposed to waiting for the cap.
    retrying: int = 0
    #: Channels and sources this run stopped using: "channel NAME" / "source NAME" -> the error.
    stopped: dict[str, UnpaidError] = field(default_factory=dict)

    def add(self, d: Decision, result: str, detail: str = "", done_at: datetime | None = None) -> None:
        self.counts[result] = self.counts.get(result, 0) + 1
        self.rows.append({"at": to_iso(d.at), "done_at": to_iso(done_at), "order_id": d.order_id,
                          "playbook": d.playbook, "step": d.step, "action": d.action or d.kind, "result": result,
                          "detail": _shown(detail) or d.reason, "key": d.key})

    @property
    def failed(self) -> int:
        """Actions this run failed, will retry after an error, or held for review: the run exits 1.

        Items held by an earlier run are listed again, but are not this run's failure."""
        return self.counts.get("failed", 0) + self.counts.get("review", 0) + self.retrying - self.held_before

    @property
    def exit_code(self) -> int:
        """3 (or 2) when a channel or source could not be used, else 1 when an action failed, else 0."""
        worst = max((int(e.exit_code) for e in self.stopped.values()), default=ExitCode.OK)
        return worst or (ExitCode.FAILED if self.failed else ExitCode.OK)


class Runner:
    """Carries out what the planner says is due; one instance per run."""

    def __init__(self, store: "Store", config: "Config", library: "Library", plugins: "Plugins", clock: Clock,
                 *, lease: timedelta = DEFAULT_LEASE, max_attempts: int = MAX_ATTEMPTS,
                 progress: Callable[[str], None] | None = None):
        self.store, self.config, self.lib, self.plugins, self.clock = store, config, library, plugins, clock
        self.lease, self.max_attempts = lease, max_attempts
        self.run_id = uuid.uuid4().hex[:12]
        self.report = RunReport(self.run_id)
        self.progress = progress or (lambda _msg: None)
        self.enrollments, self.tasks, self.offers = Enrollments(store), Tasks(store), Offers(store)
        self.contacts = Contacts(store)
        self._connectors: dict[str, Any] = {}
        self._channels: dict[str, Any] = {}
        self.optouts = optout_addresses(config, store)
        self.expired: set[str] = set()
        self._started: datetime | None = None  # what a run read from a source itself counts as fresh until it ends
        #: Fresh answers read in one batch per source before acting (order id -> order or error): see _prefetch.
        self._prefetched: dict[str, Order | ConnectorError] = {}
        self._read: set[str] = set()  # orders read fresh in this run: their stored copy is as fresh until it ends
        self._review_channels: Any = None  # unpaid.review.Channels, for the Message-IDs of held actions

    # ---- the loop ----

    def run(self, names: list[str] | None = None) -> RunReport:
        now = self._started = self.clock.now()
        self.expired = set(self.store.ledger.expire_leases(now))
        for key in sorted(self.expired):
            self.progress(_("claim expired, outcome unknown: {key}").format(key=key))
            entry = self.store.ledger.get(key)
            if entry is not None:  # the order's story says why it stopped at this step
                self.store.history.add(Entry(entry.order_id, now, f"playbook:{entry.playbook}", "review",
                                             f"Outcome of step {entry.step} unknown: run {entry.run_id} ended "
                                             "without recording it", {"key": key}))
        playbooks = [pb for pb in self.lib.playbooks.values() if pb.enabled and (not names or pb.name in names)]
        from unpaid.preflight import require

        require(self.config, channels_of(playbooks), self.plugins, self.progress)  # before the first claim
        # A stop signal lets the action under way finish and record its outcome (no claim left held for its
        # lease), then stops before the next one: see unpaid.signals.
        try:
            with signals.graceful():
                from unpaid.playbook.events import sync_events

                sync_events(self, playbooks, now)
                self._prefetch(playbooks, now)
                for pb in playbooks:
                    self._run_playbook(pb, now)
        finally:
            self.close()
        return self.report

    def _run_playbook(self, pb: "Playbook", now: datetime) -> None:
        from unpaid.clock import get_zone

        planner = Planner(pb, self.lib.channels, get_zone(self.config.timezone))
        ids = [i for chunk in candidate_chunks(self.store, pb, now) for i in chunk]
        for start in range(0, len(ids), 500):
            self._work(pb, planner, self._cases(pb, ids[start : start + 500], now), now)

    def _work(self, pb: "Playbook", planner: Planner, cases: list[Case], now: datetime) -> None:
        """Carry out, for each case, its due decisions one after another, each decided on the case as the store
        holds it after the one before.

        Cases of customers alone in ``cases`` go in rounds: one decision each, then the cases that may have more
        are loaded again together (a dozen queries for all of them, not a dozen per action). Nothing of one
        customer's case depends on another customer's orders. Cases of a customer with several orders here (a
        chain, a frequency cap, a paid twin) go one case at a time, as each needs the others' last actions. The
        run's rows are listed case by case either way.
        """
        mark = len(self.report.rows)
        customers: dict[str | None, int] = {}
        for case in cases:
            customers[case.order.customer.key] = customers.get(case.order.customer.key, 0) + 1
        alone = [c for c in cases if c.order.customer.key is not None and customers[c.order.customer.key] == 1]
        try:
            for _round in range(_PER_CASE):
                more = [case.order.id for case in alone if self._decide(pb, planner, case, now)]
                if not more:
                    break
                alone = self._cases(pb, more, now)
            for case in cases:
                if case.order.customer.key is None or customers[case.order.customer.key] > 1:
                    for _round in range(_PER_CASE):
                        if not self._decide(pb, planner, case, now):
                            break
                        fresh = self._cases(pb, [case.order.id], now)
                        if not fresh:
                            break
                        case = fresh[0]
        finally:  # the rows in the order of the cases, each case's in the order they happened
            self.store.flush()
            place = {case.order.id: i for i, case in enumerate(cases)}
            self.report.rows[mark:] = sorted(self.report.rows[mark:], key=lambda r: place.get(r["order_id"], len(place)))

    def _decide(self, pb: "Playbook", planner: Planner, case: Case, now: datetime) -> bool:
        """Carry out the case's first decision when it is due; True when the case may have more due right away."""
        signals.check()
        d = planner.first(case, now)
        if d is not None and d.kind == "review":  # held for a human: reported on every run
            self._report_held(d)
        return d is not None and d.due and d.kind in ACTING and self.execute(pb, planner, case, d, now)

    def _prefetch(self, playbooks: "list[Playbook]", now: datetime) -> None:
        """Read fresh, in one batch per source, the orders whose first decision is due now.

        Only for sources that read many orders as cheaply as one (they override ``fetch_many``; an export-API
        source is refreshed by one sync in :meth:`_recheck` already): per order, a file would be scanned once
        per action. An order not read here (one that becomes due during the run) is read on its own as before.
        """
        from unpaid.freshness import stale

        wide = any(not pb.segment.sources for pb in playbooks)
        batched: dict[str, Any] = {}
        for source in self.config.sources:
            if not wide and not any(source in pb.segment.sources for pb in playbooks):
                continue
            try:
                connector = self._connector(source)
            except UnpaidError:  # reported, as before, by the action that needs it
                continue
            if connector is not None and Capability.FETCH_ONE in connector.spec.capabilities \
                    and not getattr(connector, "refresh_by_sync", False) \
                    and type(connector).fetch_many is not Connector.fetch_many:
                batched[source] = connector
        if not batched:
            return
        due: dict[str, dict[str, Order]] = {}
        for pb in playbooks:
            if pb.segment.sources and not set(pb.segment.sources) & set(batched):
                continue
            planner = Planner(pb, self.lib.channels)
            ids = [i for chunk in candidate_chunks(self.store, pb, now) for i in chunk]
            for start in range(0, len(ids), 500):
                for case in self._cases(pb, ids[start : start + 500], now):
                    if case.order.source not in batched:
                        continue
                    d = planner.first(case, now)
                    if d is not None and d.due and d.kind in ("enter", "act", "skip", "advance"):
                        due.setdefault(case.order.source, {})[case.order.id] = case.order
        for source, orders in due.items():
            connector = batched[source]
            wanted = stale(self.store, connector, list(orders.values()), now, since=self._started)
            if not wanted:
                continue
            self.progress(ngettext("reading {n} order fresh from {source}", "reading {n} orders fresh from {source}",
                                   len(wanted)).format(n=len(wanted), source=source))
            try:
                answers = connector.fetch_many([o.native_id for o in wanted])
            except ConnectorError:  # the source as a whole failed: each action reads it again and reports it
                continue
            for order in wanted:
                if order.native_id in answers:
                    self._prefetched[order.id] = answers[order.native_id]

    def _cases(self, pb: "Playbook", ids: list[str], now: datetime) -> list[Case]:
        since = now - (pb.cap.per if pb.cap else timedelta(days=1))
        return load_cases(self.store, pb, ids, now, self.optouts, since, self.config.default_country)

    # ---- one decision ----

    def execute(self, pb: "Playbook", planner: Planner, case: Case, d: Decision, now: datetime) -> bool:
        """Carry out one decision; True when the case may have more due right away."""
        en = case.enrollment
        # Enrolling, closing, advancing and skipping touch nobody outside the store: they commit together
        # (Store.grouped); any send's claim commits them first.
        if d.kind == "enter":
            with self.store.grouped():  # one write: a held-out order is never enrolled without the mark
                won = self.enrollments.enter(d.order_id, pb.name, case.chain_key, d.at, self.clock.now())
                if won and pb.holds_out(d.order_id):  # the control group of `report lift`: never touched
                    self._log(pb, d.order_id, self.clock.now(), "playbook",
                              f"Held out of playbook {pb.name} (hold-out group {pb.holdout:.0%}): no action",
                              {"holdout": True})
            self.report.add(d, "entered" if won else "other_run", done_at=self.clock.now())
            return won
        if d.kind in ("exit", "finish"):
            stamp, reason = self.clock.now(), planner.english(case, d, now)
            with self.store.grouped():
                closed = self.enrollments.close(d.order_id, pb.name, EXITED if d.kind == "exit" else ENDED,
                                                reason, stamp)
                self.tasks.cancel_open(d.order_id, pb.name, stamp)
                if closed:
                    self._log(pb, d.order_id, stamp, "playbook",
                              f"{'Left' if d.kind == 'exit' else 'Finished'} playbook {pb.name}: {reason}")
            # Counted only when this run closed it: another run (or an earlier one) may have got there first.
            self.report.add(d, ("exited" if d.kind == "exit" else "finished") if closed else "other_run",
                            done_at=stamp)
            return False
        step = planner._step(d.step)
        if d.kind == "advance":
            return self._advance_only(pb, case, step, d)
        if d.kind == "skip":
            return self._skip(pb, case, step, d, planner.english(case, d, now))
        return self._act(pb, case, step, d, en)

    def _advance_only(self, pb: "Playbook", case: Case, step: "Step", d: Decision) -> bool:
        en = case.enrollment
        entry = self.store.ledger.get(d.key)
        cursor, loops = next_position(pb, en.cursor, en.loops, step, entry is not None and entry.state == DONE)
        with self.store.grouped():
            moved = self.enrollments.advance(d.order_id, pb.name, en.seq, cursor, self.clock.now(), loops,
                                             self.clock.now())
        self.report.add(d, "advanced" if moved else "other_run", done_at=self.clock.now())
        return moved

    def _skip(self, pb: "Playbook", case: Case, step: "Step", d: Decision, reason: str) -> bool:
        en, stamp = case.enrollment, self.clock.now()
        try:
            with self.store.grouped():
                if not self.store.ledger.record(d.key, order_id=d.order_id, playbook=pb.name, step=step.name,
                                                repeat=d.repeat, action=step.action, state=SKIPPED, now=stamp,
                                                due_at=d.at, error=reason):
                    raise _Lost
                if pb.rung(step) is None:  # a skipped ladder rung leaves the steps where they are
                    self._move(pb, en, step, en.cursor_since, stamp, done=False)
        except _Lost:
            self.report.add(d, "other_run", done_at=stamp)
            return False
        self.report.add(d, "skipped", done_at=stamp)
        return True

    def _move(self, pb: "Playbook", en: Any, step: "Step", since: datetime, stamp: datetime,
              closing: str | None = None, done: bool = True) -> None:
        cursor, loops = next_position(pb, en.cursor, en.loops, step, done)
        if not self.enrollments.advance(en.order_id, pb.name, en.seq, cursor, since, loops, stamp):
            raise _Lost
        if closing or (pb.end is not None and step is pb.end):
            reason = closing or f"ended by {step.name}"
            self.enrollments.close(en.order_id, pb.name, ENDED, reason, stamp)
            self.tasks.cancel_open(en.order_id, pb.name, stamp)
            self._log(pb, en.order_id, stamp, "playbook", f"Finished playbook {pb.name}: {reason}")

    def _act(self, pb: "Playbook", case: Case, step: "Step", d: Decision, en: Any) -> bool:
        acted = step.fallback if d.fallback and step.fallback else step
        order = case.order
        blocked = self._blocked(acted, order)
        if blocked is not None:  # its channel or source failed earlier in this run: not even claimed
            self.report.add(d, "deferred", _("not tried: {why}").format(why=blocked))
            return False
        stamp = self.clock.now()
        # A copy read fresh in this run's batch (see _prefetch) is stored with the claim: one commit, not two.
        from unpaid.freshness import stale

        early = self._prefetched.get(order.id) if acted.action != "goto" and order.id not in self._read else None
        try:
            with self.store.transaction():
                capped = acted.action == "send" and step.capped and pb.cap is not None and order.customer.key
                if capped:
                    sent = self.contacts.since(order.customer.key, stamp - pb.cap.per, exclude_key=d.key)
                    if len(sent) >= pb.cap.messages:
                        raise _Capped
                if not self.store.ledger.claim(d.key, order_id=order.id, playbook=pb.name, step=step.name,
                                               repeat=d.repeat, action=acted.action, due_at=d.at,
                                               run_id=self.run_id, now=stamp, lease_until=stamp + self.lease,
                                               retry_uncertain=d.retry,
                                               result={"channel": acted.channel} if acted.channel else None):
                    raise _Lost
                if capped:  # a transactional message (cap = false) neither waits for the cap nor uses it up
                    self.contacts.reserve(d.key, order.customer.key, order.id, stamp)
                if isinstance(early, Order) and stale(self.store, self._connector(order.source), [order], stamp,
                                                      since=self._started):  # else a sync stored a later copy
                    self.store.orders.upsert([early], stamp)
                else:
                    early = None
            if early is not None:
                del self._prefetched[order.id]
                self._read.add(order.id)  # _recheck takes the stored copy
        except _Capped:
            self.report.add(d, "deferred", ngettext(
                "the customer's frequency cap ({n} per {per}) is full: a later run sends it",
                "the customer's frequency cap ({n} per {per}) is full: a later run sends it", pb.cap.messages).format(
                n=pb.cap.messages, per=format_duration(pb.cap.per, human=True)), stamp)
            return False
        except _Lost:
            self.report.add(d, "other_run", _("claimed by another run"), stamp)
            return False
        try:  # a goto touches nobody; everything else is checked against the source first
            fresh = order if acted.action == "goto" else self._recheck(order, pb.segment.statuses)
        except (Temporary, RateLimited, AuthFailed) as exc:  # the source, not this order: try again later
            return self._source_down(d, order.source, exc)
        except ConnectorError as exc:
            return self._failed(pb, d, acted, exc, exc.retryable)
        if isinstance(fresh, str):
            return self._gone(pb, case, step, d, fresh)
        try:
            result, summary = self._perform(pb, case, fresh, step, acted, d)
        except ChannelUnavailable as exc:  # nothing was sent, and nothing can be through this channel now
            return self._channel_down(d, acted.channel or "", exc)
        except ChannelError as exc:
            if exc.outcome is Delivery.UNKNOWN:
                return self._unknown(pb, d, acted, exc)
            return self._failed(pb, d, acted, exc, exc.retryable)
        except ConnectorError as exc:
            return self._failed(pb, d, acted, exc, exc.retryable)
        except UnpaidError as exc:
            return self._failed(pb, d, acted, exc, False)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the run for every other order
            return self._unknown(pb, d, acted, exc, _say(N_("unexpected {kind} in the channel or connector: {error}"),
                                                         kind=type(exc).__name__, error=exc))
        done = self.clock.now()
        closing = None
        if acted.action in ("cancel", "status") and acted.status in FINISHED:
            closing = f"{acted.status.value} by step {step.name}" + (f": {acted.reason}" if acted.reason else "")
        try:
            with self.store.transaction():
                if not self.store.ledger.finish(d.key, self.run_id, DONE, done, result=result):
                    raise _Lost
                if summary and acted.action in _HISTORY_KIND:
                    self.store.history.add(Entry(order.id, done, f"playbook:{pb.name}", _HISTORY_KIND[acted.action],
                                                 summary, {"step": step.name, "key": d.key, **result}))
                if pb.rung(step) is None:  # a ladder rung changes the offer, not the order's place in the steps
                    self._move(pb, en, step, done, done, closing)
        except _Lost:
            self.report.add(d, "other_run", _("the claim expired before the result was written"), done)
            return False
        self.report.add(d, "done", summary or d.reason, done)
        return True

    def _recheck(self, order: Order, wanted: frozenset) -> Order | str:
        """The order fresh from its source (stored too), or the reason it must not be touched any more.

        A copy read in this run, or younger than the source's ``fresh_within``, is not read again
        (:mod:`unpaid.freshness`): a source whose reads are dear is refreshed once per run, not per action.
        """
        from unpaid.freshness import refresh, stale

        connector = self._connector(order.source)
        if connector is None or Capability.FETCH_ONE not in connector.spec.capabilities:
            return order
        now = self.clock.now()
        if order.id in self._read or not stale(self.store, connector, [order], now, since=self._started):
            fresh = self.store.orders.get(order.id) or order
        else:
            early = self._prefetched.pop(order.id, None)  # read in this run, after it started: see _prefetch
            answers, stored = ({order.native_id: early}, False) if early is not None else \
                refresh(self.store, connector, [order], now)
            # No answer for the order is not an answer that it is gone: only the source's own "not found" is.
            fresh = answers.get(order.native_id) or Temporary(
                order.source, _("the source gave no answer for {order}").format(order=order.id),
                _("it is read again at the next run"))
            if isinstance(fresh, NotFound):
                with self.store.transaction():  # the source said so: kept out of work, and shown as missing
                    if self.store.orders.mark_missing(order.id, now):
                        self.store.history.add(Entry(order.id, now, "run", "missing",
                                                     f"no longer found at the source: {fresh}", None))
                        self.tasks.cancel_open(order.id, None, now)  # nobody calls about an order the shop lost
                return _say(N_("the order no longer exists at the source"))
            if isinstance(fresh, ConnectorError):
                raise fresh
            if not stored:
                with self.store.transaction():
                    self.store.orders.upsert([fresh], now)
            self._read.add(order.id)
        if fresh.status in FINISHED and fresh.status not in wanted:
            return _say(N_("order is {status} at the source by now"), status=fresh.status.value)
        return fresh

    def _gone(self, pb: "Playbook", case: Case, step: "Step", d: Decision, reason: str) -> bool:
        stamp = self.clock.now()
        with self.store.transaction():
            self.store.ledger.finish(d.key, self.run_id, SKIPPED, stamp, error=reason)
            self.contacts.release(d.key)
            self.enrollments.close(d.order_id, pb.name, EXITED, reason, stamp)
            self.tasks.cancel_open(d.order_id, pb.name, stamp)
            self._log(pb, d.order_id, stamp, "playbook", f"Left playbook {pb.name} before step {step.name}: {reason}")
        self.report.add(d, "skipped", reason, stamp)
        return False

    def _blocked(self, acted: "Step", order: Order) -> str | None:
        """Why this action cannot be tried in this run (its channel or source stopped), or None."""
        if acted.action == "send" and f"channel {acted.channel}" in self.report.stopped:
            return _("channel {channel} cannot send in this run").format(channel=acted.channel)
        if acted.action != "goto" and f"source {order.source}" in self.report.stopped:
            return _("source {source} cannot be read in this run").format(source=order.source)
        return None

    def _channel_down(self, d: Decision, channel: str, exc: ChannelUnavailable) -> bool:
        """Put the claim back as due, count no attempt, and send nothing more through ``channel`` in this run."""
        self._release(d, str(exc), None)
        self.report.stopped.setdefault(f"channel {channel}", exc)
        self.report.add(d, "deferred", _("not sent: {error}").format(error=exc))
        return False

    def _source_down(self, d: Decision, source: str, exc: ConnectorError) -> bool:
        """Defer the action with backoff: the source, not the order, failed. No attempt is counted, so an outage
        never gives an action up; the rest of the source's actions wait for a later run."""
        stamp = self.clock.now()
        entry = self.store.ledger.get(d.key)
        waited = stamp - entry.created_at if entry is not None else timedelta(0)
        wait = min(max(waited, DEFER_MIN), DEFER_MAX)  # as long again as it waited so far: doubling
        if isinstance(exc, RateLimited) and exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        self._release(d, f"deferred, source unreachable: {exc}", stamp + wait)
        self.report.stopped.setdefault(f"source {source}", exc)
        self.report.add(d, "deferred", _("{error} (retry at {when})").format(error=exc, when=self._local(stamp + wait)))
        return False

    def _release(self, d: Decision, error: str, next_try: datetime | None) -> None:
        with self.store.transaction():
            self.store.ledger.release(d.key, self.run_id, self.clock.now(), error=error, next_try_at=next_try)
            self.contacts.release(d.key)

    def _failed(self, pb: "Playbook", d: Decision, acted: "Step", exc: Exception, retryable: bool,
                error: str | None = None) -> bool:
        error = error or str(exc)
        stamp = self.clock.now()
        entry = self.store.ledger.get(d.key)
        attempts = entry.attempts if entry else 1
        give_up = not retryable or attempts >= self.max_attempts
        next_try = GAVE_UP if give_up else stamp + backoff(attempts)
        with self.store.transaction():
            self.store.ledger.finish(d.key, self.run_id, FAILED, stamp, error=error, next_try_at=next_try)
            self.contacts.release(d.key)
            if give_up:
                self._log(pb, d.order_id, stamp, "review", f"Held for review: step {d.step} gave up after "
                          f"{attempts} attempt{'' if attempts == 1 else 's'}: {error}", {"key": d.key})  # history: English
        self.report.retrying += 0 if give_up else 1
        self.report.add(d, "failed" if give_up else "deferred", _shown(error) if give_up else
                        _("{error} (retry at {when})").format(error=_shown(error), when=self._local(next_try)), stamp)
        return False

    def _unknown(self, pb: "Playbook", d: Decision, acted: "Step", exc: Exception, why: str | None = None) -> bool:
        """The action may or may not have happened. Repeated later when that is harmless (an idempotent action,
        a channel that drops repeats by key); otherwise held for a person."""
        from unpaid.review import resolve_command

        why = why or str(exc)
        info = self.lib.channels.get(acted.channel or "")
        if acted.action in IDEMPOTENT_ACTIONS or (info is not None and info.dedupes):
            said = N_("{why}; outcome unknown, so it is repeated with the same key, which the receiver drops if it "
                      "has it")
            return self._failed(pb, d, acted, exc, True, _Said(said.format(why=why), _(said).format(why=_shown(why))))
        stamp = self.clock.now()
        channel = self._channels.get(acted.channel) if acted.channel else None
        mid = channel.message_id(d.key) if channel is not None else None
        with self.store.transaction():  # the cap reservation stays: the message may have gone out
            self.store.ledger.finish(d.key, self.run_id, UNCERTAIN, stamp, error=why,
                                     result={"message_id": mid, "channel": acted.channel} if mid else None)
            self._log(pb, d.order_id, stamp, "review", f"Held for review: step {d.step}, outcome unknown: {why}",
                      {"key": d.key, "message_id": mid})
        said = _("{why}; outcome unknown, Message-ID {mid}: check, then `{command}`") if mid else \
            _("{why}; outcome unknown: check, then `{command}`")
        self.report.add(d, "review", said.format(why=_shown(why), mid=mid, command=resolve_command(d.key)))
        return False

    def _report_held(self, d: Decision) -> None:
        """A ``review`` decision: an action held for a person, reported (with its Message-ID) on every run."""
        from unpaid.review import Channels, message_id

        if self._review_channels is None:
            self._review_channels = Channels(self.config, self.plugins)
        entry = self.store.ledger.get(d.key) if d.key else None
        mid = message_id(entry, self._review_channels) if entry is not None else None
        self.report.add(d, "review", d.reason + (f" (Message-ID {mid})" if mid else ""))
        if d.key not in self.expired:
            self.report.held_before += 1

    def _log(self, pb: "Playbook", order_id: str, stamp: datetime, kind: str, summary: str,
             data: dict[str, Any] | None = None) -> None:
        self.store.history.add(Entry(order_id, stamp, f"playbook:{pb.name}", kind, summary, data))

    # ---- effects ----

    def _perform(self, pb: "Playbook", case: Case, order: Order, step: "Step", acted: "Step",
                 d: Decision) -> tuple[dict[str, Any], str]:
        from unpaid.i18n import resolve as resolve_language
        from unpaid.templates import context, reader_zone

        now = self.clock.now()
        actor_offer = self.offers.active(order.id, now)
        source = self.config.sources.get(order.source)
        ctx = context(order, actor_offer, pb.name, step.name, now,
                      reader_zone(order, pb.window.timezone, self.config.timezone),
                      name_order=source.name_order if source else "auto",
                      language=pb.language or resolve_language(self.config.language))
        templates = self.lib.templates_for(pb)
        if acted.action == "send":
            info = self.lib.channels[acted.channel]
            to = order.customer.phone if info.address == "phone" else order.customer.email
            rendered = templates.render(acted.template, ctx)
            msg = Message(order_id=order.id, to=to, subject=rendered.subject, body=rendered.body,
                          idempotency_key=d.key, html=rendered.html,
                          data={"playbook": pb.name, "step": step.name, "template": acted.template})
            receipt = self._channel(acted.channel).send(msg)
            return ({"channel": acted.channel, "to": to, "subject": rendered.subject,
                     "message_id": receipt.message_id},
                    _say(N_("Sent {template!r} to {to} via {channel}"), template=acted.template, to=to,
                         channel=acted.channel))
        if acted.action == "trigger":
            connector = self._connector(order.source, required=True)
            connector.trigger(order.native_id, acted.trigger, dict(acted.params))
            return {"trigger": acted.trigger, "params": dict(acted.params)}, \
                (_say(N_("Started the source's {trigger} {params}"), trigger=acted.trigger, params=dict(acted.params))
                 if acted.params else _say(N_("Started the source's {trigger}"), trigger=acted.trigger))
        if acted.action == "offer":
            rung = pb.rung(step)
            # A ladder's rung holds until the next one starts (or the end), counted from entry: exact, not
            # from the moment this run got to it.
            until = case.enrollment.entered_at + rung.until if rung is not None else now + acted.offer.valid
            offer, new = self.offers.make(d.key, order_id=order.id, playbook=pb.name, step=step.name,
                                          kind=acted.offer.kind, percent=acted.offer.percent,
                                          valid_until=until, now=now)
            return ({"percent": offer.percent, "kind": offer.kind, "valid_until": to_iso(offer.valid_until),
                     "new": new}, _say(N_("Offered {percent}% {kind} until {until}"), percent=offer.percent,
                                       kind=offer.kind, until=self._local(offer.valid_until)))
        if acted.action in ("status", "cancel"):
            reason = acted.reason
            if acted.action == "cancel" and case.outcome is not None and case.outcome.data.get("reason"):
                reason = f"{reason}: {case.outcome.data['reason']}"  # the reason the manager heard on the call
            return self._set_status(order, acted.status, reason)
        if acted.action == "call":
            script = templates.render(acted.template, ctx).body if acted.template else \
                templates.render_string(acted.script or "", ctx, f"{acted.where}.script")
            with self.store.transaction():
                # One order, one call: a call already in the queue (the desk's follow-up after a promise)
                # is the one this step waits for; a second task would be a second story.
                existing = self.tasks.open_for_order(order.id)
                if existing is not None and existing.key != d.key and self.tasks.adopt(existing.id, pb.name, step.name):
                    return ({"task_id": existing.id, "adopted": True},
                            _say(N_("Waits for call task #{task}, already in the queue (due {due})"),
                                 task=existing.id, due=self._local(existing.due_at)))
                task = self.tasks.create(d.key, order_id=order.id, playbook=pb.name, step=step.name, due_at=now,
                                         script=script, attempts=1, now=now)
            return {"task_id": task.id}, _say(N_("Call task #{task}"), task=task.id)
        return {"to": acted.to}, ""

    def _set_status(self, order: Order, status: Status, reason: str | None) -> tuple[dict[str, Any], str]:
        self._prefetched.pop(order.id, None)  # the read before this change is not the order any more
        connector = self._connector(order.source)
        pushed = False
        if connector is not None and Capability.PUSH_STATUS in connector.spec.capabilities:
            connector.push_status(order.native_id, status, reason)
            pushed = True
        with self.store.transaction():
            self.store.orders.set_status(order.id, status, None, reason, self.clock.now())
        if pushed:
            said = N_("Status {old} -> {new} ({reason}), in the source and here") if reason else \
                N_("Status {old} -> {new}, in the source and here")
        else:
            said = N_("Status {old} -> {new} ({reason}), here only (the source cannot take a status)") if reason \
                else N_("Status {old} -> {new}, here only (the source cannot take a status)")
        return ({"status": status.value, "reason": reason, "pushed": pushed},
                _say(said, old=order.status.value, new=status.value, reason=reason))

    def _local(self, dt: datetime) -> str:
        """A time in a run's rows: the config's zone, named, like the other times people read."""
        from unpaid.clock import get_zone

        return dt.astimezone(get_zone(self.config.timezone)).strftime("%Y-%m-%d %H:%M %Z")

    # ---- resources ----

    def _connector(self, source: str, required: bool = False) -> Any:
        if source not in self._connectors:
            if source not in self.config.sources:
                if required:
                    raise UnpaidError(_("source {source!r} is not configured").format(source=source),
                                      _("add [sources.{source}]").format(source=source))
                self._connectors[source] = None
            else:
                from unpaid.sources import open_connector

                self._connectors[source] = open_connector(self.config, source, self.plugins, self.clock.now(),
                                                          self.store.path)
        return self._connectors[source]

    def _channel(self, name: str) -> Any:
        if name not in self._channels:
            from unpaid.sources import open_channel

            try:
                self._channels[name] = open_channel(self.config, name, self.plugins)
            except ChannelError:
                raise
            except UnpaidError as exc:  # checked before the first claim; a secret gone since stops only the channel
                raise ChannelUnavailable(name, exc.message, exc.fix, exit_code=exc.exit_code) from None
        return self._channels[name]

    def close(self) -> None:
        for thing in list(self._connectors.values()) + list(self._channels.values()):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing must not hide the run's result
                    pass
        self._connectors.clear()
        self._channels.clear()
        if self._review_channels is not None:
            self._review_channels.close()


def channels_of(playbooks: "list[Playbook]") -> set[str]:
    """The channels the send steps (and their fallbacks) of ``playbooks`` use."""
    steps = [s for pb in playbooks for s in (*pb.steps, *((pb.end,) if pb.end else ()))]
    return {x.channel for s in steps for x in (s, s.fallback) if x is not None and x.action == "send" and x.channel}


def optout_addresses(config: "Config", store: "Store") -> set[str]:
    """Opted-out customer keys: the config's ``optout`` list plus the store's table, normalized."""
    from unpaid.model import normalize_email, normalize_phone

    raw = config.raw.get("optout", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise config.error("optout", _("must be a list of e-mails or phones"), _('write optout = ["a@example.com"]'))
    out = set(OptOuts(store).addresses())
    for item in raw:
        key = normalize_email(str(item)) or normalize_phone(str(item), config.default_country)
        if key:
            out.add(key)
    return out
