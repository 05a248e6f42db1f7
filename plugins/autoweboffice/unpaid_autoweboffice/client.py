"""Raw AutoWebOffice calls over :mod:`unpaid.http`: keys, routing, throttle and the API's body quirks.

No business logic: list / get / create / update / delete one entity, and send an invoice e-mail.
Every request, retries included, passes the account's sliding-window throttle first.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import httpx  # this module is imported only when a connector is built, never by `unpaid --help`

from unpaid.connector import AuthFailed, ConnectorError, InvalidData, NotFound, Temporary
from unpaid.errors import ConfigError, ExitCode
from unpaid.http import HttpClient, RetryPolicy, safe_url
from unpaid.ratelimit import SlidingWindow, StoredWindow, shared
from unpaid.secrets import env_var, redact
from unpaid_autoweboffice.i18n import N_, _
from unpaid_autoweboffice.paging import ceiling, walk
from unpaid_autoweboffice.wire import (
    decode_objects, is_no_items, is_not_found, plain, route, search_params, xml_body,
)

if TYPE_CHECKING:
    from unpaid.source_state import State

MAX_PAGE = 1000
#: Each table's key, and what one of its rows is called in messages.
TABLES = {"accounts": ("id_account", N_("invoice")), "accountline": ("id_account_line", N_("invoice line")),
          "contacts": ("id_contact", N_("contact")), "goods": ("id_goods", N_("product")),
          "contactnewsletterlinks": ("id_contact_newsletter_links", N_("subscription")),
          "contacttaglnk": ("id_contact_tag_lnk", N_("contact tag")),
          "funnelcontact": ("id_funnel_contact", N_("funnel entry")),
          "accountssendmail": ("id_account", N_("invoice"))}
DNS_FAILURES = ("Name or service not known", "nodename nor servname", "getaddrinfo failed", "No address associated")


class Refused(InvalidData):
    """AutoWebOffice refused a value sent (its validation messages): sending it again cannot help.

    Exit 1, as for a refused value in a batch — not 3, which means the source could not be reached.
    """

    exit_code = ExitCode.FAILED


class ThrottledTransport(httpx.BaseTransport):
    """Takes a throttle slot around every request that goes on the wire, retries included.

    It also keeps the body of the last error answer (per thread): :mod:`unpaid.http` turns a 404 or
    400 into an error without it, and only the body tells an unknown id from an unknown account.
    """

    def __init__(self, inner: httpx.BaseTransport, window: SlidingWindow, stored: StoredWindow | None = None):
        self.inner = inner
        self.window = window
        self.stored = stored
        self.sent = 0
        self._last = threading.local()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.window.slot(), (self.stored.slot() if self.stored else nullcontext()):
            self.sent += 1
            response = self.inner.handle_request(request)
            response.read()  # the slot covers the whole answer, so the server is done with it
            failed = response.status_code >= 400
            self._last.error = (response.status_code, response.text) if failed else None
            total = response.headers.get("X-Pagination-Total-Count", "")
            self._last.total = int(total) if total.isdigit() else None
            return response

    def last_error(self) -> tuple[int, str] | None:
        """(HTTP status, body) of this thread's last answer when it was an error."""
        return getattr(self._last, "error", None)

    def last_total(self) -> int | None:
        """The row count the last answer reported (Yii's ``X-Pagination-Total-Count``), if any."""
        return getattr(self._last, "total", None)

    def close(self) -> None:
        self.inner.close()


class AwoClient:
    """One account's API: ``base_url`` (``{subdomain}`` filled in), the GET and SET keys.

    ``state`` (a callable, as the core hands a connector its state after building it) keeps the
    account's throttle window between processes; without it the window lives in this process only.
    """

    def __init__(self, source: str, base_url: str, subdomain: str, get_key: str, set_key: str | None, *,
                 rate: tuple[int, float] = (20, 5.0), timeout: float = 30.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, state: "Callable[[], State] | None" = None):
        self.source = source
        self.subdomain = subdomain
        self.base_url = base_url.replace("{subdomain}", subdomain)
        self._get_key = get_key
        self._set_key = set_key
        account = f"autoweboffice:{self.base_url}"
        # One budget per account in this process: two sources on one account share it ...
        self.window = shared(account, *rate)
        # ... and, through the store, with every other command working the same account.
        stored = StoredWindow(*rate, lambda: state().scoped(f"account:{account}"), "throttle") if state else None
        self.transport = ThrottledTransport(transport or httpx.HTTPTransport(), self.window, stored)
        self.http = HttpClient(source, self.base_url, timeout=timeout, retry=retry, transport=self.transport)

    @property
    def requests(self) -> int:
        """Requests sent so far, retries included."""
        return self.transport.sent

    @property
    def has_set_key(self) -> bool:
        return bool(self._set_key)

    # ---- calls ----

    def list(self, entity: str, search: Mapping[str, Any] | None = None, *, page: int = 0,
             page_size: int = MAX_PAGE, sort: str | None = None) -> list[dict[str, Any]]:
        """One zero-based page of a search; ``[]`` for the API's "No items where found" text."""
        params = search_params(search, page=page, page_size=_size(page_size), sort=sort)
        values = self._call("GET", entity, params, empty_ok=True)
        if not values:
            return []
        rows = values[0]
        if isinstance(rows, dict):  # a single row may come back as an object
            rows = [rows]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidData(self.source, _("the {entity} search answered with {answer!r}, not rows").format(
                                  entity=entity, answer=plain(str(rows))[:80]),
                              _("report it: the API changed its answer"))
        return rows

    def pages(self, entity: str, search: Mapping[str, Any] | None = None, *, page_size: int = MAX_PAGE,
              sort: str | None = None, start: int = 0) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield (page number, rows) until the walk ends (:mod:`unpaid_autoweboffice.paging`)."""
        size = _size(page_size)
        totals: list[int | None] = []

        def fetch(page: int) -> list[dict[str, Any]]:
            rows = self.list(entity, search, page=page, page_size=size, sort=sort)
            totals.append(self.transport.last_total())
            return rows

        def limit() -> int:
            reported = totals[0] if totals else None
            return ceiling(reported if reported is not None else self.highest_id(entity), size)

        return walk(self.source, entity, fetch, size, start=start, limit=limit)

    def highest_id(self, entity: str) -> int | None:
        """The highest row id of a table (one request): ids count up, so no more rows than that exist."""
        key = TABLES.get(entity, ("", ""))[0]
        if not key:
            return None
        rows = self.list(entity, page=0, page_size=1, sort=f"{key} DESC")
        value = str(rows[0].get(key) or "") if rows else "0"
        return int(value) if value.isdigit() else None

    def get(self, entity: str, row_id: str) -> dict[str, Any]:
        """One row by id (with computed fields such as ``link_for_pay``); NotFound when absent."""
        values = self._call("GET", entity, [("id", str(row_id))], row_id=row_id)
        if not isinstance(values[0], dict):
            raise InvalidData(self.source, _("{entity} {id}: answered with {answer!r}").format(
                                  entity=entity, id=row_id, answer=plain(str(values[0]))[:80]),
                              _("report it: the API changed its answer"))
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
            raise ConfigError(_("{source}: no set_key stored: changes need the API KEY SET").format(source=self.source),
                              _("copy it from Настройки → API and run `unpaid auth set {source}` (or set "
                                "{variable})").format(source=self.source, variable=env_var(self.source, "set_key")))
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
        except (NotFound, InvalidData) as exc:
            code, body = self.transport.last_error() or (0, "")
            if is_not_found(body) or is_no_items(body) or _messages(body):
                # The API's own answer with an error status (404 for a read, 400 for a change).
                return self._decode(body, method, entity, row_id, empty_ok)
            if isinstance(exc, NotFound):
                raise ConnectorError(self.source, _("no AutoWebOffice account {account!r} at {url} (or no resource "
                                                    "{entity!r}): it answered 404 without the API's own text").format(
                                         account=self.subdomain, url=safe_url(self.base_url), entity=entity),
                                     _("check `subdomain` (and `base_url`) in [sources.{source}]").format(
                                         source=self.source)) from None
            raise InvalidData(self.source, _("{method} {entity}: AutoWebOffice answered {code}: {answer!r}").format(
                                  method=method, entity=entity, code=code, answer=redact(plain(body))[:160]),
                              _("check the values sent; report it if they are right")) from None
        except Temporary as exc:
            if any(marker in str(exc) for marker in DNS_FAILURES):
                raise ConnectorError(self.source, _("{url} does not exist").format(url=safe_url(self.base_url)),
                                     _("check `subdomain` in [sources.{source}]: it is the ACCOUNT in "
                                       "https://ACCOUNT.autoweboffice.ru").format(source=self.source)) from None
            raise
        return self._decode(response.text, method, entity, row_id, empty_ok)

    def _decode(self, body: str, method: str, entity: str, row_id: str | None, empty_ok: bool) -> list[Any]:
        text = body.strip()
        what = f"{_(TABLES.get(entity, ('', entity))[1])} {row_id}" if row_id else entity
        if is_no_items(text):
            if empty_ok:
                return []
            raise NotFound(self.source, _("{what} does not exist in AutoWebOffice").format(what=what), _("check the id"))
        if is_not_found(text):
            raise NotFound(self.source, _("{what} does not exist in AutoWebOffice").format(what=what),
                           _("it was deleted for good there, or the id is wrong; run `unpaid sync`"))
        if text.startswith("Error:"):
            raise InvalidData(self.source, _("{what}: AutoWebOffice answered {answer!r}").format(
                                  what=what, answer=redact(plain(text))[:160]),
                              _("check the values sent"))
        messages = _messages(text)
        if messages:
            raise self._refused(entity, messages)
        try:
            return decode_objects(text)
        except ValueError:
            start = redact(plain(text))[:80] or _("an empty body")
            exc = InvalidData(self.source, _("{method} {entity}: the answer is not JSON: {start!r}").format(
                                  method=method, entity=entity, start=start),
                              _("AutoWebOffice may be under maintenance or behind a proxy; try again later, and "
                                "check base_url"))
            exc.retryable = True  # a maintenance page: a run defers the action instead of giving up
            raise exc from None

    def _refused(self, entity: str, messages: list[Any]) -> Refused:
        text = "; ".join(plain(str(m)) for m in messages)
        return Refused(self.source, _("AutoWebOffice refused the {what} change: {text}").format(
                           what=_(TABLES.get(entity, ("", entity))[1]), text=text),
                       _("correct the value (in unpaid or in AutoWebOffice) and try again"))

    def _auth(self, write: bool, exc: AuthFailed) -> AuthFailed:
        code = "403" if "(403)" in str(exc) else "401"
        fix = _("copy the keys from Настройки → API and run `unpaid auth set {source}`").format(source=self.source)
        # The API refuses a key of the other kind like a wrong one (401): name the swap as the likely cause.
        if write:
            return AuthFailed(self.source, _("AutoWebOffice refused the set_key (API KEY SET) for a change ({code}) — "
                                             "is the GET key stored as set_key?").format(code=code), fix)
        return AuthFailed(self.source, _("AutoWebOffice refused the get_key (API KEY GET) ({code}) — a wrong key, or "
                                         "the SET key stored as get_key?").format(code=code), fix)


def _size(page_size: int) -> int:
    return max(1, min(MAX_PAGE, int(page_size)))


def _messages(text: str) -> list[str]:
    """The validation messages of a refusal (a JSON array of strings), else ``[]``."""
    text = text.strip()
    if not text.startswith("["):
        return []
    try:
        values = decode_objects(text)
    except ValueError:
        return []
    if len(values) == 1 and isinstance(values[0], list) and values[0] and all(isinstance(v, str) for v in values[0]):
        return values[0]
    return []
