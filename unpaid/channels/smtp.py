"""The SMTP channel: real e-mail over SMTP with STARTTLS or SSL and optional login.

The Message-ID is derived from the ledger key, so a repeated send carries the same id and the
customer's mail client threads (or drops) it; plain SMTP servers do not drop repeats, so the channel
does not claim ``dedupes``. One connection is reused for a whole run and reopened when it drops.

Certainty: every failure up to the message content (connect, login, MAIL, RCPT, the DATA command) is
"not sent"; an answer to the content is final either way; a timeout or a dropped connection once the
content went out is "unknown" (the server may have stored it), never sent again by the channel.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Mapping

from unpaid.channel import Channel, ChannelError, Delivery, Message, Receipt

SECURITY = ("starttls", "ssl", "none")


def message_id(key: str, sender: str) -> str:
    """A stable ``<...@domain>`` Message-ID for a ledger key (no personal data in it)."""
    domain = sender.rpartition("@")[2].strip("> ") or "unpaid.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class _Tracked:
    """Notes when a message's content starts going out: from then on a lost connection leaves its fate unknown."""

    in_data = False
    content_sent = False

    def data(self, msg):
        self.in_data = True
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            self.in_data = False

    def send(self, s):
        # Inside DATA, commands go out as str (putcmd) and the content as bytes.
        if self.in_data and isinstance(s, bytes):
            self.content_sent = True
        return super().send(s)  # type: ignore[misc]


class _SMTP(_Tracked, smtplib.SMTP):
    pass


class _SMTP_SSL(_Tracked, smtplib.SMTP_SSL):
    pass


class SmtpChannel(Channel):
    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]):
        self.name = name
        self.host = str(settings.get("host") or "localhost")
        self.security = str(settings.get("security") or "starttls").lower()
        if self.security not in SECURITY:
            raise ChannelError(name, f"security {self.security!r} is not one of {', '.join(SECURITY)}",
                               'set security = "starttls", "ssl" or "none"', retryable=False)
        default_port = 465 if self.security == "ssl" else 587
        self.port = int(settings.get("port") or default_port)
        self.sender = str(settings.get("sender") or "")
        self.username = settings.get("username")
        self.password = secrets.get("password")
        self.timeout = float(settings.get("timeout") or 30)
        self.verify = settings.get("verify_tls", True) is not False
        self.reply_to = settings.get("reply_to")
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = _SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                smtp = _SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
            if self.username:
                smtp.login(str(self.username), self.password or "")
        except smtplib.SMTPAuthenticationError:
            raise ChannelError(self.name, f"{self.host}:{self.port} refused the login of {self.username}",
                               f"check the user and run `unpaid auth set {self.name}`", retryable=False) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ChannelError(self.name, f"{self.host}:{self.port} does not support it: {exc}",
                               "set security to what the server offers (starttls, ssl, none)",
                               retryable=False) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(self.name, f"cannot connect to {self.host}:{self.port}: {exc}",
                               "check host, port and security; the send is retried later") from None
        self._smtp = smtp
        return smtp

    def build(self, message: Message) -> EmailMessage:
        """The e-mail for ``message``, headers included."""
        eml = EmailMessage()
        eml["From"] = self.sender
        eml["To"] = message.to
        eml["Subject"] = message.subject
        eml["Date"] = formatdate(localtime=False)
        eml["Message-ID"] = message_id(message.idempotency_key, self.sender) if message.idempotency_key \
            else make_msgid()
        if self.reply_to:
            eml["Reply-To"] = str(self.reply_to)
        for key, value in message.headers.items():
            eml[key] = value
        eml.set_content(message.body)
        if message.html:
            eml.add_alternative(message.html, subtype="html")
        return eml

    def message_id(self, key: str) -> str:
        return message_id(key, self.sender)

    def send(self, message: Message) -> Receipt:
        try:
            eml = self.build(message)
        except ValueError as exc:  # a line break in an address or the subject: no header may carry it
            raise ChannelError(self.name, f"cannot build the e-mail to {message.to!r}: {exc}",
                               "fix the customer's address or the template's subject", retryable=False) from None
        for attempt in (1, 2):  # a pooled connection may have timed out: reconnect once
            smtp = self._connect()
            smtp.content_sent = False
            try:
                smtp.send_message(eml)
                return Receipt(self.name, message_id=eml["Message-ID"])
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise ChannelError(self.name, f"{message.to} refused: {code} {_text(text)}",
                                   "fix the customer's address", retryable=code < 500) from None
            except smtplib.SMTPResponseException as exc:  # the server answered: nothing was accepted
                self.close()
                raise ChannelError(self.name, f"server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                                   "see the server's log", retryable=exc.smtp_code < 500) from None
            except OSError as exc:  # timeouts, resets, SMTPServerDisconnected
                uncertain = smtp.content_sent
                self.close()
                if uncertain:
                    raise ChannelError(
                        self.name, f"{self.host}:{self.port} did not confirm {eml['Message-ID']} after the whole "
                        f"message was sent ({exc or type(exc).__name__}): it may have been delivered",
                        "look the Message-ID up in the mail server's log, then settle it with `unpaid review`",
                        retryable=False, outcome=Delivery.UNKNOWN) from None
                if attempt == 2:
                    raise ChannelError(self.name, f"connection to {self.host}:{self.port} lost: {exc}",
                                       "the send is retried later") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
