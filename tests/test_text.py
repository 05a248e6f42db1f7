"""Control characters from sources: cleaned before the store, written out (never obeyed) on a terminal."""

from __future__ import annotations

import io
import json

import pytest

from unpaid.channel import ChannelError, Message
from unpaid.model import normalize_email
from unpaid.output import Column, render, render_one
from unpaid.text import clean, clean_text, terminal_safe

ESC = "\x1b[31mred\x1b[0m"


def test_clean_text_makes_control_characters_spaces():
    assert clean_text("Anna Petrova") == "Anna Petrova"
    assert clean_text("Anna\r\nBcc: x@example.com") == "Anna Bcc: x@example.com"
    assert clean_text(ESC) == "[31mred [0m"
    assert clean_text("a\u202eb\u200bc\x00d") == "a b c d"
    assert clean(None) is None and clean("  \r\n ") is None and clean(12) == "12"


def test_an_email_with_a_line_break_is_unreadable():
    assert normalize_email(" Anna@Example.com ") == "anna@example.com"
    assert normalize_email("anna@example.com\r\nBcc: all@example.com") is None
    assert normalize_email("anna@example.com\x1b[0m") is None


def test_terminal_safe_writes_controls_out():
    assert terminal_safe("plain") == "plain"
    assert terminal_safe(ESC) == "\\x1b[31mred\\x1b[0m"
    assert terminal_safe("a\rb\nc") == "a\\rb\\nc"
    assert terminal_safe("a\rb\nc", newlines=True) == "a\\rb\nc"
    assert terminal_safe("\u202eevil\u2066") == "\\u202eevil\\u2066"


def test_tables_and_cards_neutralise_but_json_keeps_the_data():
    row = {"name": ESC, "note": "line 1\nline 2\r"}
    out = io.StringIO()
    render([row], "table", out, [Column("name", "Name"), Column("note", "Note", lambda v: v)])
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue() and "\\x1b[31mred" in out.getvalue()
    card = io.StringIO()
    render_one(row, "table", card)
    assert "\x1b" not in card.getvalue() and "\\x1b[31mred\\x1b[0m" in card.getvalue()
    raw = io.StringIO()
    render([row], "json", raw)
    assert "\x1b" not in raw.getvalue() and json.loads(raw.getvalue()) == [row]  # JSON escapes it, data intact
    data = io.StringIO()
    render([row], "csv", data)
    assert ESC in data.getvalue()  # a data format: the value as it is


def test_messages_and_errors_on_the_terminal_are_neutralised(cli):
    result = cli(["show", f"shop:{ESC}\r\nError: forged"])
    assert result.exit_code != 0
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")] == [result.stderr.strip()]


def test_app_info_and_warn_write_controls_out():
    from unpaid.cli.context import App

    err = io.StringIO()
    app = App(stdout=io.StringIO(), stderr=err)
    app.info(f"\nsynced {ESC}")
    app.warn(f"name {ESC}\r\nWarning: forged")
    app.error(f"bad {ESC}")
    lines = err.getvalue().splitlines()
    assert lines == ["", "synced \\x1b[31mred\\x1b[0m", "Warning: name \\x1b[31mred\\x1b[0m\\r\\nWarning: forged",
                     "Error: bad \\x1b[31mred\\x1b[0m"]


@pytest.mark.parametrize("field", ["to", "subject"])
def test_no_mail_header_carries_a_line_break(field):
    from unpaid.channels.smtp import SmtpChannel

    msg = Message("shop:1", "anna@example.com", "Your order", "Pay", "shop:1|pb|s|0")
    bad = Message(**{**msg.__dict__, field: getattr(msg, field) + "\r\nBcc: all@example.com"})
    channel = SmtpChannel("email", {"host": "127.0.0.1", "port": 9, "security": "none", "sender": "s@example.com"}, {})
    with pytest.raises(ChannelError) as err:  # refused before connecting: port 9 is never tried
        channel.send(bad)
    assert err.value.outcome.value == "not sent" and not err.value.retryable
