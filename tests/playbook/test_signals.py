"""SIGTERM, SIGHUP and SIGINT stop a real `unpaid run` cleanly: exit 130, one line, no claim left held, no temp file.

The run is stopped while a message is in flight through a slow channel: that message is finished and written
down, nothing after it starts, and the next run (at the same moment: no lease to wait for) sends the rest once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.playbook.procs import T0
from unpaid.store.ledger import CLAIMED, DONE

STOPS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]


def claimed(world) -> list[str]:
    with world.store() as store:
        return [r[0] for r in store.conn.execute("SELECT key FROM ledger WHERE state = ?", (CLAIMED,))]


@pytest.mark.parametrize("sig", STOPS, ids=[s.name for s in STOPS])
def test_a_signal_finishes_the_message_in_flight_then_stops_with_130(world, sig):
    world.configure(delay=0.5)  # slow enough for the signal to land mid-send
    keys = world.many(6)
    proc = world.spawn(T0)
    world.wait_for(proc, world.log, "sent ", 1)
    world.wait_for(proc, world.log, "start ", 2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.startswith(("Interrupted", "Error", "Traceback"))]
    assert lines == [f"Interrupted by {sig.name} — run the command again: finished actions are not repeated"]
    assert claimed(world) == []  # the message in flight was written down, not left claimed for 15 minutes
    started, sent = world.started(), world.sent()
    assert started == sent == keys[:2]
    assert all(world.ledger(k).state == DONE for k in sent)
    report = json.loads(out)  # what the stopped run did, for the log
    assert [r["key"] for r in report if r["result"] == "done"] == sent

    world.configure()
    world.run(T0)  # same moment: nothing waits for a lease
    assert Counter(world.sent()) == Counter(keys)


def test_a_second_signal_interrupts_at_once(world):
    world.configure(delay=30)
    world.many(2)
    proc = world.spawn(T0)
    world.wait_for(proc, world.log, "start ", 1)
    proc.send_signal(signal.SIGTERM)
    # Two signals close together reach Python as one, and on a loaded machine 0.5 s can be "together":
    # signal again until one counts as the second. The action under way takes 30 s, so an exit within
    # 20 s can only be the second signal's.
    deadline, err = time.monotonic() + 20, None
    while err is None and time.monotonic() < deadline:
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=1)
        except subprocess.TimeoutExpired:
            continue
    assert err is not None, "the run did not stop within 20 s of a second signal"
    assert proc.returncode == 130 and "Interrupted by SIGTERM" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("sig", STOPS, ids=[s.name for s in STOPS])
def test_other_commands_stop_at_once_with_130(world, sig):
    """A status push stuck at the source: the command stops now, and the store is left as it was."""
    # The push would take 300 s; 90 s leaves a loaded machine room to start and end an interpreter.
    world.configure(push_delay=300)
    world.many(1)
    proc = subprocess.Popen([sys.executable, "-m", "unpaid", *world.args(T0, "status", "shop:1", "paid")],
                            cwd=world.root, env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    world.wait_for(proc, world.pushes, "start ", 1)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{sig.name} did not stop the command within 90 s: {proc.communicate()}")
    assert proc.returncode == 130, err
    assert err.strip() == f"Interrupted by {sig.name} — run the command again: finished actions are not repeated"
    assert json.loads(out) == {"error": err.strip().removeprefix("Error: "), "exit": 130}  # --format json
    with world.store() as store:
        assert store.orders.get("shop:1").status.value == "new"


def test_no_temp_file_is_left_in_the_outbox(world, tmp_path):
    outbox = tmp_path / "outbox"
    world.configure(channel="outbox")
    world.config.write_text(world.config.read_text().replace(f'path = "{world.log}"', f'path = "{outbox}"', 1))
    world.many(400)
    proc = world.spawn(T0)
    deadline = time.monotonic() + 60
    while len(list(outbox.glob("*.eml"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert list(outbox.glob(".*.tmp")) == []
    assert claimed(world) == []


def test_sigterm_while_an_smtp_server_stalls_its_reply_waits_for_it_and_sends_nothing_twice(world):
    """A loopback SMTP server that holds back its 250: the stop waits for the reply, records the send, stops."""
    pytest.importorskip("aiosmtpd")
    import asyncio
    import email
    import re
    import socket

    from aiosmtpd.controller import Controller

    class Stalling:
        def __init__(self):
            self.received: list = []

        async def handle_DATA(self, server, session, envelope):
            self.received.append(email.message_from_bytes(envelope.content))
            await asyncio.sleep(1.0)  # the message is stored; the reply comes late
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Stalling()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        world.configure()
        smtp = (f'[channels.mail]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                f'sender = "Shop <shop@example.com>"\ntimeout = 10\n')
        world.config.write_text(re.sub(r'\[channels\.mail\]\ntype = "log"\npath = "[^"]*"\n', smtp,
                                       world.config.read_text()))
        keys = world.many(4)
        proc = world.spawn(T0)
        deadline = time.monotonic() + 60
        while len(inbox.received) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)  # the second message is stored, its 250 not sent yet
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert claimed(world) == []
        assert [r["key"] for r in json.loads(out) if r["result"] == "done"] == keys[:2]
        world.run(T0)
        to = Counter(m["To"] for m in inbox.received)
        assert sorted(to) == sorted(f"c{i}@example.com" for i in range(1, 5)) and set(to.values()) == {1}
    finally:
        server.stop()
