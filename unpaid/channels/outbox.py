"""The outbox channel: messages become files in a folder (demo, dry runs, hand-off to other tools)."""

from __future__ import annotations

import json
import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Mapping

from unpaid.channel import Channel, ChannelError, Message, Receipt


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:150]


class OutboxChannel(Channel):
    """Writes ``<key>.eml`` and ``<key>.json``; a repeated key overwrites the same files (dedupes)."""

    def __init__(self, name: str, settings: Mapping[str, Any]):
        self.name = name
        base = Path(settings.get("_config_dir") or ".")
        path = Path(settings.get("path") or "outbox").expanduser()
        self.folder = path if path.is_absolute() else base / path

    def send(self, message: Message) -> Receipt:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stem = self.folder / _safe(message.idempotency_key)
            eml = EmailMessage()
            eml["To"] = message.to
            eml["Subject"] = message.subject
            eml["Message-ID"] = f"<{_safe(message.idempotency_key)}@unpaid.outbox>"
            for key, value in message.headers.items():
                eml[key] = value
            eml.set_content(message.body)
            if message.html:
                eml.add_alternative(message.html, subtype="html")
            _atomic_write(stem.with_suffix(".eml"), bytes(eml))
            record = {"order_id": message.order_id, "to": message.to, "subject": message.subject,
                      "body": message.body, "key": message.idempotency_key, "data": dict(message.data)}
            _atomic_write(stem.with_suffix(".json"),
                          json.dumps(record, ensure_ascii=False, indent=2, default=str).encode())
        except OSError as exc:
            raise ChannelError(self.name, f"cannot write to {self.folder}: {exc.strerror}",
                               "check the outbox `path` and its permissions", retryable=False) from None
        return Receipt(self.name, message_id=str(stem.with_suffix(".eml")))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
