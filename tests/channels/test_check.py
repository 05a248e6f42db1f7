"""``Channel.check``: every bad setting named with its key and fix; online, a real connection that sends nothing."""

from __future__ import annotations

import pytest

from unpaid.channels.outbox import OutboxChannel
from unpaid.channels.smtp import SmtpChannel
from unpaid.channels.webhook import WebhookChannel

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.smtp import AuthResult  # noqa: E402

from tests.channels.smtpd import Inbox, free_port, server  # noqa: E402,F401 - server is a fixture
from tests.channels.test_smtp import _tls  # noqa: E402

OK = {"host": "127.0.0.1", "security": "none", "sender": "shop@example.com"}


def problems(channel, online=False):
    return [(p.key, p.exit_code) for p in channel.check(online)]


@pytest.mark.parametrize("settings,key", [
    ({"security": "tls"}, "security"),
    ({"port": 0}, "port"),
    ({"port": 70000}, "port"),
    ({"port": "587"}, "port"),
    ({"timeout": "slow"}, "timeout"),
    ({"verify_tls": "no"}, "verify_tls"),
    ({"sender": "nobody"}, "sender"),
    ({"sender": ""}, "sender"),
    ({"host": "smtp example.com"}, "host"),
    ({"host": "smtp..example.com"}, "host"),
    ({"reply_to": "a\r\nBcc: x@example.com"}, "reply_to"),
    ({"username": "shop"}, "password"),
])
def test_each_bad_smtp_setting_is_one_problem_naming_its_key(settings, key):
    channel = SmtpChannel("email", {**OK, **settings}, {})
    [problem] = channel.check()
    assert (problem.key, problem.exit_code) == (key, 2)
    assert str(problem).startswith(f"[channels.email] {key}: ") and " — " in str(problem)


def test_all_problems_are_named_at_once_and_a_good_table_has_none():
    assert problems(SmtpChannel("email", {**OK, "security": "tls", "port": -1}, {})) == [("security", 2), ("port", 2)]
    assert SmtpChannel("email", OK, {}).check() == []
    assert SmtpChannel("email", {**OK, "username": "shop"}, {"password": "x"}).check() == []


def test_online_smtp_connects_and_logs_in_but_sends_nothing(server, tmp_path):
    inbox, logins = Inbox(), []

    def auth(server, session, envelope, mechanism, data):
        logins.append(data.password)
        return AuthResult(success=data.password == b"s3cret", handled=False)

    port = server(inbox, tls_context=_tls(tmp_path), require_starttls=True, authenticator=auth,
                  auth_require_tls=True)
    settings = {**OK, "port": port, "security": "starttls", "username": "shop", "verify_tls": False}
    assert SmtpChannel("email", settings, {"password": "s3cret"}).check(online=True) == []
    assert problems(SmtpChannel("email", settings, {"password": "wrong"}), online=True) == [("username", 3)]
    assert logins[0] == b"s3cret" and set(logins[1:]) == {b"wrong"} and inbox.messages == []
    verified = SmtpChannel("email", {**settings, "verify_tls": True}, {"password": "s3cret"})
    assert problems(verified, online=True) == [("verify_tls", 2)]  # a self-signed certificate


def test_online_starttls_against_a_server_without_tls_is_a_setting_to_fix(server):
    port = server(Inbox())
    [problem] = SmtpChannel("email", {**OK, "port": port, "security": "starttls"}, {}).check(online=True)
    assert (problem.key, problem.exit_code) == ("security", 2) and "STARTTLS" in problem.message


def test_online_ssl_against_a_plain_server_and_nobody_listening(server):
    port = server(Inbox())
    assert problems(SmtpChannel("email", {**OK, "port": port, "security": "ssl", "timeout": 3}, {}),
                    online=True) == [("security", 2)]
    assert problems(SmtpChannel("email", {**OK, "port": free_port(), "timeout": 2}, {}), online=True) == [("host", 3)]


def test_offline_problems_are_reported_without_connecting():
    channel = SmtpChannel("email", {**OK, "port": free_port(), "security": "tls"}, {})
    assert problems(channel, online=True) == [("security", 2)]  # not also "cannot connect"


@pytest.mark.parametrize("settings,key", [
    ({"url": "ftp://example.com/x"}, "url"),
    ({"url": "https:///path"}, "url"),
    ({"url": "https://a..b/path"}, "url"),
    ({}, "url"),
    ({"url": "https://example.com", "timeout": 0}, "timeout"),
    ({"url": "https://example.com", "address": "fax"}, "address"),
])
def test_bad_webhook_settings(settings, key):
    assert problems(WebhookChannel("sms", settings, {})) == [(key, 2)]


def test_online_webhook_connects_without_posting():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        assert WebhookChannel("sms", {"url": f"http://127.0.0.1:{port}/hook?token=abc"}, {}).check(True) == []
        conn, _ = listener.accept()
        conn.settimeout(1)
        assert conn.recv(100) == b""  # connected and hung up: no request was posted
        conn.close()
    [problem] = WebhookChannel("sms", {"url": f"http://127.0.0.1:{free_port()}/x?token=abc"}, {}).check(True)
    assert (problem.key, problem.exit_code) == ("url", 3) and "token=abc" not in str(problem)


def test_outbox_path_must_be_a_writable_folder(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert problems(OutboxChannel("out", {"path": str(afile)})) == [("path", 2)]
    assert problems(OutboxChannel("out", {"path": str(afile / "below")})) == [("path", 2)]
    assert problems(OutboxChannel("out", {"path": 5})) == [("path", 2)]
    assert problems(OutboxChannel("out", {"path": str(tmp_path / ("x" * 5000))})) == [("path", 2)]
    assert problems(OutboxChannel("out", {"path": "mail", "_config_dir": str(tmp_path)}), online=True) == []
    folder = tmp_path / "box"
    folder.mkdir()
    assert OutboxChannel("out", {"path": str(folder)}).check(online=True) == []
    assert list(folder.iterdir()) == []  # the test file is gone


def test_outbox_folder_not_writable(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "box"
    folder.mkdir(mode=0o500)
    assert problems(OutboxChannel("out", {"path": str(folder)})) == [("path", 2)]
