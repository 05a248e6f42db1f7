"""Built-in message channels, registered as a default plugin exactly like third-party ones."""

from __future__ import annotations

from unpaid import hookimpl


@hookimpl
def register_channels(register):
    from unpaid.channel import ChannelSpec
    from unpaid.connector import Setting

    def outbox(name, settings, secrets):
        from unpaid.channels.outbox import OutboxChannel

        return OutboxChannel(name, settings)

    register(ChannelSpec(
        name="outbox",
        title="Write each message as an .eml and a .json file to a folder instead of sending it",
        factory=outbox,
        settings=(Setting("path", "folder the messages are written to", default="outbox"),
                  Setting("address", "which address the messages use: email or phone", default="email")),
        dedupes=True,
        address="any",
    ))
