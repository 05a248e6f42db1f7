"""unpaid: turn a pile of unpaid orders into paid ones."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``hookimpl``, the marker for plugin hook implementations (``@hookimpl def register_connectors(register):
    ...``), made on first use: pluggy is imported only when plugins are (``import unpaid`` and ``unpaid --help``
    stay without it)."""
    if name == "hookimpl":
        import pluggy

        marker = globals()["hookimpl"] = pluggy.HookimplMarker("unpaid")
        return marker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
