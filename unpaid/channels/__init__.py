"""Built-in message channels, registered as a default plugin exactly like third-party ones."""

from __future__ import annotations

from unpaid import hookimpl


@hookimpl
def register_channels(register):
    from unpaid.channel import ChannelSpec
    from unpaid.connector import Setting
    from unpaid.i18n import N_

    def outbox(name, settings, secrets):
        from unpaid.channels.outbox import OutboxChannel

        return OutboxChannel(name, settings)

    def smtp(name, settings, secrets):
        from unpaid.channels.smtp import SmtpChannel

        return SmtpChannel(name, settings, secrets)

    def webhook(name, settings, secrets):
        from unpaid.channels.webhook import WebhookChannel

        return WebhookChannel(name, settings, secrets)

    register(ChannelSpec(
        name="outbox",
        title=N_("Write each message as an .eml and a .json file to a folder instead of sending it"),
        factory=outbox,
        settings=(Setting("path", N_("folder the messages are written to"), default="outbox"),
                  Setting("address", N_("which address the messages use: email or phone"), default="email")),
        dedupes=True,
        address="any",
    ))
    register(ChannelSpec(
        name="smtp",
        title=N_("Send e-mail through an SMTP server (STARTTLS, SSL, login); Message-ID from the ledger key"),
        factory=smtp,
        settings=(Setting("host", N_("SMTP server"), required=True),
                  Setting("port", N_("port [default: 587, or 465 with ssl]")),
                  Setting("security", N_("starttls, ssl or none"), default="starttls"),
                  Setting("sender", N_("From address, e.g. Shop <shop@example.com>"), required=True),
                  Setting("username", N_("login user (no login when empty)")),
                  Setting("password", N_("login password"), secret=True),
                  Setting("reply_to", N_("Reply-To address")),
                  Setting("timeout", N_("seconds to wait for the server"), default=30),
                  Setting("verify_tls", N_("check the server's certificate"), default=True)),
        dedupes=False,
        address="email",
    ))
    register(ChannelSpec(
        name="webhook",
        title=N_("POST each message as JSON to a URL with an Idempotency-Key header (SMS gateways, telephony, n8n)"),
        factory=webhook,
        settings=(Setting("url", N_("where to POST"), required=True),
                  Setting("token", N_("sent as Authorization: Bearer"), secret=True),
                  Setting("timeout", N_("seconds to wait for an answer"), default=15),
                  Setting("address", N_("which address the messages use: phone or email"), default="phone")),
        dedupes=True,
        address="any",
    ))
