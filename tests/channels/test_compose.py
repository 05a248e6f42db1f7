"""The SMTP channel writes an e-mail's bytes itself: a reader gets back what the ``email`` package's build gave."""

from __future__ import annotations

import io
from email.generator import BytesGenerator
from email.parser import BytesParser
from email.policy import default

import pytest

from unpaid.channel import ChannelError, Message
from unpaid.channels.smtp import SmtpChannel, message_id

SENDERS = ["Shop <shop@example.com>", "shop@example.com", "Школа «Курсы» <school@example.com>",
           '"Shop, Inc." <shop@example.com>']
SUBJECTS = ["Order 1 is waiting", "Заказ №1 ждёт оплаты",
            "Заказ №12345 ждёт оплаты: осталось два дня, потом место в группе отдадут другому — Школа «Курсы» 🎓",
            "A long subject in plain English words that is well over the seventy-eight characters of a line",
            "=?utf-8?q?not_an_encoded_word?=", "x" * 120, "", "tab\there", "Ünïcödé mixed with ASCII words " * 4]
BODIES = ["Pay here: https://x/1", "Здравствуйте, Анна!\n\nОплатите заказ: https://pay.example/1\n",
          ".a line starting with a dot\n.\n..\nend", "emoji 😀 and a very long line " + "слово " * 60,
          "windows\r\nline\rendings\n", "", "ascii " * 30]


def _channel(sender: str, reply_to: str | None = None) -> SmtpChannel:
    settings = {"host": "127.0.0.1", "security": "none", "sender": sender}
    if reply_to:
        settings["reply_to"] = reply_to
    return SmtpChannel("email", settings, {})


def _old(channel: SmtpChannel, message: Message):
    """What the channel sent before it wrote the bytes itself: its EmailMessage, as smtplib.send_message wrote it."""
    out = io.BytesIO()
    BytesGenerator(out, policy=default).flatten(channel.build(message), linesep="\r\n")
    return BytesParser(policy=default).parsebytes(out.getvalue())


def _lf(text: str) -> str:
    """Line ends as LF: an 8bit body (the email package's choice for short non-ASCII lines) reads back with CRLF."""
    return text.replace("\r\n", "\n")


def _seen(msg) -> dict:
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",)) if msg.is_multipart() else None
    return {"from": msg["From"], "from_names": [(a.display_name, a.addr_spec) for a in msg["From"].addresses],
            "to": msg["To"], "subject": msg["Subject"], "message_id": msg["Message-ID"],
            "reply_to": msg["Reply-To"], "mime": msg["MIME-Version"], "body": _lf(plain.get_content()),
            "charset": plain.get_content_charset(), "html": _lf(html.get_content()) if html is not None else None,
            "date": bool(msg["Date"] and msg["Date"].datetime)}


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_headers_read_back_as_the_email_package_wrote_them(sender, subject):
    channel = _channel(sender, reply_to="Поддержка <help@example.com>")
    msg = Message(order_id="shop:1", to="anna@example.com", subject=subject, body="Pay", idempotency_key="shop:1|k")
    data, mid, envelope = channel.compose(msg)
    got, old = _seen(BytesParser(policy=default).parsebytes(data)), _seen(_old(channel, msg))
    # exactly the subject; the email package's build is lossy in places: its folding can drop a space next to an
    # encoded-word, and it writes "=?...?=" text as it is, for the reader to decode
    assert got.pop("subject") == subject
    old_subject = old.pop("subject")
    if "=?" not in subject:
        assert old_subject.replace(" ", "") == subject.replace(" ", "")
    assert got == old
    got = BytesParser(policy=default).parsebytes(data)
    assert mid == got["Message-ID"] == message_id("shop:1|k", sender)
    assert envelope == got["From"].addresses[0].addr_spec
    lines = data.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines[:lines.index(b"")]), data  # headers folded
    assert b"\n" not in data.replace(b"\r\n", b"") and data.isascii()


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("html", [None, "<p>Оплатите <b>заказ</b></p>", "<p>plain</p>"])
def test_bodies_read_back_as_the_email_package_wrote_them(body, html):
    channel = _channel("Shop <shop@example.com>")
    msg = Message(order_id="shop:1", to="anna@example.com", subject="Заказ", body=body, html=html,
                  idempotency_key="shop:1|k")
    data, _mid, _envelope = channel.compose(msg)
    got = BytesParser(policy=default).parsebytes(data)
    assert _seen(got) == _seen(_old(channel, msg))
    assert got.is_multipart() == bool(html)
    lines = body.replace("\r\n", "\n").replace("\r", "\n")
    assert _lf(got.get_body(("plain",)).get_content()) == (lines if lines.endswith("\n") else lines + "\n")
    assert all(len(line) <= 78 for line in data.split(b"\r\n")) and data.isascii()


def test_what_it_does_not_write_itself_is_built_by_the_email_package():
    channel = _channel("Shop <shop@example.com>")
    base = dict(order_id="shop:1", subject="s", body="b", idempotency_key="k")
    assert channel.compose(Message(to="Anna <anna@example.com>", **base)) is None
    assert channel.compose(Message(to="анна@пример.рф", **base)) is None
    assert channel.compose(Message(to="anna@example.com", headers={"X-Tag": "1"}, **base)) is None
    assert channel.compose(Message(to="anna@example.com", **base)) is not None


@pytest.mark.parametrize("field", ["subject", "to"])
def test_a_line_break_in_a_header_is_refused_not_sent(field):
    channel = _channel("shop@example.com")
    values = {"subject": "Order", "to": "anna@example.com"}
    values[field] += "\r\nBcc: eve@example.com"
    with pytest.raises(ChannelError) as err:
        channel.send(Message(order_id="shop:1", body="b", idempotency_key="k", **values))
    assert not err.value.retryable

