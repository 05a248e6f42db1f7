"""The one module of :mod:`unpaid.reports` that reads the store: facts in, report rows out."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING, Iterable

from unpaid.reports import NAMES
from unpaid.reports.scope import Scope

if TYPE_CHECKING:
    from unpaid.store import Store
    from unpaid.store.reporting import PaidFact


def build(name: str, store: "Store", scope: Scope, window: timedelta, zone: tzinfo,
          paid: "list[PaidFact] | None" = None) -> list[dict]:
    """The rows of report ``name`` over ``scope``: one of :data:`unpaid.reports.NAMES` but ``forecast``, which
    asks the playbooks' planner (``unpaid.cli.report``). ``paid``: the scope's paid facts with ``detail``,
    when already read."""
    from unpaid.store.reporting import ReportStore

    facts = ReportStore(store)

    def detailed() -> "Iterable[PaidFact]":
        return facts.paid(scope, detail=True) if paid is None else paid

    if name == "recovery":
        from unpaid.reports.recovery import recovery

        return recovery(facts.tally(scope, window))
    if name == "reasons":
        from unpaid.reports.reasons import reasons

        return reasons(facts.cancellations(scope))
    if name == "managers":
        from unpaid.reports.managers import managers

        return managers(facts.calls(scope), detailed(), window, zone)
    if name == "steps":
        from unpaid.reports.steps import steps

        return steps(facts.step_actions(scope), detailed(), window)
    if name == "offers":
        from unpaid.reports.steps import offers

        return offers(facts.offers_made(scope), detailed(), window)
    if name == "funnel":
        from unpaid.reports.funnel import funnel

        return funnel(facts.created(scope), facts.tally(scope, window), facts.promised(scope))
    if name == "lift":
        from unpaid.reports.lift import lift

        return lift(facts.holdout(scope))
    raise ValueError(f"unknown report {name!r}; one of {NAMES}")


def has_orders(store: "Store") -> bool:
    from unpaid.store.reporting import ReportStore

    return ReportStore(store).any_orders()


def build_page(store: "Store", scope: Scope, window: timedelta, zone: tzinfo, title: str, language: str) -> str:
    """Every report of ``scope`` on one HTML page (:mod:`unpaid.reports.html`)."""
    from unpaid.reports.html import TABLES, page
    from unpaid.reports.recovery import timeline
    from unpaid.store.reporting import ReportStore

    paid = list(ReportStore(store).paid(scope, detail=True))  # read once for managers, steps, offers and the chart
    reports = {name: build(name, store, scope, window, zone, paid) for name in TABLES}
    return page(reports, timeline(paid, window, zone), title, language)
