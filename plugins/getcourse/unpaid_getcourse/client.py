"""Raw GetCourse calls through :mod:`unpaid.http`: exports, imports and the Tech API.

Every failure becomes a typed connector error whose message names the account and whose fix says
what to do; answers GetCourse gives as HTTP 200 with ``success:false`` are read here.
"""

from __future__ import annotations

import io
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Iterator, Mapping

import httpx

from unpaid.connector import AuthFailed, ConnectorError, InvalidData, NotFound, RateLimited
from unpaid.errors import ExitCode
from unpaid.http import HttpClient, RetryPolicy, json_body
from unpaid_getcourse import wire
from unpaid_getcourse.i18n import _
from unpaid_getcourse.mapping import truthy
from unpaid_getcourse.state import Budget

ACCEPT = "application/json; q=1.0, */*; q=0.1"


class NotReady(Exception):
    """The export is still being built (909): poll again later."""


class Busy(RateLimited):
    """Another export of the account is being built (905): nothing was started."""


class TooLarge(InvalidData):
    """GetCourse would not build the export for this filter («Файл не создан, попробуйте другой фильтр»)."""


class NoDeveloperKey(ConnectorError):
    """The call needs the Tech API and no developer key is stored: a setup matter (exit 2), not an outage."""

    exit_code = ExitCode.USAGE


class WrongAccount(AuthFailed):
    """The address answered «Wrong subdomain»: no such account."""


class GetCourseClient:
    """One GetCourse account: ``base_url``, the secret key and, optionally, a developer key."""

    def __init__(self, source: str, account: str, base_url: str, secret_key: str, developer_key: str | None,
                 budget: Budget, *, timeout: float = 30.0, retry: RetryPolicy | None = None):
        self.source = source
        self.account = account
        self.key = secret_key
        self.developer_key = developer_key
        self.budget = budget
        self.http = HttpClient(source, base_url.rstrip("/"), timeout=timeout, retry=retry,
                               headers={"Accept": ACCEPT}, check=self._check, on_request=self._count)

    # ---- errors ----

    def _keys_fix(self) -> str:
        return _("copy a key from https://{account}.getcourse.ru/saas/account/api and run `unpaid auth set {source}`; "
                 "check the account name and base_url too").format(account=self.account, source=self.source)

    def error(self, body: Mapping[str, Any]) -> ConnectorError:
        """The typed error for a ``success:false`` legacy answer."""
        code = body.get("error_code")
        text = body.get("error_message") or (body["error"] if isinstance(body.get("error"), str) else "")
        where = _("account {account}").format(account=self.account)
        if code in (wire.NOT_AUTHORIZED, wire.NO_KEY) or text == wire.MESSAGES[wire.NOT_AUTHORIZED]:
            return AuthFailed(self.source, _("{where} refused the secret key ({code}: {text})").format(
                                  where=where, code=code or 901, text=text),
                              self._keys_fix())
        if code == wire.TOO_MANY:
            until = self.budget.exhausted()
            return RateLimited(self.source, _("{where}: the export budget is spent (903: about 100 requests "
                                              "per 2 hours, shared by every integration of the account)").format(
                                   where=where),
                               _("run again after {time}; the sync resumes where it stopped").format(
                                   time=_clock(until)),
                               retry_after=max(0.0, until - self.budget.clock()))
        if code == wire.EXPORT_RUNNING:
            return Busy(self.source, _("{where}: another export is running (905; GetCourse builds one at a time "
                                       "per account, another integration may be exporting)").format(where=where),
                        _("run again in a few minutes; nothing was lost"), retry_after=300)
        if code == wire.API_OFF:
            return AuthFailed(self.source, _("{where}: the API is not available on the account's plan (917)").format(
                                  where=where),
                              _("GetCourse opens the import/export API on paid plans only"))
        if text == wire.FORBIDDEN:
            return AuthFailed(self.source, _("{where}: the key may only read («Только чтение»), this was a "
                                             "write").format(where=where),
                              _("create a key with «Чтение и запись» access at https://{account}.getcourse.ru/saas/"
                                "account/api and run `unpaid auth set {source}`").format(account=self.account,
                                                                                         source=self.source))
        if text == wire.NO_ACTION:
            return ConnectorError(self.source, _("{where}: the request arrived without its body (a redirect turned "
                                                 "the POST into a GET)").format(where=where),
                                  _("set base_url to the school's own domain"))
        if text == wire.NOT_FOUND:
            return NotFound(self.source, f"{where}: {text}", _("the export or object no longer exists"))
        if text == wire.NOT_BUILT:
            return TooLarge(self.source, _("{where} would not build the export ({text})").format(where=where, text=text),
                            _("the connector splits the window; report it if this stays"))
        return InvalidData(self.source, _("{where} refused the request ({code}: {text})").format(
                               where=where, code=code or _("no code"), text=text),
                           _("check the values sent; the message is GetCourse's own"))

    def _check(self, response: httpx.Response) -> None:
        tech = response.request.url.path.startswith("/pl/api/v1/")
        if not response.content.strip():
            if tech:  # not a refusal (that is a 403 with a body): the Tech API said nothing at all
                raise InvalidData(self.source, _("account {account}: the Tech API answered {method} {path} with an "
                                                 "empty body").format(account=self.account,
                                                                      method=response.request.method,
                                                                      path=response.request.url.path),
                                  _("try again later; if it stays, check the account's plan and the developer key"))
            raise AuthFailed(self.source, _("account {account} answered with an empty body: the API is off for the "
                                            "account's plan (or the key's account is wrong)").format(
                                 account=self.account),
                             _("GetCourse opens the API on paid plans only; check the plan and the account name"))
        if tech:
            return
        body = json_body(self.source, response)
        if isinstance(body, dict) and not truthy(body.get("success")):
            if body.get("error_code") == wire.NOT_READY:
                raise NotReady()
            raise self.error(body)

    def _count(self, request: httpx.Request) -> None:
        if request.url.path.startswith("/pl/api/account/"):
            self.budget.spend()

    def require_budget(self, needed: int, what: str) -> None:
        """RateLimited when fewer than ``needed`` export requests are left in the window."""
        left = self.budget.remaining()
        if left < needed:
            at = self.budget.free_at()
            message = _("account {account}: {what} needs {needed} export requests and {left} of {limit} are left "
                        "in the {window} window")
            raise RateLimited(self.source, message.format(account=self.account, what=what, needed=needed, left=left,
                                                          limit=self.budget.limit, window=self.budget.span()),
                              _("run again after {time}; the sync resumes where it stopped").format(time=_clock(at)),
                              retry_after=max(0.0, at - self.budget.clock()))

    # ---- export API (each call counts against the budget) ----

    @contextmanager
    def _legacy(self) -> Iterator[None]:
        """The import/export API answers an unknown account with 404 «Wrong subdomain»: name that."""
        try:
            yield
        except NotFound as exc:
            raise WrongAccount(self.source, _("there is no GetCourse account at this address ({message})").format(
                                   message=exc.message),
                               _("check `account` (NAME in NAME.getcourse.ru) and base_url")) from None

    def start_export(self, filters: Mapping[str, str]) -> int:
        """Start a deals export; its id."""
        with self._legacy():
            response = self.http.get("/pl/api/account/deals", params={"key": self.key, **filters}, idempotent=False)
        body = json_body(self.source, response)
        try:
            return int((body.get("info") or {})["export_id"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidData(self.source, _("account {account}: the export start gave no export_id").format(
                                  account=self.account),
                              _("try again later")) from None

    def fetch_export(self, export_id: int) -> IO[str]:
        """The ready export as a text file to walk with :func:`wire.read_export`; NotReady on 909."""
        sink = tempfile.TemporaryFile()
        text = io.TextIOWrapper(sink, encoding="utf-8")  # owns sink: closing it removes the file
        try:
            with self._legacy():
                self.http.stream_to("GET", f"/pl/api/account/exports/{export_id}", sink, params={"key": self.key})
            sink.seek(0)
            _kind, meta = next(wire.read_export(text))
            if not truthy(meta.get("success")):
                if meta.get("error_code") == wire.NOT_READY:
                    raise NotReady()
                raise self.error(meta)
            text.seek(0)
            return text
        except (ValueError, StopIteration):
            text.close()
            raise InvalidData(self.source, _("account {account}: export {export_id} is not readable JSON").format(
                                  account=self.account, export_id=export_id),
                              _("run the sync again; the same export is read again")) from None
        except BaseException:
            text.close()
            raise

    def groups(self) -> list[dict[str, Any]]:
        """Groups through the export API (counts against the budget)."""
        with self._legacy():
            response = self.http.get("/pl/api/account/groups", params={"key": self.key})
        return list(json_body(self.source, response).get("info") or [])

    # ---- import API ----

    def import_(self, entity: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``action=add`` on users or deals; the inner result, checked."""
        form = {"action": "add", "key": self.key, "params": wire.encode_params(dict(params))}
        with self._legacy():
            response = self.http.post(f"/pl/api/{entity}", data=form, idempotent=True)
        result = json_body(self.source, response).get("result") or {}
        if not truthy(result.get("success", True)) or truthy(result.get("error")):
            raise InvalidData(self.source, _("account {account} did not apply the {entity} import: {reason}").format(
                                  account=self.account, entity=entity[:-1],
                                  reason=result.get("error_message") or _("no reason given")),
                              _("check the order in GetCourse; the message is GetCourse's own"))
        return result

    # ---- Tech API ----

    def need_tech(self) -> None:
        """NoDeveloperKey (exit 2) when no developer key is stored; nothing is sent."""
        if not self.developer_key:
            raise NoDeveloperKey(self.source, _("account {account}: this needs the Tech API and no developer_key is "
                                                "stored").format(account=self.account),
                                 _("get a developer key from GetCourse and run `unpaid auth set {source}` to store "
                                   "developer_key").format(source=self.source))

    def tech(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Mapping[str, Any] | None = None, idempotent: bool = True) -> Any:
        """``/pl/api/v1/{path}``; the envelope's ``data``."""
        self.need_tech()
        headers = {"Authorization": f"Bearer {self.developer_key}_{self.key}"}
        try:
            response = self.http.request(method, f"/pl/api/v1/{path}", params=params, json=json, headers=headers,
                                         idempotent=idempotent)
        except AuthFailed:
            raise AuthFailed(self.source, _("account {account}: the Tech API refused the developer key or the secret "
                                            "key (403), or the key may only read").format(account=self.account),
                             _("check both keys (`unpaid auth set`) and that the school enabled the developer key; "
                               "writes need a «Чтение и запись» key")) from None
        except NotFound:
            raise NotFound(self.source, _("account {account}: {path} found nothing for {query}").format(
                               account=self.account, path=path, query=dict(params or json or {})),
                           _("check the id")) from None
        body = json_body(self.source, response)
        if not isinstance(body, dict) or not truthy(body.get("status")):
            errors = "; ".join(body.get("errors") or []) if isinstance(body, dict) else ""
            raise InvalidData(self.source, _("account {account}: {path} failed: {reason}").format(
                                  account=self.account, path=path,
                                  reason=f"{(body or {}).get('message', '?')} {errors}".strip()),
                              _("check the values sent"))
        return body.get("data")

    def close(self) -> None:
        self.http.close()


def _clock(epoch: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(epoch).astimezone().strftime("%H:%M %Z").strip()
