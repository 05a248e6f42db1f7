"""A real SMTP server on loopback for tests (aiosmtpd): an inbox, and one with faults at chosen points."""

from __future__ import annotations

import asyncio
import email
import socket

import pytest

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402


class Inbox:
    """Stores every message; refuses one recipient with a 550 when told to."""
    def __init__(self, refuse: str | None = None):
        self.messages: list = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Flaky(Inbox):
    """Stores messages like :class:`Inbox`, with faults: ``stall`` seconds before the 250 for the first
    message's content (stored already), ``drop_after_data`` (store, then hang up without a reply),
    ``drop_mail`` (hang up at the first MAIL), and fixed replies to MAIL, RCPT or the content."""

    def __init__(self, stall: float = 0, drop_after_data: bool = False, drop_mail: bool = False,
                 mail_reply: str | None = None, rcpt_reply: str | None = None, data_reply: str | None = None):
        super().__init__()
        self.stall, self.drop_after_data, self.drop_mail = stall, drop_after_data, drop_mail
        self.mail_reply, self.rcpt_reply, self.data_reply = mail_reply, rcpt_reply, data_reply

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_mail:
            self.drop_mail = False
            server.transport.close()
            return "250 OK"
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.rcpt_reply or await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.messages.append(email.message_from_bytes(envelope.content))
        if self.drop_after_data:
            server.transport.close()
        elif self.stall:
            stall, self.stall = self.stall, 0
            await asyncio.sleep(stall)
        return "250 OK"


@pytest.fixture
def server():
    """``server(handler, **controller_options)`` starts an SMTP server on a free loopback port and returns it."""
    started = []

    def start(handler, **kwargs):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for c in started:
        c.stop()
