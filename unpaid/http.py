"""The connectors' shared HTTP client: timeouts, retries, typed errors and secret-free URLs.

Every connector talks to its API through :class:`HttpClient`, so the rules live in one place:

- every call has a timeout (connect, read, write, pool);
- transient failures (timeouts, resets, 429, 5xx) are retried with exponential backoff and
  jitter by ``stamina``; a ``Retry-After`` header sets the wait instead;
- non-idempotent calls (a POST that creates something) are retried only when the request never
  left (connection refused), so nothing happens twice;
- HTTP statuses become the typed errors of :mod:`unpaid.connector`; APIs that report errors in a
  200 body pass a ``check`` hook that raises the right one;
- redirects are never followed for POST: a followed 301/302 turns it into a bodyless GET, which
  some APIs (GetCourse on a custom domain) then answer with a misleading error;
- every URL that is logged or put into an error has ``key=``/``token=`` values and bearer tokens
  blanked (:func:`unpaid.secrets.redact`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

# httpx and stamina are imported at module level on purpose: this module is itself imported only
# inside connector factories, never by `unpaid --help` or the plugin listing.
import httpx
import stamina

from unpaid.i18n import _

from unpaid.connector import (
    AuthFailed, ConnectorError, InvalidData, NotFound, RateLimited, Temporary,
)
from unpaid.secrets import redact

log = logging.getLogger("unpaid.http")


def _retry_scheduled(details: "stamina.instrumentation.RetryDetails") -> None:
    log.debug("retry %d of %s in %.1fs after %s", details.retry_num, details.name, details.wait_for,
              redact(str(details.caused_by)))


# stamina's own hook logs each retry as a bare warning line ("stamina.retry_scheduled") that lands on
# stderr and in cron's mail; retries are ours to report, so they go to the debug log (-v) instead.
stamina.instrumentation.set_on_retry_hooks([_retry_scheduled])

#: A hook that inspects a 2xx response and raises a ConnectorError when its body reports a failure.
BodyCheck = Callable[[httpx.Response], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry transient failures; ``attempts=1`` disables retries."""

    attempts: int = 4
    timeout: float = 120.0  # total seconds spent retrying one call
    wait_initial: float = 1.0
    wait_max: float = 30.0
    #: A Retry-After longer than this is not waited for: the error goes to the caller instead.
    max_retry_after: float = 120.0


def safe_url(url: httpx.URL | str) -> str:
    """The URL with credentials blanked, fit for logs and error messages."""
    return redact(str(url))


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or bad."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def status_error(source: str, response: httpx.Response) -> ConnectorError | None:
    """The typed error for a non-2xx response (None for 2xx)."""
    code = response.status_code
    if code < 300:
        return None
    where = f"{response.request.method} {safe_url(response.request.url)}"
    if 300 <= code < 400:
        target = safe_url(response.headers.get("Location", "?"))
        return ConnectorError(source, _("{call} was redirected ({code}) to {target}").format(
                                  call=where, code=code, target=target),
                              _("point base_url at the address the account redirects to (its own domain)"))
    if code in (401, 403):
        return AuthFailed(source, _("{call} was refused ({code})").format(call=where, code=code),
                          _("check the key with `unpaid auth set {source}` and that it has the needed rights")
                          .format(source=source))
    if code == 404:
        return NotFound(source, _("{call} found nothing (404)").format(call=where), _("check base_url and the id"))
    if code == 429:
        wait = retry_after(response)
        fix = (_("wait {seconds:.0f}s and run again").format(seconds=wait) if wait is not None
               else _("wait a little and run again"))
        error = RateLimited(source, _("{call} was rate limited (429)").format(call=where), fix, retry_after=wait)
        error.sent = False  # refused before handling: safe to repeat
        return error
    if code >= 500:
        error = Temporary(source, _("{call} failed on the server ({code})").format(call=where, code=code),
                          _("try again later"))
        error.retry_after = retry_after(response)
        error.sent = code != 503  # 503: the server refused to handle it, so even a POST may be repeated
        return error
    return InvalidData(source, _("{call} was rejected ({code}): {body}").format(
                           call=where, code=code, body=redact(response.text[:200])),
                       _("check the values sent; this is likely a bug in the connector"))


def _transport_error(source: str, request: httpx.Request, exc: httpx.TransportError) -> Temporary:
    where = f"{request.method} {safe_url(request.url)}"
    if isinstance(exc, httpx.TimeoutException):
        message = _("{call} timed out ({error})").format(call=where, error=type(exc).__name__)
    else:
        message = _("{call} failed: {type}: {error}").format(call=where, type=type(exc).__name__,
                                                             error=redact(str(exc)) or _("connection error"))
    error = Temporary(source, message, _("check the network and that the service is up, then run again"))
    error.retry_after = None
    error.sent = not isinstance(exc, httpx.ConnectError)  # ConnectError: nothing reached the server
    return error


class HttpClient:
    """An httpx client bound to one source: base URL, timeouts, retries and error mapping.

    ``check`` runs on every 2xx response; raise from it to report errors an API puts in the body.
    ``on_request`` is called for every request actually sent, retries included (budget counters).
    """

    def __init__(self, source: str, base_url: str, *, timeout: float = 30.0, retry: RetryPolicy | None = None,
                 headers: Mapping[str, str] | None = None, check: BodyCheck | None = None,
                 on_request: Callable[[httpx.Request], None] | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.source = source
        self.retry = retry or RetryPolicy()
        self.check = check
        hooks = {"request": [on_request]} if on_request else {}
        self._client = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(timeout), headers=dict(headers or {}),
            follow_redirects=False, event_hooks=hooks, transport=transport,
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, *, idempotent: bool | None = None, check: bool = True,
                **kwargs: Any) -> httpx.Response:
        """Send one call, retrying transient failures; return the response or raise a ConnectorError.

        ``idempotent`` defaults to True for GET and False otherwise. Redirects are followed only for
        GET (at most five), never for POST. ``kwargs`` go to :meth:`httpx.Client.build_request`.
        """
        idempotent = method.upper() == "GET" if idempotent is None else idempotent
        for attempt in self._attempts(idempotent):
            with attempt:
                return self._send_once(method, path, kwargs, follow=method.upper() == "GET", check=check)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _attempts(self, idempotent: bool) -> Any:
        """The stamina retry loop for one call."""
        policy = self.retry
        return stamina.retry_context(on=self._retryable(idempotent), attempts=policy.attempts,
                                     timeout=policy.timeout, wait_initial=policy.wait_initial,
                                     wait_max=policy.wait_max)

    def _retryable(self, idempotent: bool) -> Callable[[Exception], bool | float]:
        """The stamina hook: retry transient errors, waiting what Retry-After asks when it says."""
        limit = self.retry.max_retry_after

        def should_retry(exc: Exception) -> bool | float:
            if not isinstance(exc, (Temporary, RateLimited)):
                return False
            if not idempotent and getattr(exc, "sent", True):
                return False  # it may have happened: never twice
            wait = getattr(exc, "retry_after", None)
            if wait is None:
                return True
            return float(wait) if wait <= limit else False

        return should_retry

    def _send_once(self, method: str, path: str, kwargs: Mapping[str, Any], *, follow: bool,
                   check: bool) -> httpx.Response:
        request = self._client.build_request(method, path, **kwargs)
        log.debug("%s %s", method, safe_url(request.url))
        for _hop in range(6 if follow else 1):
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                raise _transport_error(self.source, request, exc) from None
            if not (follow and response.is_redirect and response.next_request is not None):
                break
            log.debug("redirected to %s", safe_url(response.next_request.url))
            request = response.next_request
        log.debug("%s %s -> %s", method, safe_url(request.url), response.status_code)
        error = status_error(self.source, response)
        if error is not None:
            raise error
        if check and self.check is not None:
            self.check(response)
        return response

    def stream_to(self, method: str, path: str, sink: Any, *, chunk_size: int = 1 << 16, **kwargs: Any) -> int:
        """Send an idempotent call and write its body to the seekable binary file ``sink``.

        For large answers at low memory. Retried like :meth:`request` (``sink`` is emptied before
        each attempt); status errors are mapped the same way, the body check is not run.
        Returns the bytes written.
        """
        for attempt in self._attempts(True):
            with attempt:
                sink.seek(0)
                sink.truncate()
                return self._stream_once(method, path, sink, chunk_size, kwargs)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _stream_once(self, method: str, path: str, sink: Any, chunk_size: int, kwargs: Mapping[str, Any]) -> int:
        request = self._client.build_request(method, path, **kwargs)
        log.debug("%s %s (streamed)", method, safe_url(request.url))
        written = 0
        try:
            for _hop in range(6 if method.upper() == "GET" else 1):  # redirects as for request(): GET only
                response = self._client.send(request, stream=True)
                if not (response.is_redirect and response.next_request is not None and method.upper() == "GET"):
                    break
                response.close()
                log.debug("redirected to %s", safe_url(response.next_request.url))
                request = response.next_request
            try:
                error = status_error(self.source, response)
                if error is not None:
                    raise error
                for chunk in response.iter_bytes(chunk_size):
                    sink.write(chunk)
                    written += len(chunk)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise _transport_error(self.source, request, exc) from None
        return written

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def json_body(source: str, response: httpx.Response) -> Any:
    """Decode a JSON answer; InvalidData naming the call and the start of the body when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        where = f"{response.request.method} {safe_url(response.request.url)}"
        body = redact(response.text[:80].strip())
        exc = InvalidData(source, _("{call} answered with something that is not JSON: {start!r}").format(
                              call=where, start=body) if body else
                          _("{call} answered with something that is not JSON: {start}").format(
                              call=where, start=repr(_("an empty body"))),
                          _("the service may be down or behind a proxy; try again later"))
        exc.retryable = True  # a maintenance or proxy page: a run defers the action instead of giving up
        raise exc from None
