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
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Mapping

from unpaid.channel import Channel, ChannelError, ChannelUnavailable, Delivery, Message, Problem, Receipt
from unpaid.channels.settings import SettingsReader
from unpaid.errors import ExitCode
from unpaid.i18n import _

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

    def send(self, message: Message) -> Receipt:
        try:
            eml = self.build(message)
        except ValueError as exc:  # a line break in an address or the subject: no header may carry it
            raise ChannelError(self.name, _("cannot build the e-mail to {to!r}: {problem}").format(
                to=message.to, problem=exc), _("fix the customer's address or the template's subject"),
                retryable=False) from None
        for attempt in (1, 2):  # a pooled connection may have timed out: reconnect once
            smtp = self._connect()
            smtp.content_sent = False
            try:
                smtp.send_message(eml)
                return Receipt(self.name, message_id=eml["Message-ID"])
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
                            where=f"{self.host}:{self.port}", message_id=eml["Message-ID"],
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


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
