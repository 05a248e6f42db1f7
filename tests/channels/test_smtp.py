"""The SMTP channel against a real SMTP server on loopback (aiosmtpd), plain and with STARTTLS + login."""

from __future__ import annotations

import datetime as dt
import email
import ssl
import time

import pytest

from unpaid.channel import ChannelError, ChannelUnavailable, Delivery, Message
from unpaid.channels.smtp import SmtpChannel, message_id

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.smtp import AuthResult  # noqa: E402

from tests.channels.smtpd import Flaky, Inbox, free_port, server  # noqa: E402,F401 - server is a fixture


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
    # the whole channel cannot send: the run puts the message back and stops using the channel (exit 3)
    assert isinstance(err.value, ChannelUnavailable) and err.value.exit_code == 3
    assert "wrong" not in str(err.value)


def test_refused_recipient_is_not_retried_and_a_dead_server_is(server):
    port = server(Inbox(refuse="anna@example.com"))
    channel = SmtpChannel("email", {"host": "127.0.0.1", "port": port, "security": "none",
                                    "sender": "shop@example.com"}, {})
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    assert not err.value.retryable and "550" in str(err.value)
    dead = SmtpChannel("email", {"host": "127.0.0.1", "port": free_port(), "security": "none",
                                 "sender": "shop@example.com", "timeout": 2}, {})
    with pytest.raises(ChannelError) as err:
        dead.send(MSG)
    assert err.value.retryable


# ---- certainty: sent, not sent, or unknown ----

def _channel(port: int, timeout: float = 5) -> SmtpChannel:
    return SmtpChannel("email", {"host": "127.0.0.1", "port": port, "security": "none",
                                 "sender": "shop@example.com", "timeout": timeout}, {})


def test_a_server_silent_after_the_message_makes_it_unknown_and_never_resends(server):
    inbox = Flaky(stall=1.5)
    channel = _channel(server(inbox), timeout=0.5)
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    expected_id = message_id(MSG.idempotency_key, "shop@example.com")
    assert err.value.outcome is Delivery.UNKNOWN and not err.value.retryable
    assert expected_id in str(err.value) and channel.message_id(MSG.idempotency_key) == expected_id
    time.sleep(1.5)  # the server finishes storing: it has the message once, the channel did not send it again
    assert [m["Message-ID"] for m in inbox.messages] == [expected_id]
    other = Message(**{**MSG.__dict__, "idempotency_key": "shop:2|pb|first|0"})
    assert channel.send(other).message_id  # the next message goes out on a new connection
    channel.close()
    assert len(inbox.messages) == 2


def test_a_hang_up_after_the_message_is_unknown(server):
    inbox = Flaky(drop_after_data=True)
    with pytest.raises(ChannelError) as err:
        _channel(server(inbox)).send(MSG)
    assert err.value.outcome is Delivery.UNKNOWN and len(inbox.messages) == 1


def test_a_dropped_connection_before_the_message_is_reopened_and_sent_once(server):
    inbox = Flaky(drop_mail=True)
    channel = _channel(server(inbox))
    channel.send(MSG)
    channel.close()
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("fault,retryable", [
    ({"mail_reply": "451 try again later"}, True),
    ({"rcpt_reply": "450 mailbox busy"}, True),
    ({"rcpt_reply": "550 no such user"}, False),
    ({"data_reply": "451 local error"}, True),
    ({"data_reply": "554 rejected as spam"}, False),
])
def test_an_answer_from_the_server_means_not_sent(server, fault, retryable):
    inbox = Flaky(**fault)
    with pytest.raises(ChannelError) as err:
        _channel(server(inbox)).send(MSG)
    assert err.value.outcome is Delivery.NOT_SENT and err.value.retryable is retryable
    assert inbox.messages == []


def test_nobody_listening_means_not_sent():
    with pytest.raises(ChannelError) as err:
        _channel(free_port(), timeout=2).send(MSG)
    assert err.value.outcome is Delivery.NOT_SENT and err.value.retryable


def test_a_line_break_in_the_address_is_refused_before_connecting():
    bad = Message(**{**MSG.__dict__, "to": "anna@example.com\r\nBcc: all@example.com"})
    with pytest.raises(ChannelError) as err:
        _channel(free_port()).send(bad)
    assert err.value.outcome is Delivery.NOT_SENT and not err.value.retryable


def test_through_a_real_server_the_dots_and_the_text_arrive_intact(server):
    from email.parser import BytesParser
    from email.policy import default

    inbox = Inbox()
    channel = SmtpChannel("email", {"host": "127.0.0.1", "port": server(inbox), "security": "none",
                                    "sender": "Школа <school@example.com>"}, {})
    body = ".\n..\n.a line starting with a dot\nЗдравствуйте 😀\n"
    for text in (body, "ascii\n.\n"):  # base64 and 7bit
        channel.send(Message(order_id="shop:1", to="anna@example.com", subject="Заказ №1", body=text,
                             idempotency_key="shop:1|k"))
    channel.close()
    got = [BytesParser(policy=default).parsebytes(m.as_bytes()) for m in inbox.messages]
    assert [m.get_content().replace("\r\n", "\n") for m in got] == [body, "ascii\n.\n"]
    assert [m["Subject"] for m in got] == ["Заказ №1"] * 2
