"""Build connectors and channels from the configuration and the plugin registries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from unpaid.config import Config
from unpaid.errors import ConfigError
from unpaid.i18n import _
from unpaid.secrets import env_var, get_secret

if TYPE_CHECKING:
    from datetime import datetime

    from unpaid.channel import Channel
    from unpaid.connector import Connector, Setting
    from unpaid.plugins import Plugins


def check_settings(where: str, name: str, settings: Mapping[str, Any], spec_settings: "tuple[Setting, ...]",
                   kind: str) -> dict[str, Any]:
    """Validate ``settings`` against a spec: unknown keys, secrets in the file, missing required keys.

    Returns the settings with defaults filled in.
    """
    by_key = {s.key: s for s in spec_settings}
    for key in settings:
        if key not in by_key:
            known = ", ".join(sorted(by_key)) or _("none")
            message = (_("{where}: `{setting}` is not a setting of this channel (known: {known})") if kind == "channels"
                       else _("{where}: `{setting}` is not a setting of this source (known: {known})"))
            raise ConfigError(message.format(where=where, setting=f"{kind}.{name}.{key}", known=known),
                              _("remove the key or fix its spelling"))
        if by_key[key].secret:
            raise ConfigError(_("{where}: `{setting}` is a secret and must not be in the file").format(
                                  where=where, setting=f"{kind}.{name}.{key}"),
                              _("remove it and run `unpaid auth set {name}` (or set {var})").format(
                                  name=name, var=env_var(name, key)))
    result = {s.key: s.default for s in spec_settings if not s.secret and s.default is not None}
    result.update(settings)
    for s in spec_settings:
        if s.required and not s.secret and result.get(s.key) in (None, ""):
            raise ConfigError(_("{where}: `{setting}` is required ({help})").format(
                                  where=where, setting=f"{kind}.{name}.{s.key}", help=s.help),
                              _("add {key} = ... under [{table}]").format(key=s.key, table=f"{kind}.{name}"))
    return result


def load_secrets(name: str, spec_settings: "tuple[Setting, ...]", required: bool = True) -> dict[str, str]:
    """Read the secret settings of a source or channel; ConfigError when a required one is missing."""
    found: dict[str, str] = {}
    for s in spec_settings:
        if not s.secret:
            continue
        value = get_secret(name, s.key)
        if value:
            found[s.key] = value
        elif s.required and required:
            raise ConfigError(_("no {key} stored for {name!r} ({help})").format(key=s.key, name=name, help=s.help),
                              _("run `unpaid auth set {name}` or set {var}")
                              .format(name=name, var=env_var(name, s.key)))
    return found


def open_connector(config: Config, name: str, plugins: "Plugins | None" = None,
                   now: "datetime | None" = None, db_path: "Path | None" = None) -> "Connector":
    """Build the connector for source ``name`` with its settings and secrets.

    ``now`` (the command's clock, ``--now``) is passed on as ``_now`` for connectors that judge
    dates, e.g. a creation date in the future. ``db_path`` is the store the connector keeps its
    state in (``connector.state``): the command's ``--db``, else the config's, else the default.
    """
    from unpaid.plugins import get_plugins

    plugins = plugins or get_plugins()
    source = config.source(name)
    spec = plugins.connector_spec(source.type)
    settings = check_settings(config.where, name, source.settings, spec.settings, "sources")
    settings["_config_dir"] = str(config.base_dir)
    settings["_timezone"] = config.timezone
    settings["_default_country"] = config.default_country
    if now is not None:
        settings["_now"] = now.isoformat()
    secrets = load_secrets(name, spec.settings)
    try:
        connector = spec.factory(name, settings, secrets)
    except (ValueError, TypeError, LookupError, OverflowError) as exc:
        # A plugin that reads a setting without checking it (int("lots")): still a config error, not a crash.
        raise ConfigError(_("[sources.{name}] ({type}): a setting is not usable: {error}").format(
            name=name, type=source.type, error=exc),
            _("check the values under [sources.{name}] against the connector's docs").format(name=name)) from None
    connector.name = name
    from unpaid.connector import ConnectorSpec
    from unpaid.plugins import trace

    trace(f"source {name}: the {spec.name} factory built {type(connector).__name__}"
          + ("" if isinstance(getattr(connector, "spec", None), ConnectorSpec) else " (without self.spec)"))

    if not isinstance(getattr(connector, "spec", None), ConnectorSpec):
        # The contract says to set it; one that forgot still gets the spec it was registered with, so that
        # commands reading capabilities (`unpaid status`) work rather than fail with an AttributeError.
        connector.spec = spec
    from unpaid.source_state import StoreState

    if db_path is None:
        from unpaid.store import default_db_path

        db_path = config.db or default_db_path()
    connector.state = StoreState(db_path if isinstance(db_path, str) else Path(db_path), name)
    return connector


def open_channel(config: Config, name: str, plugins: "Plugins | None" = None, check: bool = True) -> "Channel":
    """Build the channel configured as ``[channels.NAME]``; with ``check``, raise its first problem
    (:meth:`Channel.check`, offline) so nothing sends with settings it had to guess."""
    from unpaid.plugins import get_plugins

    plugins = plugins or get_plugins()
    section = config.section("channels")
    if name not in section:
        known = ", ".join(sorted(section)) or _("none")
        raise ConfigError(_("unknown channel {name!r} (configured in {where}: {known})").format(
                              name=name, where=config.where, known=known),
                          _("add [channels.{name}] with a type (smtp, webhook, outbox)").format(name=name))
    body = dict(section[name])
    channel_type = body.pop("type", None)
    if not channel_type:
        raise config.error(f"channels.{name}.type", _("is missing"), _('set type = "smtp", "webhook" or "outbox"'))
    spec = plugins.channel_spec(channel_type)
    settings = check_settings(config.where, name, body, spec.settings, "channels")
    settings["_config_dir"] = str(config.base_dir)
    channel = spec.factory(name, settings, load_secrets(name, spec.settings))
    channel.name = name
    problems = channel.check(False) if check else []
    if problems:
        channel.close()
        raise problems[0].error()
    return channel
