"""``build_connector``: build a connector in a test the way ``unpaid`` builds it for a command."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from unpaid.connector import Connector, ConnectorSpec


def build_connector(spec: ConnectorSpec, name: str = "shop", settings: Mapping[str, Any] | None = None,
                    secrets: Mapping[str, str] | None = None, *, state_db: Path | str | None = None,
                    config_dir: Path | str = ".", timezone: str = "UTC", default_country: str = "7") -> Connector:
    """Check ``settings`` against the spec (unknown keys, secrets in the file, required keys) and fill
    defaults, add the keys the core passes (``_config_dir``, ``_timezone``, ``_default_country``), call
    the factory, then set ``name`` and ``state``: a store-backed one in ``state_db`` (share one file between
    the connectors of a test, as processes share the store), else a private in-memory one.
    """
    from unpaid.sources import check_settings

    values = check_settings("test", name, dict(settings or {}), spec.settings, "sources")
    values.update({"_config_dir": str(config_dir), "_timezone": timezone, "_default_country": default_country})
    connector = spec.factory(name, values, dict(secrets or {}))
    connector.name = name
    if state_db is not None:
        from unpaid.source_state import StoreState

        connector.state = StoreState(Path(state_db), name)
    return connector
