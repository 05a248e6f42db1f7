"""Start a connector's emulator by the calling contract of ``ConnectorSpec.emulator``.

``"module:callable"`` is called as ``callable(as_of=datetime)`` and returns an object with
``base_url``, ``secrets()``, ``source_settings()`` and ``stop()`` (docs/connectors/writing.md#11-the-emulator).
An emulator that cannot be found or called that way is the plugin's error, said in one line.
"""

from __future__ import annotations

import importlib
import inspect
from datetime import datetime
from typing import Any

from unpaid.errors import ConfigError

NEEDS = ("base_url", "secrets", "source_settings", "stop")
DOC = "docs/connectors/writing.md#11-the-emulator"


def start_emulator(spec: Any, as_of: datetime) -> Any:
    """Import and start ``spec.emulator``; ConfigError naming the plugin's mistake when it breaks the contract."""
    module, _, attr = (spec.emulator or "").partition(":")
    try:
        start = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"connector {spec.name}: emulator {spec.emulator!r} cannot be loaded: {exc}",
                          f"the plugin must name an existing \"module:callable\" ({DOC})") from None
    try:
        inspect.signature(start).bind(as_of=as_of)
    except (TypeError, ValueError):
        raise ConfigError(f"connector {spec.name}: emulator {spec.emulator} cannot be called as start(as_of=…)",
                          f"the plugin's emulator must accept the keyword as_of, a datetime ({DOC})") from None
    emulator = start(as_of=as_of)
    missing = [name for name in NEEDS if not hasattr(emulator, name)]
    if missing:
        getattr(emulator, "stop", lambda: None)()
        raise ConfigError(f"connector {spec.name}: the emulator it started has no {', '.join(missing)}",
                          f"it must return an object with {', '.join(NEEDS)} ({DOC})")
    return emulator
