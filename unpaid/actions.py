"""The one way unpaid changes an order's status: ledger claim, fresh read, push to the source, record.

The source is the truth: the store and the history change only after the source accepted the
change. The ledger holds the intent before the push and the result after it, so a crash in
between stays visible (``claimed``, then ``uncertain``) instead of being lost. Used by
``unpaid status``, playbooks and the desk; ``unpaid dedupe --apply`` changes many orders at once
through :func:`change_statuses`, which reads them fresh and pushes them in one call per batch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from unpaid.connector import Capability, Connector, NotSupported
from unpaid.errors import ConflictError, ExitCode, InputError, UnpaidError
from unpaid.i18n import N_, _
from unpaid.model import STATUS_LABELS, Order, Status
from unpaid.store import Store
from unpaid.store.history import Entry
from unpaid.store.ledger import DONE, FAILED, SKIPPED, UNCERTAIN, ledger_key

#: How long a claim may stay unanswered before it counts as ``uncertain``: longer than any push takes.
LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    """What a status change did. ``changed`` is False for a no-op (already in that status)."""

    order_id: str
    old: Status
    new: Status
    changed: bool
    note: str | None = None
    ledger_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "from": self.old.value, "to": self.new.value, "changed": self.changed,
                "note": self.note}


#: What a command without ``--reason-text`` (``outcome refused``) offers instead of a free reason.
NEAREST_REASON = N_("pick the nearest one and say more with --comment TEXT")


def resolve_reason(status: Status, reason: str | None, text: str | None, allowed: Sequence[str],
                   other: str = N_("or --reason-text TEXT for another")) -> str | None:
    """The reason to record: ``reason`` matched case-insensitively against ``allowed``, or free ``text``.

    A cancellation needs one; other statuses take one as an optional note. ``other`` ends the hint for an
    unknown reason: what the calling command offers besides the list.
    """
    if reason and text:
        raise InputError(_("give either --reason or --reason-text, not both"), _("drop one of them"))
    choices = ", ".join(allowed)
    if reason:
        match = next((r for r in allowed if r.casefold() == reason.strip().casefold()), None)
        if match is None:
            raise InputError(_("--reason {reason!r} is not one of the cancel reasons in the config").format(
                reason=reason), _("use one of: {choices} — {other}").format(choices=choices, other=_(other)))
        return match
    if text and text.strip():
        return text.strip()
    if status is Status.CANCELLED:
        raise InputError(_("cancelling an order needs a reason"),
                         _("add --reason with one of: {choices} — or --reason-text TEXT").format(choices=choices))
    return None


class Unexpected(UnpaidError):
    """A connector failed in a way it does not declare (a plugin's bug); ``uncertain``: it may have pushed."""

    exit_code = ExitCode.FAILED

    def __init__(self, source: str, exc: Exception, uncertain: bool):
        message = (_("{source}: unexpected {error_type} in the connector: {error}; whether the source took the "
                     "change is unknown") if uncertain else
                   _("{source}: unexpected {error_type} in the connector: {error}; nothing was pushed"))
        super().__init__(message.format(source=source, error_type=type(exc).__name__, error=exc),
                         _("check the order at the source, run again with -v for details and report it"))
        self.uncertain = uncertain
        self.__cause__ = exc  # -v shows the plugin's traceback


@dataclass(frozen=True)
class StatusChange:
    """One order of a batch status change, with its reason and extra history data."""

    order: Order
    reason: str | None = None
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class _Claim:
    change: StatusChange
    key: str
    run_id: str


def change_status(store: Store, connector: Connector, order: Order, to: Status, *, actor: str, now: datetime,
                  reason: str | None = None, kind: str = "status", playbook: str = "manual",
                  command: str | None = None, data: Mapping[str, Any] | None = None) -> Outcome:
    """Set ``order``'s status to ``to`` in its source, then in the store, history and ledger.

    Raises NotSupported before anything is written when the source cannot push statuses;
    ConnectorError (after recording ``failed`` in the ledger) when the source fails; ConflictError
    when the source's fresh copy differs from the store's (the store is then brought up to date).
    """
    [result] = change_statuses(store, connector, [StatusChange(order, reason, data)], to, actor=actor, now=now,
                               kind=kind, playbook=playbook, command=command).values()
    if isinstance(result, UnpaidError):
        raise result
    return result


def change_statuses(store: Store, connector: Connector, changes: Sequence[StatusChange], to: Status, *,
                    actor: str, now: datetime, kind: str = "status", playbook: str = "manual",
                    command: str | None = None) -> dict[str, Outcome | UnpaidError]:
    """:func:`change_status` for many orders of one source: one fresh read and one push for them all.

    Returns order id -> its Outcome or the error it failed with; one failure does not stop the
    others. Raises NotSupported before anything is written when the source cannot push statuses.
    """
    results: dict[str, Outcome | UnpaidError] = {}
    todo = []
    for change in changes:
        order = change.order
        if order.status is to:
            results[order.id] = Outcome(order.id, order.status, to, False,
                                        _("{order} is already {status}; nothing to do").format(
                                            order=order.id, status=to.label))
        else:
            todo.append(change)
    if todo and Capability.PUSH_STATUS not in connector.spec.capabilities:
        raise NotSupported(connector.name, Capability.PUSH_STATUS)
    claims: list[_Claim] = []
    with store.transaction():  # one commit for all the claims
        for change in todo:
            try:
                claims.append(_claim(store, change, to, playbook, now))
            except ConflictError as exc:
                results[change.order.id] = exc
    if Capability.FETCH_ONE in connector.spec.capabilities:
        claims = _unchanged_at_source(store, connector, claims, to, now, results)
    # Sources take a reason only with cancellations; other reasons are unpaid's own notes.
    pushed = _ask(connector, claims, True, lambda: connector.push_statuses(
        [(c.change.order.native_id, to, c.change.reason if to is Status.CANCELLED else None) for c in claims]))
    with store.transaction():
        for claim in claims:
            error = _answer(connector, pushed, claim)
            if error is None:
                results[claim.change.order.id] = _record(store, claim, to, actor, now, kind, command)
            else:
                _fail(store, claim, error, now, results)
    return results


def _claim(store: Store, change: StatusChange, to: Status, playbook: str, now: datetime) -> _Claim:
    order = change.order
    step = f"status:{to.value}"
    repeat = sum(1 for e in store.ledger.for_order(order.id) if e.playbook == playbook and e.step == step)
    key = ledger_key(order.id, playbook, step, repeat)
    run_id = uuid.uuid4().hex
    if not store.ledger.claim(key, order_id=order.id, playbook=playbook, step=step, repeat=repeat,
                              action=f"status {to.value}", due_at=now, run_id=run_id, now=now,
                              lease_until=now + LEASE):
        raise ConflictError(_("{order}: another run is changing this status right now").format(order=order.id),
                            _("wait a moment and check with `unpaid show`"))
    return _Claim(change, key, run_id)


def _unchanged_at_source(store: Store, connector: Connector, claims: list[_Claim], to: Status, now: datetime,
                         results: dict[str, Outcome | UnpaidError]) -> list[_Claim]:
    """The claims whose order the source still has as stored; the others are settled in ``results``.

    A stored copy younger than the connector's ``fresh_within`` is not read again (:mod:`unpaid.freshness`).
    """
    from unpaid.freshness import refresh, stale

    old = {id(o) for o in stale(store, connector, [c.change.order for c in claims], now)}
    reread = [c for c in claims if id(c.change.order) in old]
    fresh, stored = _ask(connector, reread, False, lambda: refresh(store, connector, [c.change.order for c in reread],
                                                                   now))
    keep = [c for c in claims if id(c.change.order) not in old]
    for claim in reread:
        order = claim.change.order
        copy = _answer(connector, fresh, claim)
        if isinstance(copy, UnpaidError):
            _fail(store, claim, copy, now, results)
        elif copy.status is order.status:
            keep.append(claim)
        else:
            try:
                results[order.id] = _changed_at_source(store, order, copy, to, claim.key, claim.run_id, now, stored)
            except ConflictError as exc:
                results[order.id] = exc
    return keep


def _ask(connector: Connector, claims: list[_Claim], pushing: bool, call: Callable[[], Any]) -> Any:
    """``call()``'s answer by native id; an unexpected error (a plugin's bug) becomes every claim's error."""
    if not claims:
        return {} if pushing else ({}, False)
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the orders of other sources
        failed = {c.change.order.native_id: Unexpected(connector.name, exc, pushing) for c in claims}
        return failed if pushing else (failed, False)


def _answer(connector: Connector, answers: Mapping[str, Any], claim: _Claim) -> Any:
    native_id = claim.change.order.native_id
    if native_id in answers:
        return answers[native_id]
    return Unexpected(connector.name, LookupError(f"no answer for order {native_id}"), True)


def _fail(store: Store, claim: _Claim, error: UnpaidError, now: datetime,
          results: dict[str, Outcome | UnpaidError]) -> None:
    state = UNCERTAIN if isinstance(error, Unexpected) and error.uncertain else FAILED
    store.ledger.finish(claim.key, claim.run_id, state, now, error=str(error))
    results[claim.change.order.id] = error


def _record(store: Store, claim: _Claim, to: Status, actor: str, now: datetime, kind: str,
            command: str | None) -> Outcome:
    """Write down a change the source accepted: the store's status, a history entry, the ledger's result."""
    order, reason = claim.change.order, claim.change.reason
    # The history keeps English (the labels are translated where it is shown).
    summary = f"status: {STATUS_LABELS[order.status]} → {STATUS_LABELS[to]}" + (f" — {reason}" if reason else "")
    with store.transaction():
        store.orders.set_status(order.id, to, None, reason, now)
        store.history.add(Entry(order.id, now, actor, kind, summary,
                                {"from": order.status.value, "to": to.value, "reason": reason,
                                 **(claim.change.data or {})}, command))
        store.ledger.finish(claim.key, claim.run_id, DONE, now, result={"from": order.status.value, "to": to.value})
    return Outcome(order.id, order.status, to, True, None, claim.key)


def _changed_at_source(store: Store, order: Order, fresh: Order, to: Status, key: str, run_id: str,
                       now: datetime, stored: bool = False) -> Outcome:
    """The source moved on since the last sync: take its copy (unless a sync just ``stored`` it, with its
    history), and act only if it already is ``to``."""
    fresh = replace(fresh, source=order.source)
    with store.transaction():
        if not stored:
            store.orders.upsert([fresh], now)
            store.history.add(Entry(order.id, now, "sync", "status",
                                    f"status changed at the source: {STATUS_LABELS[order.status]} → "
                                    f"{STATUS_LABELS[fresh.status]}",
                                    {"from": order.status.value, "to": fresh.status.value}))
        store.ledger.finish(key, run_id, SKIPPED, now,
                            result={"reason": f"already {fresh.status.value} at the source"})
    if fresh.status is to:
        return Outcome(order.id, order.status, to, False, _("{order} was already {status} at the source; the "
                       "store is updated").format(order=order.id, status=to.label), key)
    raise ConflictError(_("{order} changed at the source since the last sync ({old} → {new}); nothing was "
                          "pushed").format(order=order.id, old=order.status.label, new=fresh.status.label),
                        _("check it with `unpaid show {order}` and run again if still wanted").format(order=order.id))
