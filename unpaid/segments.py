"""Named, reusable order segments: pure predicates over orders, and the SQL filter that narrows them.

A segment is defined once in the config (``[segments.NAME]``) and used by ``unpaid orders --segment``,
by playbook entries and by reports. :meth:`Segment.query` narrows candidates in SQL; :meth:`Segment.explain`
says in words why one order does or does not match (the planner's explanations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from unpaid.clock import format_duration, parse_duration
from unpaid.errors import ConfigError
from unpaid.i18n import N_, _
from unpaid.model import ACTUAL, Order, Status

if TYPE_CHECKING:
    from unpaid.config import Config
    from unpaid.store.orders import OrderQuery

FIELDS = {
    "title": N_("what the segment is, for listings"),
    "statuses": N_("order statuses that match [default: the actual ones]"),
    "sources": N_("source names that match [default: all]"),
    "products": N_("product ids that match [default: all]"),
    "min_age": N_("minimum time since the order was created, e.g. 1h, 7d, 2w"),
    "max_age": N_("maximum time since the order was created"),
    "min_amount": N_("smallest order total, in major units (rubles, dollars)"),
    "max_amount": N_("largest order total, in major units"),
    "has_email": N_("true: only orders with an e-mail; false: only without"),
    "has_phone": N_("true: only orders with a phone; false: only without"),
}


@dataclass(frozen=True)
class Segment:
    """A set of orders described by status, source, product, age, amount and contact details."""

    name: str
    title: str = ""
    statuses: frozenset[Status] = ACTUAL
    sources: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    min_age: timedelta = timedelta(0)
    max_age: timedelta | None = None
    min_total: int | None = None  # minor units
    max_total: int | None = None
    has_email: bool | None = None
    has_phone: bool | None = None
    where: str = field(default="", compare=False)

    def eligible_at(self, order: Order) -> datetime:
        """The moment the order becomes old enough to match."""
        return order.created_at + self.min_age

    def explain(self, order: Order, now: datetime, young: bool = True) -> list[str]:
        """Reasons (in the active language) the order does not match now; empty when it matches.

        ``young=False`` leaves out "too young": the planner says when the order becomes old enough.
        """
        reasons = []
        if order.status not in self.statuses:
            reasons.append(_("status is {status}, segment wants {wanted}").format(
                status=order.status.value, wanted=_names(self.statuses)))
        if self.sources and order.source not in self.sources:
            reasons.append(_("source {source} is not one of {sources}").format(
                source=order.source, sources=", ".join(self.sources)))
        if self.products and order.product_key not in self.products:
            reasons.append(_("product {product} is not one of {products}").format(
                product=order.product_key or _("(none)"), products=", ".join(self.products)))
        age = now - order.created_at
        if age < self.min_age and young:
            reasons.append(_("only {age} old, segment wants at least {min_age}").format(
                age=format_duration(age, human=True), min_age=format_duration(self.min_age, human=True)))
        if self.max_age is not None and age > self.max_age:
            reasons.append(_("{age} old, segment wants at most {max_age}").format(
                age=format_duration(age, human=True), max_age=format_duration(self.max_age, human=True)))
        if self.min_total is not None and order.total.minor < self.min_total:
            reasons.append(_("total {total} is below {limit:g}").format(total=order.total.human(),
                                                                        limit=self.min_total / 100))
        if self.max_total is not None and order.total.minor > self.max_total:
            reasons.append(_("total {total} is above {limit:g}").format(total=order.total.human(),
                                                                        limit=self.max_total / 100))
        for kind, flag, value in (("e-mail", self.has_email, order.customer.email),
                                  ("phone", self.has_phone, order.customer.phone)):
            if flag is True and not value:
                reasons.append(_("no e-mail") if kind == "e-mail" else _("no phone"))
            elif flag is False and value:
                reasons.append(_("has a e-mail") if kind == "e-mail" else _("has a phone"))
        return reasons

    def matches(self, order: Order, now: datetime) -> bool:
        """True when the order is in the segment at ``now``."""
        return not self.explain(order, now)

    def query(self, now: datetime, *, ignore_age: bool = False) -> "OrderQuery":
        """The store query that selects exactly this segment at ``now`` (ages become creation bounds)."""
        from unpaid.store.orders import OrderQuery  # imported here: segments stay importable without the store

        q = OrderQuery(statuses=self.statuses, sources=self.sources, products=self.products,
                       min_total=self.min_total, max_total=self.max_total,
                       has_email=self.has_email, has_phone=self.has_phone, sort="oldest")
        if not ignore_age:
            q.created_before = now - self.min_age + timedelta(seconds=1)
            if self.max_age is not None:
                q.created_after = now - self.max_age
        return q


def _names(statuses: frozenset[Status]) -> str:
    return ", ".join(sorted(s.value for s in statuses))


def parse_segment(name: str, body: Any, where: str) -> Segment:
    """Validate one segment table; ``where`` names the file and key for errors."""
    key = where
    if not isinstance(body, Mapping):
        raise ConfigError(_("{key} must be a table").format(key=key),
                          _("write it as a TOML table, e.g. statuses = [\"new\"]"))
    for k in body:
        if k not in FIELDS:
            raise ConfigError(_("{key}.{k} is not a segment field").format(key=key, k=k),
                              _("remove it or use one of: {names}").format(names=', '.join(sorted(FIELDS))))
    statuses = ACTUAL
    if "statuses" in body:
        raw = body["statuses"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(_("{key}.statuses must be a non-empty list").format(key=key),
                              _("write e.g. statuses = [\"new\", \"in_work\"]"))
        try:
            statuses = frozenset(Status.parse(str(s)) for s in raw)
        except ValueError as exc:
            raise ConfigError(_("{key}.statuses: {exc}").format(key=key, exc=exc), _("fix the status name")) from None
    lists = {}
    for k in ("sources", "products"):
        raw = body.get(k, [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(v, (str, int)) for v in raw):
            raise ConfigError(_("{key}.{k} must be a list of names").format(key=key, k=k),
                              _("write e.g. {k} = [\"a\", \"b\"]").format(k=k))
        lists[k] = tuple(str(v) for v in raw)
    min_age = _duration(body, "min_age", key) or timedelta(0)
    max_age = _duration(body, "max_age", key)
    if max_age is not None and max_age < min_age:
        raise ConfigError(_("{key}.max_age is shorter than min_age").format(key=key),
                          _("make max_age longer, or drop it"))
    totals = [_amount(body, k, key) for k in ("min_amount", "max_amount")]
    if None not in totals and totals[0] > totals[1]:
        raise ConfigError(_("{key}.min_amount is above max_amount").format(key=key), _("swap them"))
    flags = []
    for k in ("has_email", "has_phone"):
        value = body.get(k)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(_("{key}.{k} must be true or false").format(key=key, k=k),
                              _("write {k} = true").format(k=k))
        flags.append(value)
    title = body.get("title", "")
    if not isinstance(title, str):
        raise ConfigError(_("{key}.title must be a string").format(key=key), _("write title = \"...\""))
    return Segment(name, title, statuses, lists["sources"], lists["products"], min_age, max_age,
                   totals[0], totals[1], flags[0], flags[1], where=key)


def _duration(body: Mapping[str, Any], k: str, key: str) -> timedelta | None:
    if k not in body:
        return None
    raw = body[k]
    try:
        value = parse_duration(str(raw))
    except ValueError as exc:
        raise ConfigError(_("{key}.{k}: {exc}").format(key=key, k=k, exc=exc),
                          _("write e.g. {k} = \"7d\"").format(k=k)) from None
    return value


def _amount(body: Mapping[str, Any], k: str, key: str) -> int | None:
    if k not in body:
        return None
    raw = body[k]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
        raise ConfigError(_("{key}.{k} must be a non-negative number (major units)").format(key=key, k=k),
                          _("write e.g. {k} = 1000").format(k=k))
    return int(round(raw * 100))


def load_segments(config: "Config") -> dict[str, Segment]:
    """All ``[segments.NAME]`` of the config, validated."""
    return {name: parse_segment(name, body, f"{config.where}: segments.{name}")
            for name, body in config.section("segments").items()}


def get_segment(config: "Config", name: str) -> Segment:
    """One named segment, or a ConfigError listing the defined ones."""
    segments = load_segments(config)
    if name not in segments:
        known = ", ".join(sorted(segments)) or "none"
        raise ConfigError(_("unknown segment {name!r} (defined in {where}: {known})").format(
            name=name, where=config.where, known=known),
                          _("add [segments.{name}] to the config or use one of the defined names").format(name=name))
    return segments[name]
