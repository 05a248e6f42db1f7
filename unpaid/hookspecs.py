"""The whole plugin contract: three hooks, each named ``register_<plural>``.

Hooks take keyword arguments only and none is firstresult: registries are keyed by name and a
duplicate name is reported with both plugins, so the result never depends on load order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import click

    from unpaid.channel import ChannelSpec
    from unpaid.connector import ConnectorSpec

hookspec = pluggy.HookspecMarker("unpaid")


@hookspec
def register_connectors(register: "Callable[[ConnectorSpec], None]") -> None:
    """Register connector types by calling ``register(ConnectorSpec(...))`` once per type.

    Called once per process, the first time a connector or ``unpaid plugins`` is needed.
    Do no I/O here and import nothing heavy: the spec's ``factory`` imports the implementation
    when a connector is actually built.
    """


@hookspec
def register_channels(register: "Callable[[ChannelSpec], None]") -> None:
    """Register message channel types by calling ``register(ChannelSpec(...))`` once per type.

    Called once per process, the first time a channel is needed. Same rules as
    ``register_connectors``: no I/O, no heavy imports.
    """


@hookspec
def register_commands(cli: "click.Group") -> None:
    """Add commands to the ``unpaid`` CLI with ``cli.add_command(...)``.

    Called only when the CLI resolves a command that is not built in, so plugins never slow
    ``unpaid --help``. Prefer one group named after the plugin (``unpaid getcourse groups``).
    """
