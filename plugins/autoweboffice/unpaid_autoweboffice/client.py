"""Raw AutoWebOffice calls over :mod:`unpaid.http`: keys, routing, throttle and the API's body quirks.

No business logic: list / get / create / update / delete one entity, and send an invoice e-mail.
Every request, retries included, passes the account's sliding-window throttle first.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import httpx  # this module is imported only when a connector is built, never by `unpaid --help`

from unpaid.connector import AuthFailed, ConnectorError, InvalidData, NotFound, Temporary
from unpaid.errors import ConfigError
from unpaid.http import HttpClient, RetryPolicy, safe_url
from unpaid.ratelimit import SlidingWindow, shared
from unpaid.secrets import env_var, redact
from unpaid_autoweboffice.wire import decode_objects, is_no_items, route, search_params, xml_body

MAX_PAGE = 1000
DNS_FAILURES = ("Name or service not known", "nodename nor servname", "getaddrinfo failed", "No address associated")


class ThrottledTransport(httpx.BaseTransport):
    """Takes a throttle slot around every request that goes on the wire, retries included."""

    def __init__(self, inner: httpx.BaseTransport, window: SlidingWindow):
        self.inner = inner
        self.window = window
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.window.slot():
            self.sent += 1
            response = self.inner.handle_request(request)
            response.read()  # the slot covers the whole answer, so the server is done with it
            return response

    def close(self) -> None:
        self.inner.close()


class AwoClient:
    """One account's API: ``base_url`` (``{subdomain}`` filled in), the GET and SET keys."""

    def __init__(self, source: str, base_url: str, subdomain: str, get_key: str, set_key: str | None, *,
                 rate: tuple[int, float] = (20, 5.0), timeout: float = 30.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.source = source
        self.subdomain = subdomain
        self.base_url = base_url.replace("{subdomain}", subdomain)
        self._get_key = get_key
        self._set_key = set_key
        # One budget per account in this process: two sources on one account share it.
        self.window = shared(f"autoweboffice:{self.base_url}", *rate)
        self.transport = ThrottledTransport(transport or httpx.HTTPTransport(), self.window)
        self.http = HttpClient(source, self.base_url, timeout=timeout, retry=retry, transport=self.transport)

    @property
    def requests(self) -> int:
        """Requests sent so far, retries included."""
        return self.transport.sent

    # ---- calls ----

    def list(self, entity: str, search: Mapping[str, Any] | None = None, *, page: int = 0,
             page_size: int = MAX_PAGE, sort: str | None = None) -> list[dict[str, Any]]:
        """One zero-based page of a search; ``[]`` for the API's "No items where found" text."""
        size = max(1, min(MAX_PAGE, int(page_size)))
        params = search_params(search, page=page, page_size=size, sort=sort)
        values = self._call("GET", entity, params, empty_ok=True)
        if not values:
            return []
        rows = values[0]
        if isinstance(rows, dict):  # a single row may come back as an object
            rows = [rows]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidData(self.source, f"the {entity} search answered with {str(rows)[:80]!r}, not rows",
                              "report it: the API changed its answer")
        return rows

    def pages(self, entity: str, search: Mapping[str, Any] | None = None, *, page_size: int = MAX_PAGE,
              sort: str | None = None, start: int = 0) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (page number, rows) until a short page or the "no items" text."""
        page = start
        while True:
            rows = self.list(entity, search, page=page, page_size=page_size, sort=sort)
            if rows:
                yield page, rows
            if len(rows) < max(1, min(MAX_PAGE, int(page_size))):
                return
            page += 1

    def get(self, entity: str, row_id: str) -> dict[str, Any]:
        """One row by id (with computed fields such as ``link_for_pay``); NotFound when absent."""
        values = self._call("GET", entity, [("id", str(row_id))], row_id=row_id)
        if not isinstance(values[0], dict):
            raise InvalidData(self.source, f"{entity} {row_id}: answered with {str(values[0])[:80]!r}",
                              "report it: the API changed its answer")
        return values[0]

    def create(self, entity: str, items: Sequence[Mapping[str, Any]], *, keep_going: bool = False) -> list[Any]:
        """POST items as XML; one result per item (a row, or ``{"error", "inputData"}`` with keep_going)."""
        params = [("donotfallonerror", "1")] if keep_going else []
        values = self._call("POST", entity, params, content=xml_body(items),
                            headers={"Content-Type": 'text/xml; charset="utf-8"'})
        for value in values:
            if isinstance(value, list):  # creation stopped at an invalid item
                raise self._refused(entity, value)
        return values

    def update(self, entity: str, row_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """PUT with every field in the query string; returns the updated row."""
        params = [("id", str(row_id))] + [(k, "" if v is None else str(v)) for k, v in fields.items()]
        values = self._call("PUT", entity, params, row_id=row_id)
        return values[0] if isinstance(values[0], dict) else {}

    def delete(self, entity: str, row_id: str) -> None:
        """DELETE (a soft delete for invoices and contacts); deleting twice is not an error."""
        self._call("DELETE", entity, [("id", str(row_id))], row_id=row_id, idempotent=True)

    def send_invoice_mail(self, account_id: str) -> None:
        """``accountssendmail``: AutoWebOffice e-mails the invoice (with its payment link) again."""
        self._call("GET", "accountssendmail", [("id", str(account_id))], row_id=account_id, write=True,
                   idempotent=False)

    def close(self) -> None:
        self.http.close()

    # ---- plumbing ----

    def _key(self, write: bool) -> str:
        if not write:
            return self._get_key
        if not self._set_key:
            raise ConfigError(f"{self.source}: no set_key stored: changes need the API KEY SET",
                              f"copy it from Настройки → API and run `unpaid auth set {self.source}` "
                              f"(or set {env_var(self.source, 'set_key')})")
        return self._set_key

    def _call(self, method: str, entity: str, params: list[tuple[str, str]], *, row_id: str | None = None,
              empty_ok: bool = False, write: bool | None = None, idempotent: bool | None = None,
              **kwargs: Any) -> list[Any]:
        write = method != "GET" if write is None else write
        query = [("r", route(entity)), ("key", self._key(write))] + params
        try:
            response = self.http.request(method, "", params=query, idempotent=idempotent, **kwargs)
        except AuthFailed as exc:
            raise self._auth(write, exc) from None
        except NotFound:
            raise ConnectorError(self.source, f"no AutoWebOffice account {self.subdomain!r} at "
                                 f"{safe_url(self.base_url)} (or no resource {entity!r})",
                                 f"check `subdomain` (and `base_url`) in [sources.{self.source}]") from None
        except Temporary as exc:
            if any(marker in str(exc) for marker in DNS_FAILURES):
                raise ConnectorError(self.source, f"{safe_url(self.base_url)} does not exist",
                                     f"check `subdomain` in [sources.{self.source}]: it is the ACCOUNT in "
                                     "https://ACCOUNT.autoweboffice.ru") from None
            raise
        return self._decode(response, entity, row_id, empty_ok)

    def _decode(self, response: httpx.Response, entity: str, row_id: str | None, empty_ok: bool) -> list[Any]:
        text = response.text.strip()
        if is_no_items(text):
            if empty_ok:
                return []
            raise NotFound(self.source, f"{entity} {row_id}: not found", "check the id")
        if text.startswith("Error:"):
            if "find any model" in text:
                raise NotFound(self.source, f"{entity} {row_id} does not exist in AutoWebOffice",
                               "it may have been deleted for good; run `unpaid sync`")
            raise InvalidData(self.source, f"{entity}: AutoWebOffice answered {redact(text[:160])!r}",
                              "check the values sent")
        try:
            values = decode_objects(text)
        except ValueError:
            start = redact(text[:80]) or "an empty body"
            exc = InvalidData(self.source, f"{response.request.method} {entity}: the answer is not JSON: {start!r}",
                              "AutoWebOffice may be under maintenance or behind a proxy; try again later, "
                              "and check base_url")
            exc.retryable = True  # a maintenance page: a run defers the action instead of giving up
            raise exc from None
        if len(values) == 1 and isinstance(values[0], list) and values[0] and \
                all(isinstance(v, str) for v in values[0]):
            raise self._refused(entity, values[0])
        return values

    def _refused(self, entity: str, messages: list[Any]) -> InvalidData:
        text = "; ".join(str(m) for m in messages)
        return InvalidData(self.source, f"AutoWebOffice refused the {entity} change: {text}",
                           "correct the value (in unpaid or in AutoWebOffice) and try again")

    def _auth(self, write: bool, exc: AuthFailed) -> AuthFailed:
        code = "403" if "(403)" in str(exc) else "401"
        if write and code == "403":
            return AuthFailed(self.source, "the key used for a change has no write access — is the GET key "
                              "stored as set_key?", f"store the API KEY SET (Настройки → API) with "
                              f"`unpaid auth set {self.source}`")
        which = "set_key (API KEY SET)" if write else "get_key (API KEY GET)"
        return AuthFailed(self.source, f"AutoWebOffice refused the {which} ({code})",
                          f"copy the key from Настройки → API and run `unpaid auth set {self.source}`")
