"""Load playbooks from the config and ``playbook_files``, and check them against everything they use.

Checked on load, before anything runs: segments exist, channels are configured and can reach the
customer, the sources can report the events a condition needs and accept the triggers a step uses,
templates parse and render with every variable defined (with and without an offer).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from unpaid.connector import Capability
from unpaid.errors import ConfigError
from unpaid.i18n import _
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.playbook.model import Playbook, Step, parse_playbook
from unpaid.segments import Segment, parse_segment

if TYPE_CHECKING:
    from unpaid.config import Config
    from unpaid.plugins import Plugins
    from unpaid.templates import Templates


@dataclass(frozen=True)
class ChannelInfo:
    """What the engine needs to know about a configured channel."""

    name: str
    type: str
    address: str  # "email" or "phone"
    dedupes: bool


@dataclass
class Library:
    """Every playbook of a config, checked, with the channels they use."""

    playbooks: dict[str, Playbook] = field(default_factory=dict)
    channels: dict[str, ChannelInfo] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    templates: dict[str, "Templates"] = field(default_factory=dict)

    def templates_for(self, playbook: Playbook) -> "Templates":
        return self.templates[playbook.name]


def load_library(config: "Config", plugins: "Plugins", extra_file: Path | None = None,
                 only_file: bool = False) -> Library:
    """Parse and check the playbooks of ``config`` (plus ``extra_file``; only it when ``only_file``)."""
    from unpaid.segments import load_segments

    lib = Library(segments=load_segments(config))
    sources: list[tuple[dict, Path, str, bool]] = []  # (document, folder, label, from_config)
    if not only_file:
        sources.append(({"playbooks": config.section("playbooks")}, config.base_dir, config.where, True))
        for path in _playbook_files(config):
            sources.append((_read(path), path.parent, str(path), False))
    if extra_file is not None:
        sources.append((_read(extra_file), extra_file.parent, str(extra_file), False))
    for doc, _folder, label, from_config in sources:
        if from_config:
            continue
        unknown = set(doc) - {"playbooks", "segments"}
        if unknown:
            raise ConfigError(_("{label}: `{value}` does not belong in a playbook file").format(
                label=label, value=sorted(unknown)[0]),
                              _("a playbook file holds [playbooks.NAME] and [segments.NAME] tables only"))
        for name, body in doc.get("segments", {}).items():
            lib.segments[name] = parse_segment(name, body, f"{label}: segments.{name}")
    for doc, folder, label, from_config in sources:
        playbooks = doc.get("playbooks", {})
        if not isinstance(playbooks, Mapping):
            raise ConfigError(_("{label}: `playbooks` must be a table").format(label=label),
                              _("write [playbooks.NAME] sections"))
        for name, body in playbooks.items():
            where = f"{label}: playbooks.{name}"
            if name in lib.playbooks:
                raise ConfigError(_("{where} is defined twice (also in {where2})").format(
                    where=where, where2=lib.playbooks[name].where),
                                  _("rename one of them"))
            pb = parse_playbook(name, body, where, lib.segments)
            pb = replace(pb, templates=_templates_dir(config, body, folder, from_config))
            if pb.same_product_within is None:  # one purchase means the same to dedupe and to the playbook
                pb = replace(pb, same_product_within=config.same_product_within)
            if pb.window.timezone is None:
                pb = replace(pb, window=replace(pb.window, timezone=config.timezone))
            if config.calendar:  # the shop's days off and holidays hold for every playbook's window
                pb = replace(pb, window=replace(pb.window, calendar=config.calendar))
            _check(pb, config, plugins, lib)
            lib.playbooks[name] = pb
    return lib


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(_("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror),
                          _("check the path")) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: invalid TOML: {exc}").format(path=path, exc=exc),
                          _("fix the syntax at that line")) from None


def _playbook_files(config: "Config") -> list[Path]:
    raw = config.raw.get("playbook_files", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise config.error("playbook_files", _("must be a list of paths"),
                           _("write playbook_files = [\"playbooks/*.toml\"]"))
    found: list[Path] = []
    for pattern in raw:
        full = config.resolve(str(pattern))
        matches = sorted(Path(p) for p in glob.glob(str(full)))
        if not matches:
            raise config.error("playbook_files", _("names {pattern!r}, which matches no file").format(pattern=pattern),
                               _("fix the path (relative to the config file)"))
        found += matches
    return found


def _templates_dir(config: "Config", body: Mapping[str, Any], folder: Path, from_config: bool) -> Path:
    if isinstance(body.get("templates"), str):
        p = Path(body["templates"]).expanduser()
        return p if p.is_absolute() else folder / p
    if from_config and isinstance(config.raw.get("templates_dir"), str):
        return config.resolve(config.raw["templates_dir"])
    return folder / "templates"


def _all_steps(pb: Playbook) -> list[Step]:
    steps = list(pb.steps) + ([pb.end] if pb.end else [])
    return steps + [s.fallback for s in steps if s.fallback]


def _check(pb: Playbook, config: "Config", plugins: "Plugins", lib: Library) -> None:
    from unpaid.templates import Templates

    specs = _source_specs(pb, config, plugins)
    for kind in sorted(pb.events):
        for source, spec in specs.items():
            reported = Capability.EVENTS in spec.capabilities and kind in spec.events
            if not reported and kind not in config.sources[source].imported_events:
                field_name = "opened" if kind == "open" else "clicked"
                raise ConfigError(
                    _("{where}: a condition uses `{field_name}`, but source {source!r} ({name}) does not report {kind} events").format(
                        where=pb.where, field_name=field_name, source=source, name=spec.name, kind=kind),
                    _("import them from your mail service (imported_events = [\"{kind}\"] under [sources.{source}], then `unpaid events import FILE`), drop the condition, or limit the segment to sources that report them").format(
                        kind=kind, source=source))
        if not specs:
            raise ConfigError(_("{where}: a condition needs {kind} events, but no source is configured").format(
                where=pb.where, kind=kind),
                              _("add a source that reports opens/clicks, or drop the condition"))
    templates = Templates(pb.templates)
    lib.templates[pb.name] = templates
    samples = sample_contexts(pb)
    for step in _all_steps(pb):
        if step.action == "send":
            lib.channels[step.channel] = _channel(step, config, plugins)
            templates.check(step.template, step.where, samples)
        elif step.action == "call":
            if step.template:
                templates.check(step.template, step.where, samples)
            elif step.script:
                for ctx in samples:
                    templates.render_string(step.script, ctx, f"{step.where}.script")
        elif step.action == "trigger":
            for source, spec in specs.items():
                if Capability.TRIGGER not in spec.capabilities or (spec.triggers and step.trigger not in spec.triggers):
                    can = ", ".join(spec.triggers) or "nothing"
                    raise ConfigError(_("{where}.trigger: source {source!r} ({name}) cannot trigger {trigger!r} (it can: {can})").format(
                        where=step.where, source=source, name=spec.name, trigger=step.trigger, can=can),
                                      _("use a trigger the source supports, or narrow the segment's sources"))


def _source_specs(pb: Playbook, config: "Config", plugins: "Plugins") -> dict[str, Any]:
    names = pb.segment.sources or tuple(config.sources)
    out = {}
    for name in names:
        if name not in config.sources:
            raise ConfigError(_("{value}: source {name!r} is not configured").format(
                value=pb.segment.where or pb.where, name=name),
                              _("add [sources.{name}] to {where} or fix the name").format(
                                  name=name, where=config.where))
        out[name] = plugins.connector_spec(config.sources[name].type)
    return out


def _channel(step: Step, config: "Config", plugins: "Plugins") -> ChannelInfo:
    section = config.section("channels")
    if step.channel not in section:
        known = ", ".join(sorted(section)) or "none"
        raise ConfigError(_("{where}.channel: channel {channel!r} is not configured (configured: {known})").format(
            where=step.where, channel=step.channel, known=known),
                          _("add [channels.{channel}] with type = \"smtp\", \"webhook\" or \"outbox\"").format(
                              channel=step.channel))
    body = section[step.channel]
    channel_type = body.get("type") if isinstance(body, Mapping) else None
    if not channel_type:
        raise config.error(f"channels.{step.channel}.type", _("is missing"),
                           _("set type = \"smtp\", \"webhook\" or \"outbox\""))
    spec = plugins.channel_spec(channel_type)
    address = spec.address
    if address == "any":
        address = str(body.get("address", "email"))
    if address not in ("email", "phone"):
        raise config.error(f"channels.{step.channel}.address", _("is {address!r}").format(address=address),
                           _("use \"email\" or \"phone\""))
    return ChannelInfo(step.channel, channel_type, address, spec.dedupes)


SAMPLE_ORDER = Order(
    source="shop", native_id="1042", number="1042", status=Status.NEW,
    created_at=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc), total=Money(1299000, "RUB"),
    customer=Customer("anna@example.com", "+79991234567", "Anna Petrova"),
    items=(LineItem("course-1", "Course"),), payment_link="https://pay.example.com/1042", manager="maria",
)


def sample_contexts(pb: Playbook) -> list[dict[str, Any]]:
    """Template contexts for checks: without an offer and with one (offers can expire before a send)."""
    from unpaid.store.offers import StoredOffer
    from unpaid.templates import context

    offer = StoredOffer(0, "", SAMPLE_ORDER.id, pb.name, "", "discount", 5,
                        SAMPLE_ORDER.created_at + timedelta(days=2), "active", SAMPLE_ORDER.created_at)
    return [context(SAMPLE_ORDER, None, pb.name, "check", SAMPLE_ORDER.created_at),
            context(SAMPLE_ORDER, offer, pb.name, "check", SAMPLE_ORDER.created_at)]
