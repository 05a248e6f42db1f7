"""The outbox channel: messages become files in a folder (demo, dry runs, hand-off to other tools)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Mapping

from unpaid.channel import Channel, ChannelError, ChannelUnavailable, Delivery, Message, Problem, Receipt
from unpaid.channels.settings import SettingsReader
from unpaid.errors import ExitCode
from unpaid.i18n import _

#: Write errors a setting fixes (permissions, a file where the folder should be); others (a full disk) pass.
_SETTING_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EROFS, errno.EISDIR, errno.EEXIST})


def file_stem(key: str) -> str:
    """A readable, unique file stem for an idempotency key: its sanitized start plus a hash of all of it.

    Only letters, digits, ``_`` and ``-``: no dot (nothing for a suffix to cut) and a valid msg-id left part.
    """
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", key)[:80].strip("_-")
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).hexdigest()
    return f"{prefix}-{digest}" if prefix else digest


class OutboxChannel(Channel):
    """Writes ``<stem>.eml`` and ``<stem>.json`` (owner-only) per key; a repeated key overwrites them (dedupes)."""

    def __init__(self, name: str, settings: Mapping[str, Any]):
        self.name = name
        read = SettingsReader(name, settings)
        self.folder = read.folder("path", "outbox")
        read.choice("address", ("email", "phone"), "email")
        self.problems = read.problems

    def check(self, online: bool = False) -> list[Problem]:
        if self.problems or not online or not self.folder.is_dir():
            return list(self.problems)
        try:  # a file of our own that goes at once: proof the folder takes files
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".unpaid-check-", suffix=".tmp"):
                pass
        except OSError as exc:
            return [Problem(self.name, "path", _("cannot write to {folder}: {reason}").format(
                folder=self.folder, reason=exc.strerror),
                _("let the user running unpaid write there, or point path elsewhere"))]
        return []

    def message_id(self, key: str) -> str:
        return f"<{file_stem(key)}@unpaid.outbox>"

    def delivered(self, key: str) -> Delivery:
        """The .eml appears at once (a temp file renamed): it exists exactly when the message was written.
        A tool that takes files out of the folder makes a missing one prove nothing: see docs/review.md."""
        return Delivery.SENT if (self.folder / (file_stem(key) + ".eml")).is_file() else Delivery.NOT_SENT

    def send(self, message: Message) -> Receipt:
        stem = file_stem(message.idempotency_key)
        try:
            eml = EmailMessage()
            eml["To"] = message.to
            eml["Subject"] = message.subject
            eml["Message-ID"] = self.message_id(message.idempotency_key)
            for key, value in message.headers.items():
                eml[key] = value
            eml.set_content(message.body)
            if message.html:
                eml.add_alternative(message.html, subtype="html")
        except ValueError as exc:  # a line break in an address or the subject: no header may carry it
            raise ChannelError(self.name, _("cannot build the message to {to!r}: {problem}").format(
                to=message.to, problem=exc), _("fix the customer's address or the template's subject"),
                retryable=False) from None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            eml_path = self.folder / (stem + ".eml")
            _atomic_write(eml_path, bytes(eml))
            record = {"order_id": message.order_id, "to": message.to, "subject": message.subject,
                      "body": message.body, "key": message.idempotency_key, "data": dict(message.data)}
            _atomic_write(self.folder / (stem + ".json"),
                          json.dumps(record, ensure_ascii=False, indent=2, default=str).encode())
        except OSError as exc:  # the folder, not this message: nothing more can be written now
            code = ExitCode.USAGE if exc.errno in _SETTING_ERRORS else ExitCode.SOURCE
            raise ChannelUnavailable(self.name, _("cannot write to {folder}: {reason}").format(
                folder=self.folder, reason=exc.strerror), _("check the outbox `path`, its permissions and free space"),
                key="path", exit_code=code) from None
        return Receipt(self.name, message_id=eml["Message-ID"], detail=str(eml_path))


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as 0600 via a temp file of this writer's own in the same folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), 0o600)  # mkstemp opens it 0600, but a umask could still take bits away
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
