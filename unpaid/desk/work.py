"""Applying what a manager decides: call outcomes, postponements, comments and contact edits.

Each function validates first (InputError: nothing changed), then changes the source where the change
belongs there (status through :func:`unpaid.actions.change_status`, contacts, comments), then records
history, ledger, tasks and playbook pauses locally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Callable

from unpaid.desk.claiming import check_holder
from unpaid.desk.journal import DESK, claim_effect, finish_effect, note
from unpaid.desk.rules import CallFacts, OutcomeOptions, Plan, plan_outcome, postpone_limit
from unpaid.errors import InputError, UnpaidError
from unpaid.i18n import _
from unpaid.model import Customer, normalize_phone

if TYPE_CHECKING:
    from unpaid.connector import Connector
    from unpaid.desk.settings import DeskSettings
    from unpaid.model import Order
    from unpaid.store import Store

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Done:
    """What an action did, for the command's output."""

    summary: str
    notes: list[str] = field(default_factory=list)
    plan: Plan | None = None


def call_facts(store: "Store", order_id: str) -> tuple[CallFacts, date | None]:
    """Earlier outcomes, and the day of the last promise when the last call was one."""
    from unpaid.store.desk import DeskStore

    calls = DeskStore(store).calls(order_id)
    promise = None
    if calls and calls[-1][0] == "promised" and calls[-1][2].get("promised_on"):
        promise = date.fromisoformat(calls[-1][2]["promised_on"])
    gave_up = max((at for _outcome, at, data in calls if data.get("given_up")), default=None)
    return CallFacts([(o, at) for o, at, _ in calls], gave_up), promise


def record_outcome(store: "Store", connector: Callable[[], "Connector"], order: "Order", manager: str, text: str,
                   opts: OutcomeOptions, now: datetime, settings: "DeskSettings", zone: tzinfo,
                   cancel_reasons: tuple[str, ...], command: str | None = None) -> Done:
    """Record one call: plan it, change the status at the source if the plan says so, then record locally.

    Messages the plan asks for are returned in ``plan.send`` for the caller to send (they need channels).
    """
    from unpaid.actions import change_status

    check_holder(store, order, manager, now)
    facts, _promise = call_facts(store, order.id)
    plan = plan_outcome(text, opts, facts, now, settings, zone, cancel_reasons)
    actor = f"manager:{manager}"
    done = Done(plan.said, plan=plan)
    if plan.status is not None and plan.status is not order.status:
        change_status(store, connector(), order, plan.status, actor=actor, now=now, reason=plan.reason,
                      playbook=DESK, command=command, data={"outcome": plan.outcome})
    summary = f"call: {plan.summary}" + (f" — {opts.comment}" if opts.comment else "")  # the history's: English
    # The source's comment is read by the shop's people: in the active language.
    said = _("call: {summary}").format(summary=plan.said) + (f" — {opts.comment}" if opts.comment else "")
    with store.transaction():
        note(store, order.id, actor=actor, kind="call", summary=summary, now=now, data=plan.data, command=command)
        _reschedule(store, order.id, manager, now, plan, finished=plan.status is not None
                    and not plan.status.is_actual)
        store.claims.release(order.id, manager)
    if settings.comments_to_source:
        # The outcome is recorded whatever happens here: a source that refuses the comment costs a note.
        try:
            if push_comment(store, connector(), order, f"{manager}: {said}", now):
                done.notes.append(_("the outcome is in the order's comments at the source too"))
        except UnpaidError as exc:  # ConnectorError included
            done.notes.append(_("the outcome was not added to the comments at the source: {error}").format(error=exc))
    return done


def push_comment(store: "Store", connector: "Connector | None", order: "Order", text: str, now: datetime) -> bool:
    """Add ``text`` to the order's comments at the source, claimed in the ledger first.

    False when the source takes no comments; ConnectorError (recorded as failed) when it refuses.
    """
    from unpaid.connector import Capability, ConnectorError

    if connector is None or Capability.COMMENT not in connector.spec.capabilities:
        return False
    key, run_id = claim_effect(store, order.id, "comment:push", f"add comment to {order.source}", now)
    try:
        connector.add_comment(order.native_id, text)
    except ConnectorError as exc:
        finish_effect(store, key, run_id, now, error=str(exc))
        raise
    finish_effect(store, key, run_id, now, result={"pushed": True})
    return True


def _reschedule(store: "Store", order_id: str, manager: str, now: datetime, plan: Plan, finished: bool) -> None:
    """Move the call on (an outcome that continues it) or settle it; pause the playbooks after a promise.

    One order, one call (docs/cases.md): an unanswered dial, a callback, "thinking" keep the same task
    open with a new due time, so the playbook that asked for the call keeps waiting for it. A promise,
    the last unanswered dial, a refusal or a duplicate close it; the playbook then goes on with its next
    step. After a promise the desk keeps a follow-up call in the queue; a playbook that calls again
    later waits for that call instead of opening a second one.
    """
    from unpaid.store.desk import DeskStore
    from unpaid.store.enrollments import Enrollments
    from unpaid.store.tasks import CANCELLED, Tasks

    desk, tasks = DeskStore(store), Tasks(store)
    current = desk.open_task(order_id)
    # A callback or a promise stays with the manager who arranged it; plain retries go back to everyone.
    keep_with = manager if plan.outcome in ("callback", "promised") else None
    continues = plan.next_call is not None and not finished and plan.outcome != "promised"
    for task in desk.open_tasks(order_id):
        if continues and current is not None and task.id == current.id:
            tasks.reschedule(task.id, plan.next_call, plan.outcome, keep_with)
        else:
            tasks.close(task.id, plan.outcome, now, manager, state=CANCELLED if finished else "done")
    if plan.pause_until is not None:
        Enrollments(store).pause(order_id, plan.pause_until, now)
    if plan.next_call is None or finished or (continues and current is not None):
        return
    follow = tasks.create(f"{order_id}|{DESK}|call|{desk.task_count(order_id)}", order_id=order_id,
                          playbook=DESK, step=current.step if current else "call",
                          due_at=plan.next_call, script=current.script if current else "",
                          attempts=(current.attempts + 1) if current else 1, now=now)
    if keep_with:
        desk.assign(follow.id, keep_with)


def postpone(store: "Store", order: "Order", manager: str, until: datetime, now: datetime,
             settings: "DeskSettings", zone: tzinfo, force: bool = False, command: str | None = None) -> Done:
    """Move the order's next call to ``until`` (capped after a promise unless ``force``)."""
    from unpaid.store.desk import DeskStore
    from unpaid.store.tasks import Tasks

    check_holder(store, order, manager, now)
    when = until.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if until <= now:
        raise InputError(_("postponing to {when}, which is not in the future").format(when=when),
                         _("give --days N or a later --until"))
    _facts, promise = call_facts(store, order.id)
    limit = postpone_limit(promise, settings, zone)
    if limit is not None and until > limit and not force:
        raise InputError(_("{order} was promised for {day}; postponing to {when} is too late (at most {limit})").format(
            order=order.id, day=promise, when=when, limit=f"{limit.astimezone(zone):%Y-%m-%d %H:%M}"),
            _("a promise is followed up within days: pick an earlier date, or add --force"))
    desk, tasks = DeskStore(store), Tasks(store)
    with store.transaction():
        open_tasks = desk.open_tasks(order.id)
        for task in open_tasks:
            tasks.postpone(task.id, until)
        if not open_tasks:
            tasks.create(f"{order.id}|{DESK}|call|{desk.task_count(order.id)}", order_id=order.id, playbook=DESK,
                         step="call", due_at=until, script="", attempts=1, now=now)
        note(store, order.id, actor=f"manager:{manager}", kind="postpone", summary=f"postponed to {when}", now=now,
             data={"until": until}, command=command)
        store.claims.release(order.id, manager)
    return Done(_("{order}: next call {when}").format(order=order.id, when=when))


def comment(store: "Store", connector: "Connector | None", order: "Order", manager: str, text: str,
            now: datetime, command: str | None = None) -> Done:
    """Add a comment to the source when the source takes comments, then keep it in the history.

    The source comes first: when it refuses, nothing is kept here, so running the command again does
    not leave the comment twice in the history.
    """
    text = text.strip()
    if not text:
        raise InputError(_("the comment is empty"), _("write what happened, e.g. \"asked to call after 18:00\""))
    pushed = push_comment(store, connector, order, text, now)
    note(store, order.id, actor=f"manager:{manager}", kind="comment", summary=text, now=now, command=command)
    if not pushed:
        done = Done(_("{order}: comment saved").format(order=order.id))
        done.notes.append(_("the source of {order} does not take comments; kept in unpaid only").format(order=order.id))
        return done
    return Done(_("{order}: comment saved and added in the source").format(order=order.id))


def validate_contact(phone: str | None, email: str | None, name: str | None, address: str | None,
                     default_country: str) -> dict[str, str]:
    """The normalized fields to change; InputError naming the option for a bad value."""
    changes: dict[str, str] = {}
    if phone is not None:
        normalized = normalize_phone(phone, default_country)
        if normalized is None:
            raise InputError(_("--phone {phone!r} is not a phone number").format(phone=phone),
                             _("give 7-15 digits, e.g. +{country}9991234567").format(country=default_country))
        changes["phone"] = normalized
    if email is not None:
        if not EMAIL.match(email.strip()):
            raise InputError(_("--email {email!r} is not an e-mail address").format(email=email),
                             _("e.g. anna@example.com"))
        changes["email"] = email.strip().lower()
    fixes = {"name": _("give the name, or leave the option out"),
             "address": _("give the address, or leave the option out")}
    for option, value in (("name", name), ("address", address)):
        if value is not None:
            if not value.strip():
                raise InputError(_("--{option} is empty").format(option=option), fixes[option])
            changes[option] = value.strip()
    if not changes:
        raise InputError(_("nothing to change"), _("give --phone, --email, --name or --address"))
    return changes


def edit(store: "Store", connector: "Connector | None", order: "Order", manager: str, changes: dict[str, str],
         now: datetime, command: str | None = None) -> Done:
    """Push corrected contacts to the source (when it can take them), then record them."""
    from unpaid.connector import Capability, ConnectorError
    from unpaid.store.desk import DeskStore

    contact = {k: changes.get(k) for k in ("email", "phone", "name")}
    english = ", ".join(f"{k} → {v}" for k, v in changes.items())  # the history's: English field names
    fields = {"phone": _("phone"), "email": _("email"), "name": _("name"), "address": _("address")}
    done = Done(f"{order.id}: " + ", ".join(f"{fields.get(k, k)} → {v}" for k, v in changes.items()))
    pushed = False
    if any(contact.values()):
        if connector is not None and Capability.UPDATE_CONTACT in connector.spec.capabilities:
            key, run_id = claim_effect(store, order.id, "edit:push", f"update contact in {order.source}", now)
            try:
                connector.update_contact(order.native_id, **contact)
            except ConnectorError as exc:
                finish_effect(store, key, run_id, now, error=str(exc))
                raise
            finish_effect(store, key, run_id, now, result={"fields": sorted(k for k, v in contact.items() if v)})
            pushed = True
        else:
            done.notes.append(_("the source of {order} cannot take contact changes: change it there too, or the "
                                "next sync brings the old value back").format(order=order.id))
    if "address" in changes:
        done.notes.append(_("the address is kept in unpaid only (sources take phone, e-mail and name)"))
    c = order.customer
    new = Customer(contact["email"] or c.email, contact["phone"] or c.phone, contact["name"] or c.name)
    old = {"email": c.email, "phone": c.phone, "name": c.name, "address": order.extra.get("address")}
    with store.transaction():
        store.orders.set_contact(order.id, customer_key=new.key, **contact)
        if "address" in changes:
            DeskStore(store).set_address(order.id, changes["address"])
        note(store, order.id, actor=f"manager:{manager}", kind="edit", summary=english,
             now=now, command=command,
             data={"changes": {k: {"from": old.get(k), "to": v} for k, v in changes.items()}, "pushed": pushed})
    return done
