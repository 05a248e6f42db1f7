"""unpaid.http: retries, Retry-After, typed errors, no POST redirects, redacted URLs."""

from __future__ import annotations

import io
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stamina

from unpaid.connector import AuthFailed, ConnectorError, InvalidData, NotFound, RateLimited, Temporary
from unpaid.http import HttpClient, RetryPolicy, json_body, retry_after, safe_url, status_error


@pytest.fixture(autouse=True)
def no_waits():
    stamina.set_testing(True, attempts=4)
    yield
    stamina.set_testing(False)


def scripted(*answers):
    """A MockTransport answering with ``answers`` in turn (an exception instance is raised)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def client(transport, **kwargs) -> HttpClient:
    return HttpClient("shop", "https://api.example.test", transport=transport, **kwargs)


def test_5xx_is_retried_until_it_succeeds():
    transport, seen = scripted(httpx.Response(502), httpx.Response(503), httpx.Response(200, json={"ok": 1}))
    response = client(transport).get("/x", params={"key": "s3cret"})
    assert json_body("shop", response) == {"ok": 1}
    assert len(seen) == 3


def test_retries_stop_after_the_policy_attempts():
    stamina.set_testing(True, attempts=2)
    transport, seen = scripted(httpx.Response(500))
    with pytest.raises(Temporary, match="failed on the server"):
        client(transport).get("/x")
    assert len(seen) == 2


def test_retry_after_sets_the_wait(monkeypatch):
    waits = []
    monkeypatch.setattr(stamina, "is_testing", lambda: False)
    import time

    monkeypatch.setattr(time, "sleep", waits.append)
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200))
    stamina.set_testing(False)
    client(transport, retry=RetryPolicy(attempts=3)).get("/x")
    assert len(seen) == 2
    assert waits == [7.0]


def test_a_long_retry_after_goes_to_the_caller():
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as info:
        client(transport).get("/x")
    assert info.value.retry_after == 3600
    assert len(seen) == 1


def test_retry_after_reads_an_http_date():
    from datetime import datetime, timezone

    response = httpx.Response(429, headers={"Retry-After": "Wed, 25 Nov 2026 10:00:30 GMT"})
    assert retry_after(response, datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)) == 30
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


@pytest.mark.parametrize("code, error", [(401, AuthFailed), (403, AuthFailed), (404, NotFound), (400, InvalidData)])
def test_statuses_map_to_typed_errors(code, error):
    transport, seen = scripted(httpx.Response(code, text="nope"))
    with pytest.raises(error):
        client(transport).get("/x")
    assert len(seen) == 1  # not retried


def test_a_post_is_not_retried_once_it_may_have_arrived():
    transport, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))
    with pytest.raises(Temporary, match="timed out"):
        client(transport).post("/create", data={"a": "1"})
    assert len(seen) == 1


def test_a_post_is_retried_when_the_connection_was_refused():
    transport, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200))
    client(transport).post("/create", data={"a": "1"})
    assert len(seen) == 2


def test_an_idempotent_post_is_retried_after_a_timeout():
    transport, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))
    client(transport).post("/update", data={"a": "1"}, idempotent=True)
    assert len(seen) == 2


def test_post_never_follows_a_redirect():
    transport, seen = scripted(httpx.Response(301, headers={"Location": "https://school.example/pl/api/deals"}))
    with pytest.raises(ConnectorError, match="redirected .301. to https://school.example") as info:
        client(transport).post("/pl/api/deals", data={"key": "s3cret-value", "action": "add"})
    assert "base_url" in info.value.fix
    assert [r.method for r in seen] == ["POST"]


def test_get_follows_a_redirect():
    transport, seen = scripted(httpx.Response(302, headers={"Location": "/there"}), httpx.Response(200, text="ok"))
    assert client(transport).get("/here").text == "ok"
    assert [r.url.path for r in seen] == ["/here", "/there"]


def test_the_body_check_hook_raises_its_error():
    def check(response):
        if response.json().get("success") is False:
            raise InvalidData("shop", "refused in the body")

    transport, _ = scripted(httpx.Response(200, json={"success": False}))
    with pytest.raises(InvalidData, match="refused in the body"):
        client(transport, check=check).get("/x")


def test_keys_never_appear_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="unpaid.http")
    transport, _ = scripted(httpx.Response(500))
    with pytest.raises(Temporary) as info:
        client(transport, headers={"Authorization": "Bearer dev_school"}).get("/x", params={"key": "s3cret-value"})
    assert "s3cret-value" not in str(info.value)
    assert "key=***" in str(info.value)
    assert "s3cret-value" not in caplog.text and "key=***" in caplog.text
    assert safe_url("https://a.test/p?key=abc123&x=1") == "https://a.test/p?key=***&x=1"


def test_not_json_is_invalid_data():
    transport, _ = scripted(httpx.Response(200, text="<html>maintenance</html>"))
    response = client(transport).get("/x")
    with pytest.raises(InvalidData, match="not JSON: '<html>maintenance") as info:
        json_body("shop", response)
    assert info.value.retryable  # a maintenance page passes: a run retries the action later, never gives up


def test_status_error_is_none_for_success():
    request = httpx.Request("GET", "https://a.test/")
    assert status_error("shop", httpx.Response(200, request=request)) is None


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.startswith("/reset"):
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        threading.Event().wait(1.0)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_real_timeouts_and_resets_become_temporary(slow_server):
    with HttpClient("shop", slow_server, timeout=0.2, retry=RetryPolicy(attempts=2)) as http:
        with pytest.raises(Temporary, match="timed out"):
            http.get("/slow", params={"key": "s3cret-value"})
        with pytest.raises(Temporary, match="failed"):
            http.get("/reset")


def test_stream_to_writes_the_body():
    transport, _ = scripted(httpx.Response(200, content=b"x" * 200_000))
    sink = io.BytesIO()
    assert client(transport).stream_to("GET", "/big", sink) == 200_000
    assert sink.getvalue() == b"x" * 200_000


def test_a_post_refused_with_503_is_retried():
    transport, seen = scripted(httpx.Response(503), httpx.Response(200))
    client(transport).post("/create", data={"a": "1"})
    assert len(seen) == 2


def test_a_post_failing_with_500_is_not_retried():
    transport, seen = scripted(httpx.Response(500), httpx.Response(200))
    with pytest.raises(Temporary):
        client(transport).post("/create", data={"a": "1"})
    assert len(seen) == 1
