"""A store with known numbers: thirteen orders whose every report figure the tests work out by hand.

All times UTC, November 2026. Playbook ``remind`` sends ``letter`` and makes an ``offer``; the manager olga
calls. Orders (RUB unless said):

  A shop p1 10000  letter 01 10:00, 10% discount 02 10:00, paid 03 10:00      recovered (1000 discount)
  B shop p1 20000  letter 01 10:00, olga: promised 05 (for the 6th), paid 06 12:00   recovered, promise kept
  C shop p2 30000  letter 01 10:00, paid 20 10:00                             last touch 19 days before
  D gc   p1 40000  paid 02 09:00, letter 02 11:00                             paid before any touch
  E gc   p2 50000  source manager ivan, letter 02 10:00, paid 03 10:00        created by a manager
  F shop p1 60000  letter, olga: no answer 03, refused 04 (Too expensive)     cancelled
  G gc   p2 70000  letter, cancelled at the source (Changed mind)             cancelled
  H shop p1 80000  letter, cancelled (Too expensive)                          cancelled
  I shop p1 90000  entered, never touched                                     new
  J shop p1  5000  never entered                                              new
  K shop p1  7000  letter, olga: duplicate                                    false
  L shop p1  1000 USD  letter 01 10:00, paid 02 10:00                         recovered
  M shop p1  3000  created in October, letter, paid                           outside --since
An open event of A at 01 12:00 (after its letter, before its offer) and of B at 01 09:00 (before its letter).
"""

from __future__ import annotations

from datetime import datetime, timezone

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store.enrollments import Enrollments
from unpaid.store.events import Events
from unpaid.store.history import Entry
from unpaid.store.offers import Offers

PERIOD = ("--since", "2026-11-01", "--until", "2026-12-01")
NOW = "2026-11-30T12:00:00Z"


def t(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


def _order(native: str, total: int, *, source: str = "shop", product: str = "p1", status: Status = Status.NEW,
           created: datetime | None = None, paid_at: datetime | None = None, manager: str | None = None,
           reason: str | None = None, currency: str = "RUB") -> Order:
    return Order(source, native, status, created or t(1, 9), Money(total, currency),
                 Customer(f"{native.lower()}@example.com", None, native), (LineItem(product, product, 1),),
                 number=native, native_status=status.value, paid_at=paid_at, manager=manager, cancel_reason=reason)


def build(store) -> None:
    paid, cancelled = Status.PAID, Status.CANCELLED
    orders = [
        _order("A", 10000, paid_at=t(3), status=paid),
        _order("B", 20000, paid_at=t(6, 12), status=paid, manager="olga"),
        _order("C", 30000, product="p2", paid_at=t(20), status=paid),
        _order("D", 40000, source="gc", paid_at=t(2, 9), status=paid, created=t(2, 8)),
        _order("E", 50000, source="gc", product="p2", paid_at=t(3), status=paid, manager="ivan"),
        _order("F", 60000, status=cancelled, reason="Too expensive", manager="olga"),
        _order("G", 70000, source="gc", product="p2", status=cancelled, reason="Changed mind"),
        _order("H", 80000, status=cancelled, reason="Too expensive"),
        _order("I", 90000),
        _order("J", 5000),
        _order("K", 7000, status=Status.FALSE, manager="olga"),
        _order("L", 1000, paid_at=t(2), status=paid, currency="USD"),
        _order("M", 3000, created=t(1, 9, month=10), paid_at=t(3, 10, month=10), status=paid),
    ]
    enter = {"A": t(1), "B": t(1), "C": t(1), "D": t(2, 8), "E": t(2), "F": t(1), "G": t(1), "H": t(1),
             "I": t(1), "K": t(1), "L": t(1), "M": t(1, 10, month=10)}
    letters = {"A": t(1), "B": t(1), "C": t(1), "D": t(2, 11), "E": t(2), "F": t(1), "G": t(1), "H": t(1),
               "K": t(1), "L": t(1), "M": t(1, 10, month=10)}
    with store.transaction():
        store.orders.upsert(orders, t(1))
        for native, at in enter.items():
            Enrollments(store).enter(f"{'gc' if native in 'DEG' else 'shop'}:{native}", "remind", None, at, at)
        entries = [Entry(_id(n), at, "playbook:remind", "message", f"Sent letter to {n}", {"step": "letter"})
                   for n, at in letters.items()]
        entries += [
            Entry("shop:A", t(2), "playbook:remind", "offer", "Offered 10% discount", {"step": "offer"}),
            Entry("shop:B", t(4), "manager:olga", "claim", "taken by olga"),
            Entry("shop:B", t(5), "manager:olga", "call", "call: promised",
                  {"outcome": "promised", "promised_on": "2026-11-06"}),
            Entry("shop:F", t(3), "manager:olga", "claim", "taken by olga"),
            Entry("shop:F", t(3), "manager:olga", "call", "call: no answer", {"outcome": "no_answer"}),
            Entry("shop:F", t(4), "manager:olga", "call", "call: refused", {"outcome": "refused",
                                                                           "reason": "Too expensive"}),
            Entry("shop:K", t(3), "manager:olga", "claim", "taken by olga"),
            Entry("shop:K", t(3), "manager:olga", "call", "call: duplicate", {"outcome": "duplicate"}),
        ]
        store.history.add_many(entries)
    Offers(store).make("shop:A|remind|offer|0", order_id="shop:A", playbook="remind", step="offer", kind="discount",
                       percent=10, valid_until=t(9), now=t(2))
    with store.transaction():
        Events(store).add_many([("shop:A", "open", t(1, 12), None), ("shop:B", "open", t(1, 9), None)])


def _id(native: str) -> str:
    return f"{'gc' if native in 'DEG' else 'shop'}:{native}"


CONFIG = '''timezone = "UTC"

[sources.shop]
type = "csv"
path = "shop.csv"

[sources.gc]
type = "csv"
path = "gc.csv"
'''
