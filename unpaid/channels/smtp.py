"""The SMTP channel: real e-mail over SMTP with STARTTLS or SSL and optional login.

The Message-ID is derived from the ledger key, so a repeated send carries the same id and the
customer's mail client threads (or drops) it; plain SMTP servers do not drop repeats, so the channel
does not claim ``dedupes``. One connection is reused for a whole run and reopened when it drops.

Certainty: every failure up to the message content (connect, login, MAIL, RCPT, the DATA command) is
"not sent"; an answer to the content is final either way; a timeout or a dropped connection once the
content went out is "unknown" (the server may have stored it), never sent again by the channel.
"""

from __future__ import annotations

import binascii
import hashlib
import random
import re
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Mapping

from unpaid.channel import Channel, ChannelError, ChannelUnavailable, Delivery, Message, Problem, Receipt
from unpaid.channels.settings import SettingsReader
from unpaid.errors import ExitCode
from unpaid.i18n import _

SECURITY = ("starttls", "ssl", "none")
#: A recipient :meth:`SmtpChannel.compose` writes itself: a bare ASCII address (no display name, no quoting).
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\Z")
_LINE = 78  # RFC 5322: a line SHOULD be at most 78 characters
_WORD_BYTES = 39  # of text per RFC 2047 encoded-word: 52 base64 characters, a 64-character word


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

    # A bare ASCII address is its own <quoted> form: smtplib's quoteaddr parses every address it is given.
    def mail(self, sender, options=()):
        if not _BARE_ADDRESS.match(sender) or any(o.lower() == "smtputf8" for o in options):
            return super().mail(sender, options)  # type: ignore[misc]
        self.putcmd("mail", f"FROM:<{sender}>{self._options(options)}")  # type: ignore[attr-defined]
        return self.getreply()  # type: ignore[attr-defined]

    def rcpt(self, recipient, options=()):
        if not _BARE_ADDRESS.match(recipient):
            return super().rcpt(recipient, options)  # type: ignore[misc]
        self.putcmd("rcpt", f"TO:<{recipient}>{self._options(options)}")  # type: ignore[attr-defined]
        return self.getreply()  # type: ignore[attr-defined]

    def _options(self, options) -> str:
        return " " + " ".join(options) if options and self.does_esmtp else ""  # type: ignore[attr-defined]

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
        read = SettingsReader(name, settings)
        self.host = read.text("host", "localhost") or "localhost"
        read.host("host", self.host, 'host = "smtp.example.com"')
        self.security = read.choice("security", SECURITY, "starttls")
        default_port = 465 if self.security == "ssl" else 587
        self.port = int(read.number("port", default_port, 1, 65535, whole=True))
        self.sender = read.text("sender", "", required=True) or ""
        if self.sender and "@" not in parseaddr(self.sender)[1]:
            read.problem("sender", _("{address!r} is not an e-mail address").format(address=self.sender),
                         _('write sender = "Shop <shop@example.com>"'))
        self.username = read.text("username")
        self.password = secrets.get("password")
        if self.username and not self.password:
            read.problem("password", _("no password stored for the login {username!r}").format(username=self.username),
                         _("run `unpaid auth set {name}`, or remove username to send without a login").format(
                             name=name))
        self.timeout = read.number("timeout", 30, 0.1, 600)
        self.verify = read.flag("verify_tls", True)
        self.reply_to = read.text("reply_to")
        if self.reply_to and "@" not in parseaddr(self.reply_to)[1]:
            read.problem("reply_to", _("{address!r} is not an e-mail address").format(address=self.reply_to),
                         _('write reply_to = "a@example.com"'))
        self.problems = read.problems
        self._smtp: smtplib.SMTP | None = None
        self._head: tuple[bytes, bytes, str] | None = None  # From and Reply-To lines, envelope sender: see compose

    def check(self, online: bool = False) -> list[Problem]:
        if self.problems or not online:
            return list(self.problems)
        try:  # connect, EHLO, TLS and login as a send would, then QUIT: nothing is sent
            self._open().quit()
        except ChannelUnavailable as exc:
            return [Problem(self.name, exc.key, exc.message.removeprefix(f"{self.name}: "), exc.fix or "",
                            exc.exit_code)]
        except (OSError, smtplib.SMTPException):
            pass  # the server hung up on QUIT: it answered everything before
        return []

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        """A connection ready for MAIL: greeting, EHLO, TLS and login done; ChannelUnavailable when not."""
        where = f"{self.host}:{self.port}"
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                smtp = _SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                smtp = _SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
            smtp.ehlo_or_helo_if_needed()
            if self.username:
                smtp.login(str(self.username), self.password or "")
            return smtp
        except smtplib.SMTPAuthenticationError:
            error = ChannelUnavailable(self.name, _("{where} refused the login of {username}").format(
                where=where, username=self.username),
                _("check username and run `unpaid auth set {name}`").format(name=self.name), key="username")
        except smtplib.SMTPNotSupportedError as exc:
            error = ChannelUnavailable(self.name, _("{where} does not support it: {problem}").format(
                where=where, problem=exc), _("set security to what the server offers (starttls, ssl, none)"),
                                       key="security", exit_code=ExitCode.USAGE)
        except ssl.SSLError as exc:
            fix = (_("set verify_tls = false only for a server with a self-signed certificate, or fix host")
                   if isinstance(exc, ssl.SSLCertVerificationError) else
                   _("set security and port to what the server offers (ssl: 465, starttls: 587, none: 25)"))
            error = ChannelUnavailable(self.name, _("no TLS with {where}: {problem}").format(
                where=where, problem=exc.reason or exc), fix,
                                       key="verify_tls" if isinstance(exc, ssl.SSLCertVerificationError)
                                       else "security", exit_code=ExitCode.USAGE)
        except UnicodeError:  # idna: not a host name at all
            error = ChannelUnavailable(self.name, _("{host!r} is not a host name").format(host=self.host),
                                       _('write host = "smtp.example.com"'), key="host", exit_code=ExitCode.USAGE)
        except (OSError, smtplib.SMTPException) as exc:
            error = ChannelUnavailable(self.name, _("cannot connect to {where}: {problem}").format(
                where=where, problem=exc or type(exc).__name__), _("check host, port and the network"),
                                       key="host")
        if smtp is not None:
            smtp.close()
        raise error

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

    def compose(self, message: Message) -> tuple[bytes, str, str] | None:
        """The e-mail for ``message`` as the bytes that go out (CRLF lines), its Message-ID and the envelope sender;
        None when the ``email`` package must build it (:meth:`build`): extra headers, or a recipient that is not a
        bare ASCII address.

        The same headers as :meth:`build` (From and Reply-To folded by the ``email`` package once per channel), a
        text/plain body (multipart/alternative with the HTML) in UTF-8: 7bit when it is ASCII in short lines, else
        base64. Written directly: the ``email`` package parses every header it is given, which cost as much as the
        SMTP exchange itself. ValueError for a line break in the subject, as :meth:`build`.
        """
        if message.headers or not _BARE_ADDRESS.match(message.to):
            return None
        if self._head is None:
            eml = EmailMessage()
            eml["From"] = self.sender
            if self.reply_to:
                eml["Reply-To"] = str(self.reply_to)
            policy = eml.policy.clone(linesep="\r\n")
            sender = eml["From"].addresses[0].addr_spec if eml["From"].addresses else ""
            self._head = (policy.fold_binary("From", eml["From"]),
                          policy.fold_binary("Reply-To", eml["Reply-To"]) if self.reply_to else b"", sender)
        head_from, head_reply, envelope = self._head
        if not envelope.isascii():  # SMTPUTF8: the email package's send_message knows it
            return None
        mid = message_id(message.idempotency_key, self.sender) if message.idempotency_key else make_msgid()
        text = _part("plain", message.body)
        if message.html:
            html = _part("html", message.html)
            while True:
                boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="
                if boundary.encode() not in text and boundary.encode() not in html:
                    break
            mark = b"--" + boundary.encode()
            content = (f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode() + mark +
                       b"\r\n" + text + b"\r\n" + mark + b"\r\n" + html + b"\r\n" + mark + b"--\r\n")
        else:
            content = text
        data = b"".join((head_from, f"To: {message.to}\r\n".encode(), _header("Subject", message.subject),
                         f"Date: {formatdate(localtime=False)}\r\nMessage-ID: {mid}\r\n".encode(), head_reply,
                         b"MIME-Version: 1.0\r\n", content))
        return data, mid, envelope

    def send(self, message: Message) -> Receipt:
        try:
            composed = self.compose(message)
            if composed is None:
                eml = self.build(message)
                mid = eml["Message-ID"]
        except ValueError as exc:  # a line break in an address or the subject: no header may carry it
            raise ChannelError(self.name, _("cannot build the e-mail to {to!r}: {problem}").format(
                to=message.to, problem=exc), _("fix the customer's address or the template's subject"),
                retryable=False) from None
        if composed is not None:
            data, mid, envelope = composed
        for attempt in (1, 2):  # a pooled connection may have timed out: reconnect once
            smtp = self._connect()
            smtp.content_sent = False
            try:
                if composed is None:
                    smtp.send_message(eml)
                else:
                    smtp.sendmail(envelope, [message.to], data)  # sendmail does the dot-stuffing
                return Receipt(self.name, message_id=mid)
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise ChannelError(self.name, _("{to} refused: {code} {text}").format(
                    to=message.to, code=code, text=_text(text)), _("fix the customer's address"),
                    retryable=code < 500) from None
            except smtplib.SMTPResponseException as exc:  # the server answered: nothing was accepted
                self.close()
                raise ChannelError(self.name, _("server answered {code} {text}").format(
                    code=exc.smtp_code, text=_text(exc.smtp_error)), _("see the server's log"),
                    retryable=exc.smtp_code < 500) from None
            except OSError as exc:  # timeouts, resets, SMTPServerDisconnected
                uncertain = smtp.content_sent
                self.close()
                if uncertain:
                    raise ChannelError(
                        self.name, _("{where} did not confirm {message_id} after the whole message was sent "
                                     "({problem}): it may have been delivered").format(
                            where=f"{self.host}:{self.port}", message_id=mid,
                            problem=exc or type(exc).__name__),
                        _("look the Message-ID up in the mail server's log, then settle it with `unpaid review`"),
                        retryable=False, outcome=Delivery.UNKNOWN) from None
                if attempt == 2:
                    raise ChannelError(self.name, _("connection to {where} lost: {problem}").format(
                        where=f"{self.host}:{self.port}", problem=exc), _("the send is retried later")) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None


def _header(name: str, value: str) -> bytes:
    """``Name: value`` with CRLF, folded under 78 characters: ASCII words as they are, other text as RFC 2047
    encoded-words (UTF-8, base64) of whole characters."""
    if "\r" in value or "\n" in value:
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    words = value.split(" ")
    if value.isascii() and value.isprintable() and "=?" not in value and all(words[1:-1]) and \
            max(map(len, words)) < _LINE - len(name) - 2:
        lines, line = [], f"{name}:"
        for word in words:
            if len(line) + 1 + len(word) > _LINE and line != f"{name}:":
                lines.append(line)
                line = ""
            line += " " + word
        lines.append(line)
        return ("\r\n".join(lines) + "\r\n").encode()
    chunks, chunk, size = [], [], 0
    for char in value:
        n = len(char.encode("utf-8"))
        if size + n > _WORD_BYTES and chunk:
            chunks.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += n
    chunks.append("".join(chunk))
    encoded = [f"=?utf-8?b?{binascii.b2a_base64(c.encode('utf-8'), newline=False).decode()}?=" for c in chunks]
    return (f"{name}: " + "\r\n ".join(encoded) + "\r\n").encode()


def _part(subtype: str, text: str) -> bytes:
    """A text part, its headers included: 7bit when ASCII in lines of at most 78, else base64 of its UTF-8.

    The lines end in LF inside base64 and CRLF outside it, and the text ends with a line break, as the ``email``
    package's ``set_content`` writes them."""
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= _LINE and all(line.isascii() for line in lines):
        cte, body = "7bit", b"\r\n".join(lines) + b"\r\n"
    else:
        raw = b"\n".join(lines) + b"\n"
        cte = "base64"
        body = b"".join(binascii.b2a_base64(raw[i:i + 57], newline=False) + b"\r\n" for i in range(0, len(raw), 57))
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'.encode() + body


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
