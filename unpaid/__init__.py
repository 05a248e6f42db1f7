"""unpaid: turn a pile of unpaid orders into paid ones."""

import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@hookimpl def register_connectors(register): ...``
hookimpl = pluggy.HookimplMarker("unpaid")
