"""``unpaid.toml`` -> a typed :class:`Config`; every error names the file, the key and the fix."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unpaid.errors import ConfigError
from unpaid.i18n import N_, _, pgettext

if TYPE_CHECKING:
    from unpaid.workdays import Calendar

FILENAME = "unpaid.toml"
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Events a playbook condition can wait for (`opened`, `clicked`).
EVENT_KINDS = ("open", "click")

DEFAULT_CANCEL_REASONS = (
    "Too expensive",
    "Changed mind",
    "Bought elsewhere",
    "No money now",
    "Created by mistake",
    "Not reachable",
    "Expired",
)

#: Top-level keys; sections added by later features register here so typos are caught.
KNOWN_KEYS = {
    "timezone": N_("IANA zone used to show times and to read dates without an offset"),
    "default_country": N_("country calling code for phone numbers without one (7, 380, 1...)"),
    "db": N_("path of the state database"),
    "cancel_reasons": N_("the reasons a cancellation may give"),
    "sources": N_("the order sources, one table each"),
    "channels": N_("message channels (smtp, webhook, outbox...)"),
    "segments": N_("named order segments"),
    "playbooks": N_("dunning playbooks"),
    "playbook_files": N_("extra TOML files with playbooks"),
    "templates_dir": N_("folder of message templates"),
    "desk": N_("the managers' call desk settings"),
    "optout": N_("customers who asked not to be contacted"),
    "same_product_within": N_("orders of one customer and product created this close are one purchase (dedupe, twins)"),
    "calendar": N_("the shop's days off and holidays, kept out of send windows and calling hours"),
    "language": N_("the shop's language (en, ru, uk): letters' money and dates; else UNPAID_LANG or the locale"),
}

#: Orders of one customer and one product created within this of each other are one purchase.
DEFAULT_SAME_PRODUCT_WITHIN = timedelta(days=30)


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: a name, a connector type and its (non-secret) settings."""

    name: str
    type: str
    settings: dict[str, Any]
    #: Event kinds (open, click) that reach unpaid from outside, with `unpaid events import`.
    imported_events: tuple[str, ...] = ()
    #: How the source writes a customer's full name: ``auto``, ``first_last`` or ``last_first`` (unpaid.names).
    name_order: str = "auto"


@dataclass
class Config:
    """The parsed configuration. ``path`` is None when no file was found (built-in defaults)."""

    path: Path | None = None
    timezone: str = "UTC"
    default_country: str = "7"
    db: Path | str | None = None  # a file, or a postgresql:// URL (a str)
    cancel_reasons: tuple[str, ...] = DEFAULT_CANCEL_REASONS
    same_product_within: timedelta = DEFAULT_SAME_PRODUCT_WITHIN
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    #: ``language`` as written in the file (None: UNPAID_LANG or the locale decides, see unpaid.i18n).
    language: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    #: ``[calendar]``: days off and holidays (empty: every day is a working day).
    calendar: "Calendar | None" = None

    @property
    def base_dir(self) -> Path:
        """Folder relative paths in the file are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def where(self) -> str:
        return str(self.path) if self.path else _("the built-in defaults")

    def resolve(self, value: str | os.PathLike[str]) -> Path:
        """Resolve a path from the file relative to the file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def source(self, name: str) -> SourceConfig:
        """Return a source by name or raise a ConfigError listing the configured ones."""
        if name not in self.sources:
            known = ", ".join(sorted(self.sources)) or pgettext("empty list", "none")
            raise ConfigError(_("unknown source {name!r} (configured in {where}: {known})").format(
                name=name, where=self.where, known=known),
                _("add [sources.{name}] to the config or use one of the configured names").format(name=name))
        return self.sources[name]

    def section(self, key: str) -> dict[str, Any]:
        """A raw top-level table (``channels``, ``segments``...), empty when absent."""
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(_("{where}: `{key}` must be a table").format(where=self.where, key=key),
                              _("write it as [{key}.NAME] sections").format(key=key))
        return value

    def error(self, key: str, problem: str, fix: str) -> ConfigError:
        """Build a ConfigError that names this file and the key path; ``problem`` (already in the active
        language) says what is wrong with the key: "must be a string"."""
        return ConfigError(_("{where}: `{key}` {problem}").format(where=self.where, key=key, problem=problem), fix)


def default_config_path() -> Path:
    """The per-user config file location (``~/.config/unpaid/unpaid.toml`` on Linux)."""
    import platformdirs  # imported here: only needed when no config is given

    return Path(platformdirs.user_config_dir("unpaid")) / FILENAME


def find_config(explicit: str | None) -> Path | None:
    """Locate the config: ``--config``/``UNPAID_CONFIG``, then ``./unpaid.toml``, then the user dir."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(_("config file {path} does not exist").format(path=path),
                              _("check --config / UNPAID_CONFIG, or create one with `unpaid init`"))
        return path
    local = Path.cwd() / FILENAME
    if local.is_file():
        return local
    user = default_config_path()
    return user if user.is_file() else None


def load_config(explicit: str | None = None) -> Config:
    """Find and parse the configuration; a missing file yields the built-in defaults."""
    path = find_config(explicit)
    if path is None:
        return Config()
    return parse_config(path)


def parse_config(path: Path) -> Config:
    """Parse one config file; raise ConfigError naming file, line or key, and the fix."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{path} is not UTF-8 text ({reason} at byte {start})").format(
            path=path, reason=exc.reason, start=exc.start), _("save the file as UTF-8")) from None
    except OSError as exc:
        raise ConfigError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror),
                          _("check the path and its permissions")) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: invalid TOML: {problem}").format(path=path, problem=exc),
                          _("fix the syntax at that line (quote strings, one key per line)")) from None
    return from_dict(raw, path)


def from_dict(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document into a Config."""
    cfg = Config(path=path, raw=raw)
    for key in raw:
        if key not in KNOWN_KEYS:
            known = ", ".join(sorted(KNOWN_KEYS))
            raise cfg.error(key, _("is not a known setting"), _("remove it or use one of: {known}").format(known=known))

    tz = raw.get("timezone", "UTC")
    if not isinstance(tz, str):
        raise cfg.error("timezone", _("must be a string"), _('write e.g. timezone = "Europe/Moscow"'))
    from unpaid.clock import get_zone

    try:
        get_zone(tz)
    except ValueError as exc:
        raise cfg.error("timezone", str(exc), _('use an IANA name, e.g. "Europe/Moscow" or "UTC"')) from None
    cfg.timezone = tz
    from unpaid.workdays import parse_calendar

    cfg.calendar = parse_calendar(raw.get("calendar"), cfg.where, tz)

    from unpaid.i18n import LANGUAGES, parse_language

    if "language" in raw:
        found = parse_language(raw["language"]) if isinstance(raw["language"], str) else None
        if found is None:
            raise cfg.error("language", _("is {value!r}, not a language unpaid speaks").format(value=raw["language"]),
                            _('write one of: {languages} (language = "ru")').format(languages=", ".join(LANGUAGES)))
        cfg.language = found

    country = str(raw.get("default_country", "7")).lstrip("+")
    if not country.isdigit() or len(country) > 3:
        raise cfg.error("default_country", _("is {value!r}, not a calling code").format(value=country),
                        _('write e.g. default_country = "7"'))
    cfg.default_country = country

    if "db" in raw:
        if not isinstance(raw["db"], str) or not raw["db"]:
            raise cfg.error("db", _("must be a path string"), _('write e.g. db = "unpaid.db"'))
        cfg.db = _db(cfg, raw["db"])

    reasons = raw.get("cancel_reasons", list(DEFAULT_CANCEL_REASONS))
    if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) and r for r in reasons):
        raise cfg.error("cancel_reasons", _("must be a non-empty list of strings"),
                        _('write e.g. cancel_reasons = ["Too expensive", "Changed mind"]'))
    cfg.cancel_reasons = tuple(reasons)
    if "same_product_within" in raw:
        cfg.same_product_within = _same_product_within(cfg, raw["same_product_within"])

    sources = raw.get("sources", {})
    if not isinstance(sources, dict):
        raise cfg.error("sources", _("must be a table"), _("write each source as [sources.NAME] with a type"))
    for name, body in sources.items():
        cfg.sources[name] = _source(cfg, name, body)
    return cfg


def _same_product_within(cfg: Config, value: Any) -> timedelta:
    from unpaid.clock import parse_duration

    fix = _('write a duration, e.g. same_product_within = "30d" (or "14d" for a monthly club)')
    if not isinstance(value, str):
        raise cfg.error("same_product_within", _("is {value!r}, not a duration").format(value=value), fix)
    try:
        window = parse_duration(value)
    except ValueError as exc:
        raise cfg.error("same_product_within", str(exc), fix) from None
    if not window:
        raise cfg.error("same_product_within",
                        _("is {value!r}: a purchase needs a window longer than 0").format(value=value), fix)
    return window


def _source(cfg: Config, name: str, body: Any) -> SourceConfig:
    key = f"sources.{name}"
    if not SOURCE_NAME.match(name):
        raise cfg.error(key, _("has an invalid name"),
                        _("use lower-case letters, digits, '-' and '_' (it becomes the order id prefix)"))
    if not isinstance(body, dict):
        raise cfg.error(key, _("must be a table"),
                        _('write [sources.{name}] and type = "csv" below it').format(name=name))
    source_type = body.get("type")
    if not isinstance(source_type, str) or not source_type:
        raise cfg.error(f"{key}.type", _("is missing"), _('set the connector type, e.g. type = "csv" or "getcourse"'))
    imported = body.get("imported_events", [])
    if not isinstance(imported, list) or not set(imported) <= set(EVENT_KINDS):
        raise cfg.error(f"{key}.imported_events", _("is {value!r}").format(value=imported),
                        _("list the kinds your mail service reports, from: {kinds}").format(
                            kinds=", ".join(EVENT_KINDS)))
    from unpaid.names import ORDERS

    name_order = body.get("name_order", "auto")
    if name_order not in ORDERS:
        raise cfg.error(f"{key}.name_order", _("is {value!r}").format(value=name_order),
                        _('write name_order = "last_first" (surname first, as most Russian exports), "first_last" '
                          'or "auto"'))
    settings = {k: v for k, v in body.items() if k not in ("type", "imported_events", "name_order")}
    return SourceConfig(name, source_type, settings, tuple(imported), name_order)


def _db(cfg: "Config", value: str) -> "Path | str":
    """A database file relative to the config's folder, or a PostgreSQL URL, checked here so that a
    password written into the shared file is refused before anything connects."""
    from unpaid.errors import StoreError
    from unpaid.store.dialect import is_postgres, refuse_misspelt_url

    try:
        refuse_misspelt_url(value, "db")
        if not is_postgres(value):
            return cfg.resolve(value)
        from unpaid.store.postgres import parse

        parse(value, where="db")
    except StoreError as exc:
        raise cfg.error("db", exc.message.removeprefix("db: "), exc.fix or "") from None
    return value
