"""The attribution rule: which payments the work earned (docs/reports.md#attribution).

A paid order is *recovered* when it entered work, was touched (a message, an offer or a dial) at or before
its payment, and the last such touch came at most ``window`` before the payment. An order paid before any
touch paid by itself; one whose last touch is older than the window paid for reasons of its own; one the
shop's own sales made (the source gave it a manager nobody at the desk took) is never credited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unpaid.store.reporting import PaidFact

RECOVERED = "recovered"
BY_MANAGER = "created by a manager"
BEFORE_TOUCH = "paid before any touch"
OUTSIDE = "last touch outside the window"


def credit(fact: "PaidFact", window: timedelta) -> str:
    """Why ``fact``'s payment is or is not credited to the work: one of the constants above."""
    if fact.by_manager:
        return BY_MANAGER
    if fact.last_touch is None:
        return BEFORE_TOUCH
    if fact.paid_at - fact.last_touch > window:
        return OUTSIDE
    return RECOVERED


def discount_cost(total: int, percent: int) -> int:
    """Minor units a ``percent`` discount takes off ``total``, rounded half up."""
    return (total * percent + 50) // 100


def money(minor: int, currency: str) -> dict:
    return {"minor": minor, "currency": currency}


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 places; None when there is no whole (never a division by zero)."""
    return round(part / whole, 4) if whole else None
