"""The webhook channel: POST each message as JSON to a URL (SMS gateways, telephony, n8n, Zapier).

Every request carries an ``Idempotency-Key`` header derived from the ledger key, so a receiver that
honours it drops a repeat; that is why the channel declares ``dedupes``.

Certainty: a request that never reached the receiver (no connection, a write that failed) is "not sent";
any HTTP answer is final; no answer once the request went out (a read timeout, the connection dropped, a
gateway's 504) is "unknown": the receiver may have acted on it.
"""

from __future__ import annotations

import hashlib
import socket
from urllib.parse import urlsplit
from typing import Any, Mapping

from unpaid.channel import Channel, ChannelError, ChannelUnavailable, Delivery, Message, Problem, Receipt
from unpaid.channels.settings import SettingsReader
from unpaid.errors import ExitCode
from unpaid.i18n import _


def idempotency_key(key: str) -> str:
    """The header value for a ledger key: stable, and free of order ids or addresses."""
    return hashlib.sha256(key.encode()).hexdigest()


class WebhookChannel(Channel):
    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]):
        # Imported here: httpx costs ~75 ms and is needed only when a webhook actually sends.
        import httpx

        self.name = name
        read = SettingsReader(name, settings)
        self.url = read.text("url", "", required=True) or ""
        parts = urlsplit(self.url)
        if self.url and (parts.scheme not in ("http", "https") or not parts.hostname):
            what = (_("the address has no host") if parts.scheme in ("http", "https")
                    else _("the address does not start with http:// or https://"))
            read.problem("url", what, _('set url = "https://host/path"'))
        elif self.url:
            read.host("url", parts.hostname or "", 'url = "https://host/path"')
        read.choice("address", ("phone", "email"), "phone")
        timeout = read.number("timeout", 15, 0.1, 600)
        self.problems = read.problems
        headers = {"User-Agent": "unpaid"}
        if secrets.get("token"):
            headers["Authorization"] = f"Bearer {secrets['token']}"
        self.client = httpx.Client(timeout=timeout, headers=headers)

    def check(self, online: bool = False) -> list[Problem]:
        if self.problems or not online:
            return list(self.problems)
        parts = urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:  # resolve and connect, then hang up: nothing is posted
            socket.create_connection((parts.hostname, port), timeout=self.client.timeout.connect or 15).close()
        except OSError as exc:
            return [Problem(self.name, "url", _("cannot connect to {where}: {problem}").format(
                where=_host(self.url), problem=exc.strerror or exc),
                _("check the URL's host and port and the network"), ExitCode.SOURCE)]
        return []

    def message_id(self, key: str) -> str:
        return idempotency_key(key)

    def send(self, message: Message) -> Receipt:
        import httpx

        payload = {"order_id": message.order_id, "to": message.to, "subject": message.subject,
                   "body": message.body, "html": message.html, "key": message.idempotency_key,
                   "data": dict(message.data)}
        try:
            response = self.client.post(self.url, json=payload,
                                        headers={"Idempotency-Key": idempotency_key(message.idempotency_key)})
        except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            # The whole request went out and no answer came back: the receiver may have acted on it.
            raise ChannelError(self.name, _("{where} did not answer ({problem}) after the request was sent: it may "
                                            "have been delivered").format(where=_host(self.url),
                                                                          problem=type(exc).__name__),
                               _("the receiver drops a repeat with the same Idempotency-Key"),
                               retryable=False, outcome=Delivery.UNKNOWN) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing reached the receiver
            raise ChannelUnavailable(self.name, _("cannot connect to {where}: {problem}").format(
                where=_host(self.url), problem=type(exc).__name__), _("check url and the network"),
                                     key="url") from None
        except httpx.TransportError as exc:
            raise ChannelError(self.name, _("cannot reach {where}: {problem}").format(
                where=_host(self.url), problem=type(exc).__name__), _("the send is retried later")) from None
        code = response.status_code
        if code == 504:  # a gateway gave up waiting for the receiver, which may still have done it
            raise ChannelError(self.name, _("{where} answered HTTP 504 (gateway timeout): it may have been "
                                            "delivered").format(where=_host(self.url)),
                               _("the receiver drops a repeat with the same Idempotency-Key"),
                               retryable=False, outcome=Delivery.UNKNOWN)
        if 200 <= code < 300 or code == 409:  # 409: the receiver already has this key
            return Receipt(self.name, message_id=response.headers.get("X-Message-Id"),
                           detail="duplicate" if code == 409 else None)
        if code == 401:  # the token: every message would be refused alike
            raise ChannelUnavailable(self.name, _("{where} refused the token (HTTP 401)").format(where=_host(self.url)),
                                     _("run `unpaid auth set {name}`").format(name=self.name), key="token")
        retryable = code == 429 or code >= 500 or code == 408
        raise ChannelError(self.name, _("{where} answered HTTP {code}").format(where=_host(self.url), code=code),
                           _("the send is retried later") if retryable else _("check the webhook's URL and token"),
                           retryable=retryable)

    def close(self) -> None:
        self.client.close()


def _host(url: str) -> str:
    # Only the host goes into errors: the path or query may carry a token.
    return url.split("://", 1)[-1].split("/", 1)[0]
