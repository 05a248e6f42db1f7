"""The review queue: actions held for a person, listed and settled one by one, in bulk or by proof.

An action is held when nobody can tell whether it happened and doing it again could reach the customer
twice (a mail server silent after the whole message went out, a plugin's unexpected error, a run killed
mid-send), or when it gave up after its last try. Settling it ``sent`` records it done and the playbook
moves on; ``unsent`` puts it back, and the next run does it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from unpaid.channel import Delivery
from unpaid.clock import to_iso
from unpaid.desk.journal import DESK
from unpaid.errors import InputError, UnpaidError
from unpaid.i18n import _, ngettext
from unpaid.playbook.model import IDEMPOTENT_ACTIONS
from unpaid.playbook.planner import GAVE_UP
from unpaid.store.history import Entry
from unpaid.store.ledger import CLAIMED, FAILED, UNCERTAIN, LedgerEntry

if TYPE_CHECKING:
    from unpaid.channel import Channel
    from unpaid.config import Config
    from unpaid.plugins import Plugins
    from unpaid.store import Store

#: How ``unpaid review resolve --as`` names the two outcomes.
SENT, UNSENT = "sent", "unsent"


def resolve_command(key: str, outcome: str = "sent|unsent") -> str:
    """The command line that settles ``key``, safe to paste into a shell (keys hold ``|``)."""
    return f"unpaid review resolve {shlex.quote(key)} --as {outcome}"


@dataclass(frozen=True)
class Held:
    """One action waiting for a person."""

    key: str
    order_id: str
    playbook: str
    step: str
    action: str
    channel: str | None
    message_id: str | None
    why: str
    since: datetime
    run_id: str | None
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "order_id": self.order_id, "playbook": self.playbook, "step": self.step,
                "action": self.action, "channel": self.channel, "message_id": self.message_id, "why": self.why,
                "since": to_iso(self.since), "run_id": self.run_id, "attempts": self.attempts,
                "resolve": resolve_command(self.key)}


@dataclass(frozen=True)
class Filter:
    """Which held actions a command means; every given field must match."""

    keys: frozenset[str] = frozenset()
    run_id: str | None = None
    playbook: str | None = None
    since: datetime | None = None
    order_id: str | None = None

    @property
    def narrows(self) -> bool:
        """True when any field beyond ``keys`` is given."""
        return any(v is not None for v in (self.run_id, self.playbook, self.since, self.order_id))

    def matches(self, item: "Held | LedgerEntry") -> bool:
        since = item.since if isinstance(item, Held) else item.updated_at
        return ((not self.keys or item.key in self.keys)
                and (self.run_id is None or item.run_id == self.run_id)
                and (self.playbook is None or item.playbook == self.playbook)
                and (self.since is None or since >= self.since)
                and (self.order_id is None or item.order_id == self.order_id))


class Channels:
    """The configured channels, opened only when asked: whether they drop repeats, Message-IDs, proofs."""

    def __init__(self, config: "Config", plugins: "Plugins"):
        self.config, self.plugins = config, plugins
        self._open: dict[str, "Channel | None"] = {}

    def dedupes(self, name: str | None) -> bool:
        body = self.config.section("channels").get(name or "")
        try:
            return bool(body) and self.plugins.channel_spec(str(body.get("type"))).dedupes
        except UnpaidError:
            return False

    def get(self, name: str | None) -> "Channel | None":
        """The channel, or None when it is gone from the config or cannot be built."""
        if not name:
            return None
        if name not in self._open:
            from unpaid.sources import open_channel

            try:
                self._open[name] = open_channel(self.config, name, self.plugins, check=False)
            except UnpaidError:
                self._open[name] = None
        return self._open[name]

    def message_id(self, name: str | None, key: str) -> str | None:
        channel = self.get(name)
        return channel.message_id(key) if channel is not None else None

    def delivered(self, name: str | None, key: str) -> Delivery:
        channel = self.get(name)
        return channel.delivered(key) if channel is not None else Delivery.UNKNOWN

    def close(self) -> None:
        for channel in self._open.values():
            if channel is not None:
                try:
                    channel.close()
                except Exception:  # noqa: BLE001 - closing must not hide what was settled
                    pass
        self._open.clear()


def waiting(entry: LedgerEntry, now: datetime, channels: Channels | None = None) -> str | None:
    """Why ``entry`` waits for a person, or None when it does not (a run retries or finishes it by itself)."""
    if entry.state == FAILED and entry.next_try_at is not None and entry.next_try_at >= GAVE_UP:
        return ngettext("gave up after {n} attempt: {error}", "gave up after {n} attempts: {error}",
                        entry.attempts).format(n=entry.attempts, error=entry.error)
    expired = entry.state == CLAIMED and entry.lease_until is not None and entry.lease_until <= now
    if entry.state != UNCERTAIN and not expired:
        return None
    channel = (entry.result or {}).get("channel")
    if entry.action in IDEMPOTENT_ACTIONS or (channels is not None and channels.dedupes(channel)):
        return None  # safe to repeat: the next run does it again
    if entry.playbook == DESK:  # no run will send it again: a person sends it by hand if it did not go out
        return _("{error} (sent from the desk: if it did not go out, `unpaid send` it again)").format(
            error=entry.error or _("outcome unknown"))
    if entry.error:
        return entry.error
    return _("run {run} claimed it and ended without recording the outcome (killed, or its lease ran out): it "
             "may have happened").format(run=entry.run_id)


def held(store: "Store", now: datetime, flt: Filter = Filter(), channels: Channels | None = None) -> list[Held]:
    """The actions waiting for a person that ``flt`` matches, oldest first."""
    out = []
    for entry in store.ledger.by_state(UNCERTAIN, FAILED, CLAIMED):
        if flt.matches(entry):
            why = waiting(entry, now, channels)
            if why is not None:
                out.append(_held(entry, why, channels))
    return out


def message_id(entry: LedgerEntry, channels: Channels | None) -> str | None:
    """The id a send carried: recorded with its result, else derived from its key by its channel (a run killed
    mid-send recorded nothing, but the id is the same)."""
    result = entry.result or {}
    mid = result.get("message_id")
    if mid is None and entry.action == "send" and channels is not None:
        mid = channels.message_id(result.get("channel"), entry.key)
    return mid


def _held(entry: LedgerEntry, why: str, channels: Channels | None) -> Held:
    return Held(entry.key, entry.order_id, entry.playbook, entry.step, entry.action,
                (entry.result or {}).get("channel"), message_id(entry, channels), why, entry.updated_at,
                entry.run_id, entry.attempts)


def lookup(store: "Store", keys: Iterable[str], now: datetime, channels: Channels | None = None,
           option: str = "KEY") -> list[Held]:
    """The actions named by ``keys``, each one that may be settled: held, or of unknown outcome and due to be
    repeated by the next run. InputError naming the first key that is neither."""
    out = []
    for key in keys:
        entry = store.ledger.get(key)
        if entry is None:
            raise InputError(_("{option}: no action with key {key!r}").format(option=option, key=key),
                             _("copy the key from `unpaid review`"))
        expired = entry.state == CLAIMED and entry.lease_until is not None and entry.lease_until <= now
        if entry.state not in (UNCERTAIN, FAILED) and not expired:
            raise InputError(_("{option}: action {key} is {state}, not waiting for review").format(
                option=option, key=key, state=entry.state), _("only actions `unpaid review` lists can be resolved"))
        out.append(_held(entry, waiting(entry, now, channels) or entry.error or "", channels))
    return out


def settle(store: "Store", item: Held, sent: bool, now: datetime, actor: str) -> bool:
    """Record what a person found out; False when the action is no longer waiting (settled meanwhile)."""
    from unpaid.store.contacts import Contacts

    outcome = SENT if sent else UNSENT
    with store.transaction():
        store.ledger.expire_leases(now)
        if not store.ledger.resolve(item.key, sent, now, actor):
            return False
        if not sent:  # the frequency cap no longer counts a message that never left
            Contacts(store).release(item.key)
        store.history.add(Entry(item.order_id, now, actor, "review",
                                f"Settled step {item.step} of {item.playbook} as {outcome}"
                                + (f" (Message-ID {item.message_id})" if item.message_id else ""),
                                {"key": item.key, "outcome": outcome, "message_id": item.message_id}))
    return True


def resolve(store: "Store", key: str, sent: bool, now: datetime, actor: str,
            channels: Channels | None = None) -> Held:
    """Settle one action by its key; InputError when ``key`` names no action waiting for review."""
    [item] = lookup(store, [key], now, channels)
    settle(store, item, sent, now, actor)
    return item


def proof(channels: Channels, item: Held) -> Delivery:
    """What the item's channel can prove about it (``UNKNOWN`` for anything but a send it can check)."""
    if item.action != "send":
        return Delivery.UNKNOWN
    return channels.delivered(item.channel, item.key)
