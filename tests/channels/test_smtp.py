"""The SMTP channel against a real SMTP server on loopback (aiosmtpd), plain and with STARTTLS + login."""

from __future__ import annotations

import datetime as dt
import email
import socket
import ssl

import pytest

from unpaid.channel import ChannelError, Message
from unpaid.channels.smtp import SmtpChannel, message_id

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402


class Inbox:
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


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tls(tmp_path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    return ctx


@pytest.fixture
def server():
    started = []

    def start(handler, **kwargs):
        port = _port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for c in started:
        c.stop()


MSG = Message(order_id="shop:1", to="anna@example.com", subject="Order 1 is waiting", body="Pay here: https://x/1",
              idempotency_key="shop:1|pb|first|0", html="<p>Pay</p>")


def test_sends_a_real_email_with_message_id_from_the_key(server):
    inbox = Inbox()
    port = server(inbox)
    channel = SmtpChannel("email", {"host": "127.0.0.1", "port": port, "security": "none",
                                    "sender": "Shop <shop@example.com>"}, {})
    receipt = channel.send(MSG)
    channel.send(MSG)
    channel.close()
    assert len(inbox.messages) == 2
    got = inbox.messages[0]
    assert got["To"] == "anna@example.com" and got["Subject"] == "Order 1 is waiting"
    assert got["Message-ID"] == receipt.message_id == message_id(MSG.idempotency_key, "shop@example.com")
    assert inbox.messages[1]["Message-ID"] == got["Message-ID"]  # a repeat carries the same id
    assert message_id("other|key", "shop@example.com") != got["Message-ID"]
    assert "shop:1" not in got["Message-ID"] and got["Message-ID"].endswith("@example.com>")
    assert got.is_multipart()


def test_starttls_and_login(server, tmp_path):
    inbox = Inbox()
    logins = []

    def auth(server, session, envelope, mechanism, data):
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret", handled=False)

    port = server(inbox, tls_context=_tls(tmp_path), require_starttls=True, authenticator=auth,
                  auth_require_tls=True)
    settings = {"host": "127.0.0.1", "port": port, "security": "starttls", "sender": "shop@example.com",
                "username": "shop", "verify_tls": False}
    channel = SmtpChannel("email", settings, {"password": "s3cret"})
    channel.send(MSG)
    channel.close()
    assert logins == [(b"shop", b"s3cret")] and len(inbox.messages) == 1

    bad = SmtpChannel("email", settings, {"password": "wrong"})
    with pytest.raises(ChannelError) as err:
        bad.send(MSG)
    assert not err.value.retryable and "wrong" not in str(err.value)


def test_refused_recipient_is_not_retried_and_a_dead_server_is(server):
    port = server(Inbox(refuse="anna@example.com"))
    channel = SmtpChannel("email", {"host": "127.0.0.1", "port": port, "security": "none",
                                    "sender": "shop@example.com"}, {})
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    assert not err.value.retryable and "550" in str(err.value)
    dead = SmtpChannel("email", {"host": "127.0.0.1", "port": _port(), "security": "none",
                                 "sender": "shop@example.com", "timeout": 2}, {})
    with pytest.raises(ChannelError) as err:
        dead.send(MSG)
    assert err.value.retryable
