"""Check before acting: a run whose channel is misconfigured or unreachable sends, holds and gives up nothing.

Real SQLite, a real SMTP server on loopback (aiosmtpd), the CLI in-process.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from tests.playbook.procs import T0

pytest.importorskip("aiosmtpd")
from tests.channels.smtpd import Inbox, free_port, server  # noqa: E402,F401 - server is a fixture

SENDER = "shop@example.com"


def smtp(port: int, **settings) -> dict:
    return {"type": "smtp", "host": "127.0.0.1", "port": port, "security": "none", "sender": SENDER,
            "timeout": 3, **settings}


def rows(result) -> list[dict]:
    return json.loads(result.stdout) if result.stdout.strip() else []


def results(result) -> list[tuple[str, str]]:
    return [(r["order_id"], r["result"]) for r in rows(result) if r["step"] == "letter"]


def untouched(world, keys) -> bool:
    """Nothing held, failed or counted: every key is absent, or planned again with no attempt."""
    entries = [world.ledger(k) for k in keys]
    return all(e is None or (e.state == "planned" and e.attempts == 0) for e in entries)


def test_a_bad_setting_stops_the_run_before_the_first_claim(world):
    world.configure(mail=smtp(70000, security="tls"))
    keys = world.many(3)
    result = world.run(T0, code=2)
    assert "[channels.mail] security: 'tls' is not one of starttls, ssl, none" in result.stderr
    assert "[channels.mail] port: 70000 is out of range" in result.stderr  # every problem, one line each
    assert all(world.ledger(k) is None for k in keys)
    assert json.loads(result.stdout)["exit"] == 2  # JSON was asked for: the error is one object on stdout
    doctor = world.run(T0, command="doctor", code=2)
    failed = [c for c in json.loads(doctor.stdout) if c["result"] == "fail"]
    assert [(c["name"], c["detail"].split(":")[0]) for c in failed] == [
        ("channel mail: settings", "[channels.mail] security"), ("channel mail: settings", "[channels.mail] port")]
    assert "2 of" in doctor.stderr and "checks failed" in doctor.stderr


def test_an_unknown_key_in_an_outbox_is_caught_by_doctor_and_run(world, tmp_path):
    world.configure(mail={"type": "outbox", "path": str(tmp_path / "box"), "pth": "x"})
    keys = world.many(2)
    result = world.run(T0, code=2)
    assert "[channels.mail] pth: is not a setting of outbox channels" in result.stderr
    assert all(world.ledger(k) is None for k in keys) and not (tmp_path / "box").exists()
    [fail] = [c for c in json.loads(world.run(T0, command="doctor", code=2).stdout) if c["result"] == "fail"]
    assert fail["detail"].startswith("[channels.mail] pth") and fail["fix"] == "remove the key or fix its spelling"


def test_starttls_against_a_server_without_tls_stops_with_exit_2_then_sends_once_fixed(world, server):
    inbox = Inbox()
    port = server(inbox)
    world.configure(mail=smtp(port, security="starttls"))
    keys = world.many(3)
    first = world.run(T0, code=2)
    assert results(first) == [("shop:1", "deferred"), ("shop:2", "deferred"), ("shop:3", "deferred")]
    [line] = [ln for ln in first.stderr.splitlines() if ln.startswith("Error: ")]
    assert "STARTTLS" in line and "set security" in line and "the rest of channel mail's actions stay due" in line
    assert inbox.messages == [] and untouched(world, keys)
    plan = rows(world.run(T0, command="plan"))
    assert [p["kind"] for p in plan if p["step"] == "letter"] == ["act"] * 3  # due, not held, not failed
    online = world.run(T0, "--online", command="doctor", code=2)
    assert any(c["name"] == "channel mail: online" and c["result"] == "fail" for c in json.loads(online.stdout))
    world.configure(mail=smtp(port))
    assert results(world.run(T0, code=0)) == [("shop:1", "done"), ("shop:2", "done"), ("shop:3", "done")]
    ids = Counter(m["Message-ID"] for m in inbox.messages)
    assert len(ids) == 3 and set(ids.values()) == {1}


def test_an_unreachable_server_stops_with_exit_3_and_a_later_run_sends_each_once(world, server):
    world.configure(mail=smtp(free_port()))
    keys = world.many(3)
    first = world.run(T0, code=3)
    assert {r for _, r in results(first)} == {"deferred"} and untouched(world, keys)
    assert "cannot connect to 127.0.0.1" in first.stderr and "held" not in first.stderr
    assert json.loads(world.run(T0, "--online", command="doctor", code=3).stdout)
    inbox = Inbox()
    world.configure(mail=smtp(server(inbox)))
    assert {r for _, r in results(world.run(T0 + timedelta(minutes=5), code=0))} == {"done"}
    assert sorted(Counter(m["To"] for m in inbox.messages).items()) == [(f"c{i}@example.com", 1) for i in (1, 2, 3)]
    assert world.run(T0 + timedelta(hours=1), code=0) and len(inbox.messages) == 3


def test_a_refused_login_stops_with_exit_3(world, server, tmp_path):
    from aiosmtpd.smtp import AuthResult

    from tests.channels.test_smtp import _tls

    port = server(Inbox(), tls_context=_tls(tmp_path), require_starttls=True, auth_require_tls=True,
                  authenticator=lambda *a: AuthResult(success=False, handled=False))
    world.configure(mail=smtp(port, security="starttls", username="shop", verify_tls=False))
    keys = world.many(2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNPAID_SECRET_MAIL_PASSWORD", "wrong")
        result = world.run(T0, code=3)
    assert "refused the login of shop" in result.stderr and untouched(world, keys)


def test_a_permanent_refusal_fails_that_letter_only(world, server):
    inbox = Inbox(refuse="c2@example.com")
    world.configure(mail=smtp(server(inbox)))
    world.many(3)
    result = world.run(T0, code=1)
    assert results(result) == [("shop:1", "done"), ("shop:2", "failed"), ("shop:3", "done")]
    assert len(inbox.messages) == 2


def test_playbooks_check_validates_the_channels_it_uses(world, tmp_path):
    world.configure(mail=smtp(free_port(), security="tls"))
    book = tmp_path / "book.toml"
    book.write_text('[playbooks.b]\nsegment = "unpaid"\nchannel = "mail"\n[[playbooks.b.steps]]\n'
                    'name = "letter"\naction = "send"\ntemplate = "letter"\n[segments.unpaid]\nmin_age = "1h"\n')
    result = world.cli(["--config", str(world.config), "playbooks", "check", str(book)])
    assert result.exit_code == 2, result.output
    assert "ok  b: 1 step\n" in result.stdout
    assert "fail  [channels.mail] security: 'tls' is not one of starttls, ssl, none" in result.stdout
    world.configure(mail=smtp(free_port()))
    assert world.cli(["--config", str(world.config), "playbooks", "check", str(book)]).exit_code == 0
    online = world.cli(["--config", str(world.config), "playbooks", "check", "--online", str(book)])
    assert online.exit_code == 3 and "fail  [channels.mail] host: cannot connect" in online.stdout
