"""The webhook channel against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from unpaid.channel import ChannelError, ChannelUnavailable, Delivery, Message
from unpaid.channels.webhook import WebhookChannel, idempotency_key


@pytest.fixture
def receiver():
    """A loopback endpoint that records requests, drops repeated Idempotency-Keys and can be told to fail,
    to answer the next request late (``stall`` seconds) or to hang up without answering."""
    state = {"requests": [], "seen": set(), "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers["Idempotency-Key"]
            state["requests"].append((dict(self.headers), body))
            if state.get("hangup"):  # the request arrived whole; no answer at all
                self.close_connection = True
                return
            time.sleep(state.pop("stall", 0))  # the first request only
            status = state["status"]
            if status == 200 and key in state["seen"]:
                status = 409
            state["seen"].add(key)
            self.send_response(status)
            self.send_header("X-Message-Id", "sms-1")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/sms?token=abc"
    yield state
    server.shutdown()


MSG = Message(order_id="shop:1", to="+79991234567", subject="", body="Pay order 1", idempotency_key="shop:1|pb|sms|0")


def test_posts_json_with_an_idempotency_header_and_a_token(receiver):
    channel = WebhookChannel("sms", {"url": receiver["url"]}, {"token": "t0k"})
    first = channel.send(MSG)
    again = channel.send(MSG)
    channel.close()
    (headers, body), _ = receiver["requests"]
    assert body["to"] == "+79991234567" and body["body"] == "Pay order 1" and body["key"] == MSG.idempotency_key
    assert headers["Idempotency-Key"] == idempotency_key(MSG.idempotency_key)
    assert headers["Authorization"] == "Bearer t0k"
    assert first.message_id == "sms-1" and again.detail == "duplicate"


@pytest.mark.parametrize("status,retryable", [(500, True), (429, True), (400, False), (401, True)])
def test_errors_say_whether_to_retry_and_hide_the_url(receiver, status, retryable):
    receiver["status"] = status
    channel = WebhookChannel("sms", {"url": receiver["url"]}, {})
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    assert err.value.retryable is retryable
    # a refused token refuses every message: the run stops using the channel instead of failing each one
    assert isinstance(err.value, ChannelUnavailable) is (status == 401)
    assert "token=abc" not in str(err.value) and str(status) in str(err.value)


def test_unreachable_is_retryable():
    channel = WebhookChannel("sms", {"url": "http://127.0.0.1:9/x", "timeout": 2}, {})
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    assert err.value.retryable


@pytest.mark.parametrize("fault", [{"stall": 2}, {"hangup": True}, {"status": 504}])
def test_no_answer_after_the_request_went_out_is_unknown(receiver, fault):
    receiver.update(fault)
    channel = WebhookChannel("sms", {"url": receiver["url"], "timeout": 0.5}, {})
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    channel.close()
    assert err.value.outcome is Delivery.UNKNOWN and len(receiver["requests"]) == 1
    assert channel.message_id(MSG.idempotency_key) == receiver["requests"][0][0]["Idempotency-Key"]


def test_a_request_that_never_left_is_not_sent():
    channel = WebhookChannel("sms", {"url": "http://127.0.0.1:9/x", "timeout": 2}, {})
    with pytest.raises(ChannelError) as err:
        channel.send(MSG)
    assert err.value.outcome is Delivery.NOT_SENT
