"""A message or offer a manager sends by hand, recorded exactly like an automatic one.

Templates render through :mod:`unpaid.templates` (the playbooks' renderer and variables), offers go
through :class:`unpaid.store.offers.Offers` (one active offer per order, only ever upward), and the
message is claimed in the ledger and reserved in the contact log (the frequency cap's count) before
the channel sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unpaid.desk.journal import DESK, claim_effect, finish_effect
from unpaid.errors import ConfigError, ConflictError, InputError
from unpaid.i18n import _
from unpaid.store.history import Entry

if TYPE_CHECKING:
    from unpaid.config import Config
    from unpaid.desk.settings import DeskSettings
    from unpaid.model import Order
    from unpaid.plugins import Plugins
    from unpaid.store import Store


@dataclass(frozen=True)
class Prepared:
    """A checked message, ready to send: nothing has happened yet."""

    template: str
    channel: str
    address_kind: str
    to: str
    folder: Path
    offer_percent: int | None
    offer_kind: str


def templates_dir(config: "Config") -> Path:
    """The folder of message templates: ``templates_dir`` in the config, else ``templates`` beside it."""
    raw = config.raw.get("templates_dir")
    return config.resolve(raw) if isinstance(raw, str) else config.base_dir / "templates"


def pick_channel(config: "Config", settings: "DeskSettings", given: str | None, purpose: str = "email") -> str:
    """The channel to use: ``--channel``, ``[desk] channel``, or the only configured one."""
    section = config.section("channels")
    name = given or settings.channel
    if not name:
        if len(section) == 1:
            return next(iter(section))
        known = ", ".join(sorted(section)) or _("none")
        raise ConfigError(_("which channel should the {purpose} go through? (configured: {known})").format(
            purpose=purpose, known=known), _('pass --channel NAME, or set [desk] channel = "NAME"'))
    if name not in section:
        known = ", ".join(sorted(section)) or _("none")
        raise ConfigError(_("unknown channel {name!r} (configured in {where}: {known})").format(
            name=name, where=config.where, known=known),
            _("add [channels.{name}] with a type (smtp, webhook, outbox)").format(name=name))
    return name


def address_kind(config: "Config", plugins: "Plugins", name: str) -> str:
    """What channel ``name`` writes to: ``email`` or ``phone``."""
    body = config.section("channels")[name]
    spec = plugins.channel_spec(str(body.get("type", "")))
    return spec.address if spec.address != "any" else str(body.get("address", "email"))


def channels_for(config: "Config", plugins: "Plugins", purpose: str) -> list[str | None]:
    """Where a message an outcome calls for goes: ``ask_phone`` on every channel that does not write to
    the phone (the phone is what is wrong or missing); anything else on the desk's channel (None)."""
    if purpose != "ask_phone":
        return [None]
    return [name for name in config.section("channels") if address_kind(config, plugins, name) != "phone"]


def parse_percent(text: str | None) -> int | None:
    """``25%`` or ``25`` -> 25; InputError naming --offer otherwise."""
    if text is None:
        return None
    raw = text.strip().rstrip("%").strip()
    if not raw.isdigit() or not 0 < int(raw) <= 100:
        raise InputError(_("--offer {text!r} is not a percent from 1 to 100").format(text=text), _("e.g. --offer 25%"))
    return int(raw)


def prepare(store: "Store", config: "Config", plugins: "Plugins", settings: "DeskSettings", order: "Order",
            template: str, channel: str | None, offer: str | None, offer_kind: str | None = None) -> Prepared:
    """Check everything a send needs (template, channel, address, opt-out, offer) before anything happens."""
    from unpaid.playbook.runner import optout_addresses

    percent = parse_percent(offer)
    folder = templates_dir(config)
    if not (folder / f"{template}.txt").is_file():
        raise InputError(_("template {template!r} not found ({path})").format(
            template=template, path=folder / (template + ".txt")),
            _("create {template}.txt in {folder} (first line: Subject: ...) or fix the name").format(
                template=template, folder=folder))
    name = pick_channel(config, settings, channel, _("message {template!r}").format(template=template))
    kind = address_kind(config, plugins, name)
    c = order.customer
    to = c.email if kind == "email" else c.phone
    if not to:
        raise InputError((_("{order} has no e-mail for channel {name!r}") if kind == "email" else
                          _("{order} has no phone for channel {name!r}")).format(order=order.id, name=name),
                         _("add one with `unpaid edit`, or pick another --channel"))
    if {x for x in (c.email and c.email.lower(), c.phone, c.key) if x} & optout_addresses(config, store):
        raise ConflictError(_("the customer of {order} asked not to be contacted").format(order=order.id),
                            _("see `unpaid optout`; `unpaid optout ADDRESS --remove` if they changed their mind"))
    return Prepared(template, name, kind, to, folder, percent, offer_kind or settings.offer_kind)


def send(store: "Store", config: "Config", plugins: "Plugins", settings: "DeskSettings", order: "Order",
         prepared: Prepared, *, actor: str, now: datetime, command: str | None = None) -> dict[str, Any]:
    """Render, claim, send and record one message (and its offer). ChannelError after recording ``failed``."""
    from unpaid.channel import ChannelError, Delivery, Message
    from unpaid.sources import open_channel
    from unpaid.store.contacts import Contacts
    from unpaid.store.offers import Offers, StoredOffer
    from unpaid.templates import Templates, context, reader_zone

    p = prepared
    offers = Offers(store)
    current = offers.active(order.id, now)
    offer = current
    if p.offer_percent and (current is None or current.percent < p.offer_percent):
        offer = StoredOffer(0, "", order.id, DESK, f"send:{p.template}", p.offer_kind, p.offer_percent,
                            now + settings.offer_valid, "active", now)
    zone = reader_zone(order, settings.hours.timezone, config.timezone)
    source = config.sources.get(order.source)
    from unpaid.i18n import resolve as resolve_language

    rendered = Templates(p.folder).render(p.template, context(order, offer, DESK, p.template, now, zone,
                                                              name_order=source.name_order if source else "auto",
                                                              language=resolve_language(config.language)))
    customer_key = order.customer.key or order.id
    contacts = Contacts(store)
    key, run_id = claim_effect(store, order.id, f"send:{p.template}", f"send {p.template} via {p.channel}", now,
                               before=lambda k: contacts.reserve(k, customer_key, order.id, now))
    channel = open_channel(config, p.channel, plugins)
    try:
        receipt = channel.send(Message(order.id, p.to, rendered.subject, rendered.body, key, rendered.html,
                                       data={"template": p.template, "offer": p.offer_percent}))
    except ChannelError as exc:
        unknown = exc.outcome is Delivery.UNKNOWN  # it may have gone: held for review, the cap still counts it
        with store.transaction():
            if not unknown:
                contacts.release(key)
            finish_effect(store, key, run_id, now, error=str(exc), uncertain=unknown,
                          result={"channel": p.channel, "message_id": channel.message_id(key)})
        raise
    finally:
        channel.close()
    made = None
    with store.transaction():
        if offer is not None and offer is not current:
            made, _made_now = offers.make(key, order_id=order.id, playbook=DESK, step=f"send:{p.template}",
                                  kind=offer.kind, percent=offer.percent, valid_until=offer.valid_until, now=now)
            store.history.add(Entry(order.id, now, actor, "offer", f"offer: {made.percent}% {made.kind} until "
                                    f"{made.valid_until:%Y-%m-%d}", made.as_dict(), command))
        finish_effect(store, key, run_id, now, result={"channel": p.channel, "message_id": receipt.message_id})
        store.history.add(Entry(order.id, now, actor, "message", f"sent {p.template} via {p.channel} to {p.to}",
                                {"template": p.template, "channel": p.channel, "to": p.to, "key": key,
                                 "subject": rendered.subject, "offer": made.percent if made else None,
                                 "message_id": receipt.message_id}, command))
    notes = []
    if p.offer_percent and made is None and current is not None:
        notes.append(_("the order already has a {percent}% offer; offers only go up, so it stays").format(
            percent=current.percent))
    return {"order_id": order.id, "template": p.template, "channel": p.channel, "to": p.to, "key": key,
            "offer": made.percent if made else (current.percent if current else None), "notes": notes}
