"""A loopback SMTP server (aiosmtpd) that records every Message-ID it stores and misbehaves on a seeded plan.

Per message it draws one of: ``ok`` (store, reply 250 after a short latency, so a kill often lands between
the two), ``stall`` (store, then hold the 250 past the client's timeout), ``drop`` (store, then hang up
without a reply), ``refuse`` (451 to the content: nothing stored) and ``hangup`` (hang up at MAIL: nothing
stored). Only the first three leave the sender unsure.
"""

from __future__ import annotations

import asyncio
import email
import random
import socket
from collections import Counter
from dataclasses import dataclass

from aiosmtpd.controller import Controller

CALM = {"ok": 1.0}
STORMY = {"ok": 0.86, "stall": 0.03, "drop": 0.03, "refuse": 0.05, "hangup": 0.03}


@dataclass(frozen=True)
class Received:
    message_id: str
    to: str
    subject: str

    @property
    def letter(self) -> tuple[str, str]:
        return self.to, self.subject


class Recorder:
    def __init__(self, rnd: random.Random, weather: dict[str, float] = CALM, stall: float = 0.8,
                 latency: tuple[float, float] = (0.005, 0.03)):
        self.rnd, self.weather, self.stall, self.latency = rnd, weather, stall, latency
        self.received: list[Received] = []
        self.faults: Counter = Counter()

    def _draw(self) -> str:
        return self.rnd.choices(list(self.weather), weights=list(self.weather.values()))[0]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.weather is not CALM and self._draw() == "hangup":
            self.faults["hangup"] += 1
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        fault = self._draw()
        if fault == "hangup":
            fault = "ok"  # drawn at MAIL already
        self.faults[fault] += 1
        if fault == "refuse":
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content)
        self.received.append(Received(str(msg["Message-ID"]), str(msg["To"]), str(msg["Subject"])))
        if fault == "drop":
            server.transport.close()
            return "250 OK"
        await asyncio.sleep(self.stall if fault == "stall" else self.rnd.uniform(*self.latency))
        return "250 OK"

    def message_ids(self) -> set[str]:
        return {r.message_id for r in self.received}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """``with MailServer(recorder) as port:`` an SMTP server on 127.0.0.1 for the block."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder
        self.controller = Controller(recorder, hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> int:
        self.controller.start()
        return self.controller.port

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
