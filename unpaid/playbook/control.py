"""What the managers' desk (and scripts) may do to running playbooks.

- :func:`pause_order` — hold every playbook of an order until a date ("promised to pay on the 27th");
  steps due meanwhile wait for the date, then run; nothing is dropped.
- :func:`last_outcome` — the last call outcome the desk recorded (history kind ``call``, ``data.outcome``).
- :func:`open_tasks`, :func:`close_task`, :func:`postpone_task` — the call tasks ``call`` steps create.
- :func:`record_call` — close a task and write the ``call`` history entry in one transaction.

Playbook steps react to outcomes through conditions: ``last_outcome == promised``, ``calls >= 3``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from unpaid.playbook.conditions import OUTCOMES
from unpaid.store.enrollments import Enrollments
from unpaid.store.history import Entry
from unpaid.store.tasks import Outcome, Task, Tasks

if TYPE_CHECKING:
    from unpaid.store import Store


def pause_order(store: "Store", order_id: str, until: datetime | None, now: datetime) -> int:
    """Pause all active playbooks of the order until ``until`` (None resumes); returns how many were paused."""
    with store.transaction():
        return Enrollments(store).pause(order_id, until, now)


def last_outcome(store: "Store", order_id: str) -> Outcome | None:
    """The last call outcome recorded for the order, or None."""
    return Tasks(store).last_outcomes([order_id]).get(order_id)


def open_tasks(store: "Store", due_before: datetime | None = None) -> list[Task]:
    """Open call tasks, earliest due first."""
    return Tasks(store).open_tasks(due_before)


def close_task(store: "Store", task_id: int, outcome: str | None, at: datetime, manager: str | None = None) -> bool:
    """Mark a call task done with its outcome; False when it was not open."""
    _check(outcome)
    return Tasks(store).close(task_id, outcome, at, manager)


def postpone_task(store: "Store", task_id: int, due_at: datetime) -> bool:
    """Move an open call task to a later time."""
    return Tasks(store).postpone(task_id, due_at)


def record_call(store: "Store", task: Task, outcome: str, at: datetime, actor: str,
                data: Mapping[str, Any] | None = None, pause_until: datetime | None = None) -> None:
    """Record a call: close its task, add the ``call`` history entry, and pause the order when asked."""
    _check(outcome)
    with store.transaction():
        Tasks(store).close(task.id, outcome, at, actor.partition(":")[2] or None)
        store.history.add(Entry(task.order_id, at, actor, "call", f"Call: {outcome.replace('_', ' ')}",
                                {"outcome": outcome, "task_id": task.id, **dict(data or {})}))
        if pause_until is not None:
            Enrollments(store).pause(task.order_id, pause_until, at)


def _check(outcome: str | None) -> None:
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"unknown call outcome {outcome!r}; use one of: {', '.join(OUTCOMES)}")
