"""The outbox channel: one pair of owner-only files per idempotency key, whatever the key holds."""

from __future__ import annotations

import email
import os
import re
import stat
from contextlib import contextmanager

import pytest

from unpaid.channel import ChannelError, Delivery, Message
from unpaid.channels import outbox
from unpaid.channels.outbox import OutboxChannel, file_stem

ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
MSG_ID = re.compile(rf"<{ATEXT}(\.{ATEXT})*@{ATEXT}(\.{ATEXT})*>")


def message(key: str) -> Message:
    return Message(order_id="shop:1042.1", to="anna@example.com", subject="Order", body="Pay", idempotency_key=key)


def letters(folder):
    return sorted(p.name for p in folder.iterdir())


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_keys_that_differ_after_a_dot_get_their_own_files(tmp_path):
    channel = OutboxChannel("outbox", {"path": str(tmp_path)})
    keys = ["shop:1042.1|pb|email|0", "shop:1042.2|pb|email|0", "shop:1042|pb|email|0"]
    receipts = {channel.send(message(key)).message_id for key in keys}
    names = letters(tmp_path)
    assert len(receipts) == 3 and len(names) == 6
    assert all(name.startswith("shop_1042") for name in names)


def test_a_repeated_key_overwrites_the_same_files(tmp_path):
    channel = OutboxChannel("outbox", {"path": str(tmp_path)})
    first = channel.send(message("shop:7|pb|email|0"))
    names = letters(tmp_path)
    again = channel.send(message("shop:7|pb|email|0"))
    assert letters(tmp_path) == names and first.message_id == again.message_id


def test_long_keys_that_differ_only_at_the_end_do_not_collide():
    base = "shop:" + "x" * 200
    assert file_stem(base + "1") != file_stem(base + "2")


@pytest.mark.parametrize("key", ["shop:1042.1|pb|email|0", "..odd  key../ä|", "...", "ё"])
def test_the_message_id_is_deterministic_and_valid(tmp_path, key):
    channel = OutboxChannel("outbox", {"path": str(tmp_path)})
    channel.send(message(key))
    [eml] = tmp_path.glob("*.eml")
    msg_id = email.message_from_bytes(eml.read_bytes())["Message-ID"]
    assert MSG_ID.fullmatch(msg_id) and msg_id == f"<{file_stem(key)}@unpaid.outbox>"


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_letters_are_owner_only_whatever_the_umask(tmp_path, mask):
    folder = tmp_path / "outbox"
    folder.mkdir()
    stale = folder / (file_stem("shop:1|pb|email|0") + ".eml")
    stale.write_text("old")
    stale.chmod(0o644)
    with umask(mask):
        OutboxChannel("outbox", {"path": str(folder)}).send(message("shop:1|pb|email|0"))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert len(modes) == 2 and set(modes.values()) == {0o600}


def test_each_write_has_its_own_temp_file_and_a_failed_one_leaves_none(tmp_path, monkeypatch):
    temps = []

    def failing_replace(src, dst):
        temps.append(src)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outbox.os, "replace", failing_replace)
    channel = OutboxChannel("outbox", {"path": str(tmp_path)})
    for _ in range(2):
        with pytest.raises(ChannelError, match="No space left"):
            channel.send(message("shop:1|pb|email|0"))
    assert len(set(temps)) == 2 and letters(tmp_path) == []


def test_the_outbox_can_prove_whether_a_message_was_written(tmp_path):
    channel = OutboxChannel("outbox", {"path": str(tmp_path / "out")})
    assert channel.delivered("shop:1|pb|email|0") is Delivery.NOT_SENT  # not even the folder yet
    receipt = channel.send(message("shop:1|pb|email|0"))
    assert channel.delivered("shop:1|pb|email|0") is Delivery.SENT
    assert channel.delivered("shop:2|pb|email|0") is Delivery.NOT_SENT
    assert receipt.message_id == channel.message_id("shop:1|pb|email|0") and receipt.detail.endswith(".eml")


def test_a_line_break_in_a_header_is_refused_and_nothing_is_written(tmp_path):
    channel = OutboxChannel("outbox", {"path": str(tmp_path)})
    bad = Message(order_id="shop:1", to="a@example.com\nBcc: x@example.com", subject="s", body="b",
                  idempotency_key="shop:1|pb|email|0")
    with pytest.raises(ChannelError) as err:
        channel.send(bad)
    assert err.value.outcome is Delivery.NOT_SENT and not err.value.retryable and letters(tmp_path) == []
