"""The GetCourse connector: sync through exports, fresh reads, status pushes, groups and comments."""

from __future__ import annotations

import math
import time
from datetime import date, datetime
from typing import Any, Callable, Iterator, Mapping, Sequence

from unpaid.connector import (
    BadSource, Connector, ConnectorError, InvalidData, NotFound, Page, Reject, Temporary,
)
from unpaid.errors import ConfigError
from unpaid.http import RetryPolicy
from unpaid.setting_values import seconds, whole, zone
from unpaid.model import Order, Status
from unpaid_getcourse import bookmark as bm
from unpaid_getcourse.client import Busy, GetCourseClient, NotReady, TooLarge
from unpaid_getcourse.i18n import _
from unpaid_getcourse.mapping import (
    COL_EMAIL, COL_ID, COL_NUMBER, COL_PHONE, COL_USER_ID, RowReader, deal_to_order, to_native,
)
from unpaid_getcourse.spec import SPEC
from unpaid_getcourse.state import Budget, DealIndex, ExportMarker, account_scope
from unpaid_getcourse.wire import read_export

PAGE_SIZE = 1000
#: Export requests an export needs at the least: the start and one poll.
EXPORT_MIN = 2
#: Rows at which an export is taken for truncated and its window split (one client's experience).
ROW_CAP = 50_000
#: Seconds between export starts while another export of the account is being built (905).
BUSY_INTERVAL = 30.0


class GetCourseConnector(Connector):
    """One configured GetCourse source. ``sleep`` is injectable so tests never wait for real."""

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str],
                 sleep: Callable[[float], None] = time.sleep):
        self.spec = SPEC
        self.name = name
        where = f"[sources.{name}]"
        self.account = str(settings.get("account") or "").strip()
        if not self.account:
            raise ConfigError(_("source {name!r}: `account` is required (the NAME in NAME.getcourse.ru)").format(
                                  name=name),
                              _("add account = \"myschool\" under [sources.{name}]").format(name=name))
        if settings.get("state_dir"):
            raise ConfigError(_("{where}: `state_dir` is no longer used: the export budget and the deal index now "
                                "live in unpaid's database, shared by every command").format(where=where),
                              _("remove state_dir from [sources.{name}]; the old files can be deleted").format(
                                  name=name))
        base_url = str(settings.get("base_url") or "https://{account}.getcourse.ru").format(account=self.account)
        # GetCourse accounts keep Moscow time unless changed; a config without a zone says UTC by default.
        fallback = str(settings.get("_timezone") or "UTC")
        self.zone = zone(settings, "timezone", where, "Europe/Moscow" if fallback == "UTC" else fallback)
        self.country = str(settings.get("_default_country") or "7")
        self.first_from = _day(settings.get("first_sync_from") or "2014-01-01", f"{where} first_sync_from")
        self.incremental = tuple(settings.get("incremental") or bm.INCREMENTAL)
        self.created_check = seconds(settings, "created_check", where, "1h")
        self.full_every = seconds(settings, "full_every", where, "1d")
        self.first_wait = seconds(settings, "first_wait", where, "10s")
        self.poll_interval = seconds(settings, "poll_interval", where, "15s")
        self.poll_max = seconds(settings, "poll_max", where, "2m")
        self.export_timeout = seconds(settings, "export_timeout", where, "15m")
        self.busy_wait = seconds(settings, "busy_wait", where, "2m")
        self.row_cap = whole(settings, "row_cap", where, ROW_CAP, 2, 10_000_000)
        self.reason_field = settings.get("reason_field") or None
        self.default_group = settings.get("default_group") or None
        author = settings.get("author_user_id")
        self.author = str(author).strip() if author not in (None, "") else None
        if self.author is not None and not self.author.isdigit():
            raise ConfigError(_("{where}: author_user_id {value!r} is not a GetCourse user id").format(
                                  where=where, value=author),
                              _("give the number from the user's card URL (/user/control/user/update/id/NUMBER)"))
        self.page_size = whole(settings, "page_size", where, PAGE_SIZE, 1, 100_000)
        #: The core acts on a stored copy younger than this without a fresh read (unpaid.freshness).
        self.fresh_within = seconds(settings, "fresh_within", where, "2m")
        #: "Today" in the account's zone decides the next window: the real day, as GetCourse's own clock says.
        self.clock: Callable[[], datetime] = lambda: datetime.now(self.zone)
        fixed = settings.get("_now")
        #: The command's moment (--now): how long since the last creation-date check.
        self.moment: Callable[[], float] = (
            (lambda: datetime.fromisoformat(str(fixed)).timestamp()) if fixed else time.time)
        self.sleep = sleep
        shared = lambda: self.state.scoped(account_scope(self.account))  # noqa: E731 - set after construction
        budget = Budget(shared, whole(settings, "budget", where, 100, 1, 100_000),
                        seconds(settings, "budget_window", where, "2h", lo=1))
        self.index = DealIndex(lambda: self.state)
        self.marker = ExportMarker(shared)
        retry = RetryPolicy(attempts=whole(settings, "retries", where, 3, 1, 20),
                            wait_initial=seconds(settings, "retry_wait", where, "2s"))
        self.client = GetCourseClient(name, self.account, base_url, secrets.get("secret_key", ""),
                                      secrets.get("developer_key"), budget,
                                      timeout=seconds(settings, "timeout", where, "30s", lo=0.01), retry=retry)

    @property
    def refresh_by_sync(self) -> bool:
        """Without the Tech API one order costs a whole export, and so does every change since the last
        sync: the core refreshes stale copies with one sync for all of them (unpaid.freshness)."""
        return not self.client.developer_key

    # ---- sync ----

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        try:
            mark = bm.Bookmark.loads(since)
        except ValueError as exc:
            raise InvalidData(self.name, str(exc), _("the source's bookmark was not written by the GetCourse "
                                                     "connector; run `unpaid sync --full {name}`").format(
                                                         name=self.name)) from None
        moment = self.moment()
        due = self.full_every > 0 and moment - mark.full_at >= self.full_every
        rebuild = mark.run is None and mark.since is not None and (due or self.index.rebuild_wanted())
        run = bm.plan(mark, self.clock().astimezone(self.zone).strftime("%Y-%m-%d"), self.first_from,
                      self.incremental, check_created=moment - mark.created_at >= self.created_check, full=rebuild,
                      now=moment)
        full = run.full
        used_before = self.client.budget.used_here
        try:
            while run.current is not None:
                if run.export_id is None:
                    mark = bm.started(mark, run, self._start(_filters(run.current)))
                    run = mark.run
                    yield Page([], mark.dumps())  # a crash from here on re-reads this export
                try:
                    body = self._wait(run.export_id)
                except NotFound:
                    mark = bm.restart_export(mark, run)  # the export expired: start this window again
                    run = mark.run
                    continue
                except TooLarge:
                    mark = self._split(mark, run, _("GetCourse would not build it"))
                    run = mark.run
                    yield Page([], mark.dumps())
                    continue
                self.marker.release()
                with body:
                    for page in self._read(body, mark, run):
                        mark = bm.Bookmark.loads(page.bookmark)
                        yield page
                if mark.run is None:
                    break
                run = mark.run
        finally:
            self.marker.release()
        if full:
            self.index.rebuilt()
        budget = self.client.budget
        note = _("export budget: {left} of {limit} requests left in the {window} window (this sync used "
                 "{used})").format(left=budget.remaining(), limit=budget.limit, window=budget.span(),
                                   used=budget.used_here - used_before)
        yield Page([], mark.dumps(), note=note)

    def wait_for_sync(self) -> bool:
        """Wait (up to ``busy_wait``, no budget spent) while another command of ours is exporting from the
        account; True when it did: the core then uses what that sync read (unpaid.freshness)."""
        waited = 0.0
        while self.marker.busy(self.export_timeout) and waited < self.busy_wait:
            self.sleep(self.poll_interval)
            waited += max(self.poll_interval, 0.001)
        return waited > 0

    def _start(self, filters: Mapping[str, str]) -> int:
        """Start an export; while another export of the account is built, wait (bounded)."""
        self.wait_for_sync()  # our own: waiting costs no budget
        interval = min(BUSY_INTERVAL, self.busy_wait)
        tries = 1 + (math.ceil(self.busy_wait / interval) if interval > 0 else 0)
        for attempt in range(tries):
            self.client.require_budget(EXPORT_MIN, _("an export"))
            self.marker.hold()
            try:
                return self.client.start_export(filters)
            except Busy as exc:
                self.marker.release()
                if attempt == tries - 1:
                    raise Busy(self.name, _("{message}; waited {seconds:.0f}s for it").format(
                                   message=exc.message.removeprefix(f"{self.name}: "), seconds=self.busy_wait),
                               _("run `unpaid sync {name}` again in a few minutes; nothing was lost").format(
                                   name=self.name), retry_after=300) from None
                self.sleep(interval)
            except BaseException:
                self.marker.release()
                raise
        raise AssertionError("unreachable")

    def _wait(self, export_id: int):
        """Poll until the export is ready, backing off; stop cleanly on budget or time."""
        started = time.monotonic()
        wait = self.first_wait
        interval = self.poll_interval
        while True:
            self.sleep(wait)
            self.client.require_budget(1, _("collecting export {export_id}").format(export_id=export_id))
            try:
                return self.client.fetch_export(export_id)
            except NotReady:
                pass
            if time.monotonic() - started + interval > self.export_timeout:
                raise Temporary(self.name, _("account {account}: export {export_id} was not ready after "
                                             "{seconds:.0f}s").format(account=self.account, export_id=export_id,
                                                                      seconds=self.export_timeout),
                                _("run `unpaid sync {name}` again later: it collects the same export (or raise "
                                  "export_timeout)").format(name=self.name))
            wait, interval = interval, min(interval * 1.5, self.poll_max)

    def _split(self, mark: bm.Bookmark, run: bm.Run, why: str) -> bm.Bookmark:
        cut = bm.split(mark, run)
        if cut is None:
            name, start, end = run.current  # type: ignore[misc]
            raise InvalidData(self.name, _("account {account}: the export of {filter} {start}..{end} cannot be read "
                                           "whole ({why}) and a day or two cannot be split further").format(
                                  account=self.account, filter=name, start=start, end=end or run.to, why=why),
                              _("lower row_cap if GetCourse caps exports lower, or report it"))
        return cut

    def _read(self, body, mark: bm.Bookmark, run: bm.Run) -> Iterator[Page]:
        events = read_export(body)
        reader = None
        orders: list[Order] = []
        rejects: list[Reject] = []
        seen = 0
        try:
            for kind, value in events:
                if kind == "fields":
                    try:
                        reader = RowReader(self.name, value, self.zone, self.country)
                    except ValueError as exc:
                        raise InvalidData(self.name, _("account {account}: {problem}").format(account=self.account, problem=exc),
                                          _("the export format changed; report it with the column list")) from None
                elif kind == "row" and reader is not None:
                    seen += 1
                    if seen <= run.offset:
                        continue
                    self._remember(reader, value)
                    item = reader.read(value)
                    (rejects if isinstance(item, Reject) else orders).append(item)
                    if len(orders) + len(rejects) >= self.page_size:
                        yield Page(orders, bm.progressed(mark, run, seen, bool(rejects)).dumps(), rejects)
                        self.index.flush()  # only now is the page stored: a crash before re-reads its rows
                        orders, rejects = [], []
        except ValueError as exc:
            raise InvalidData(self.name, _("account {account}: export {export_id} is broken: {error}").format(
                                  account=self.account, export_id=run.export_id, error=exc),
                              _("run `unpaid sync {name}` again; the same export is read again").format(
                                  name=self.name)) from None
        if seen >= self.row_cap:  # cut short at the cap: what was read is real, the rest is read in halves
            yield Page(orders, self._split(mark, run, _("{rows} rows, the row cap").format(rows=seen)).dumps(), rejects,
                       note=_("export {export_id} stopped at the row cap ({rows} rows): its window is read again in "
                              "two halves").format(export_id=run.export_id, rows=seen))
        else:
            yield Page(orders, bm.finished_export(mark, run, bool(rejects)).dumps(), rejects)
        self.index.flush()

    def _remember(self, reader: RowReader, row: list[Any]) -> None:
        deal_id = reader.cell(row, COL_ID)
        if deal_id:
            self.index.add(deal_id, reader.cell(row, COL_USER_ID), reader.cell(row, COL_NUMBER),
                           reader.cell(row, COL_EMAIL), reader.cell(row, COL_PHONE))

    # ---- fresh reads ----

    def fetch_order(self, native_id: str) -> Order:
        found = self.fetch_many([native_id])[native_id]
        if isinstance(found, ConnectorError):
            raise found
        return found

    def fetch_many(self, native_ids: Sequence[str]) -> dict[str, Order | ConnectorError]:
        """With a developer key one Tech API read per order; without, one export for all of them."""
        if self.client.developer_key:
            return {str(n): _answer(self._tech_read, str(n)) for n in native_ids}
        return self._fetch_by_export([str(n) for n in native_ids])

    def _tech_read(self, native_id: str) -> Order:
        """Tech API ``deal/get-fields`` and the buyer's ``user/get-fields`` (no export budget)."""
        if not native_id.isdigit():
            raise self._no_such_id(native_id)
        deal = self.client.tech("GET", "deal/get-fields", params={"dealId": native_id})
        deal = deal[0] if isinstance(deal, list) and deal else deal
        if not isinstance(deal, dict) or not deal.get("id"):
            raise NotFound(self.name, _("deal {id} of account {account} does not exist").format(
                               id=native_id, account=self.account), _("check the id"))
        try:
            user = self.client.tech("GET", "user/get-fields", params={"userId": deal.get("user_id")})
        except NotFound:  # the deal is there; its buyer could not be read: not the deal's absence
            raise Temporary(self.name, _("deal {id} of account {account}: its buyer (user {user}) could not be read "
                                         "(404)").format(id=native_id, account=self.account, user=deal.get("user_id")),
                            _("try again later; nothing was changed")) from None
        try:
            order = deal_to_order(self.name, deal, user, self.zone, self.country)
        except ValueError as exc:
            raise InvalidData(self.name, _("deal {id}: {problem}").format(id=native_id, problem=exc),
                              _("check the deal in GetCourse")) from None
        self.index.add(native_id, str(deal.get("user_id") or ""), order.number or "", order.customer.email or "",
                       order.customer.phone or "")
        return order

    def _fetch_by_export(self, native_ids: list[str]) -> dict[str, Order | ConnectorError]:
        """Without a developer key: one export of the deals of every buyer asked about (``user_id`` list)."""
        found: dict[str, Order | ConnectorError] = {}
        known = self.index.get_many(native_ids)
        for native_id in native_ids:
            if native_id not in known or not known[native_id][0]:
                found[native_id] = self._unknown(native_id)
        users = sorted({known[n][0] for n in native_ids if n not in found})
        if not users:
            return found
        wanted = {n for n in native_ids if n not in found}
        export_id = self._start({"user_id": ",".join(users)})
        try:
            body = self._wait(export_id)
        finally:
            self.marker.release()
        with body:
            reader = None
            for kind, value in read_export(body):
                if kind == "fields":
                    reader = RowReader(self.name, value, self.zone, self.country)
                elif kind == "row" and reader is not None and reader.cell(value, COL_ID) in wanted:
                    self._remember(reader, value)
                    item = reader.read(value)
                    deal = reader.cell(value, COL_ID)
                    found[deal] = item if not isinstance(item, Reject) else InvalidData(
                        self.name, f"{item.where}: {item.reason}", _("fix the deal in GetCourse"))
        self.index.flush()
        for native_id in wanted - set(found):
            self.index.want_rebuild()
            found[native_id] = Temporary(
                self.name, _("deal {id} was not among the deals of its buyer (user {user}) in account {account}'s "
                             "export").format(id=native_id, user=known[native_id][0], account=self.account),
                _("the next `unpaid sync {name}` re-reads every deal; nothing was changed").format(name=self.name))
        return found

    def _unknown(self, native_id: str) -> ConnectorError:
        """A deal the index lacks: never "gone" — a retryable failure, and the next sync re-reads every deal."""
        if not native_id.isdigit():
            return self._no_such_id(native_id)
        self.index.want_rebuild()
        return Temporary(self.name, _("deal {id} of account {account} is not in the connector's index (it learns "
                                      "deals from exports)").format(id=native_id, account=self.account),
                         _("the next `unpaid sync {name}` re-reads every deal and fills it; or store a developer_key. "
                           "Nothing was changed").format(name=self.name))

    def _no_such_id(self, native_id: str) -> NotFound:
        return NotFound(self.name, _("deal {id!r} of account {account} does not exist (GetCourse deal ids are "
                                     "numbers)").format(id=native_id, account=self.account), _("check the id"))

    def _address(self, native_id: str) -> tuple[str, str, str, str]:
        """(user id, number, e-mail, phone) of a deal: from the index, else the Tech API, else a retryable failure."""
        found = self.index.get(native_id)
        if found is not None and found[0]:
            return found
        if self.client.developer_key:
            order = self._tech_read(native_id)
            self.index.flush()
            return (order.customer.native_id or "", order.number or "", order.customer.email or "",
                    order.customer.phone or "")
        raise self._unknown(native_id)

    def _buyer(self, native_id: str, email: str, phone: str) -> dict[str, str]:
        """How an import names the buyer: e-mail, else phone (GetCourse's documented fallback)."""
        if email:
            return {"email": email}
        if phone:
            return {"phone": phone}
        raise BadSource(self.name, _("deal {id} of account {account}: its buyer has neither an e-mail nor a phone in "
                                     "GetCourse, and the import API finds users by one of them").format(
                            id=native_id, account=self.account),
                        _("add an e-mail or a phone to the user in GetCourse, then run `unpaid sync` and try again"))

    # ---- writes ----

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        try:
            code = to_native(status)
        except ValueError as exc:
            raise BadSource(self.name, _("deal {id}: {problem}").format(id=native_id, problem=exc),
                            _("change it in GetCourse")) from None
        reason = reason if status is Status.CANCELLED and reason else None
        if self.client.developer_key and status is not Status.PAID:
            body: dict[str, Any] = {"dealId": int(native_id), "status": code}
            if reason:
                body["cancel_reason_comment"] = reason
                match = next((r["id"] for r in self.cancel_reasons() if r["name"].casefold() == reason.casefold()),
                             None)
                if match is not None:
                    body["cancel_reason_id"] = match
            self.client.tech("POST", "deal/update-fields", json=body)
            return
        if reason and not self.reason_field and not self.client.developer_key:
            raise BadSource(self.name, _("account {account}: the cancel reason «{reason}» has nowhere to go in "
                                         "GetCourse without a developer key; nothing was changed").format(
                                account=self.account, reason=reason),
                            _("set reason_field = \"<order custom field title>\" under [sources.{name}], or store a "
                              "developer_key with `unpaid auth set {name}`").format(name=self.name))
        # Completed goes through the import API even with a developer key: only an import records a payment.
        _user, number, email, phone = self._address(native_id)
        deal: dict[str, Any] = {"deal_number": number, "deal_status": code}
        if reason:
            deal["addfields"] = {self.reason_field: reason}
        self.client.import_("deals", {"user": self._buyer(native_id, email, phone), "deal": deal,
                                      "system": {"refresh_if_exists": 0}})

    def trigger(self, native_id: str, action: str, params: Mapping[str, Any] | None = None) -> None:
        """``group``: add the order's customer to a group (``name`` or ``id``) — a process or mailing
        whose entry rule is "added to group" then starts in GetCourse."""
        params = dict(params or {})
        if action != "group":
            raise InvalidData(self.name, _("unknown trigger {action!r}").format(action=action),
                              _("use the `group` trigger with a name or id"))
        group = params.get("group")  # a number is an id, text a name: `params = { group = 12 }` or "Дожим"
        name = params.get("name") or (group if isinstance(group, str) else None)
        group_id = params.get("id") or params.get("group_id") or (group if isinstance(group, int) else None)
        if not name and group_id is None:
            name = self.default_group
        if group_id is not None and self.client.developer_key:
            user_id = self._address(native_id)[0]
            self.client.tech("POST", "user/add-groups", json={"userId": int(user_id), "groups": [int(group_id)]})
            return
        if not name:
            raise InvalidData(self.name, _("the group trigger needs the group's name (or its id with a developer_key)"),
                              _("see `unpaid getcourse groups {name}`").format(name=self.name))
        if params.get("email"):
            buyer = {"email": str(params["email"])}
        else:
            _user, _number, email, phone = self._address(native_id)
            buyer = self._buyer(native_id, email, phone)
        self.client.import_("users", {"user": {**buyer, "group_name": [str(name)]},
                                      "system": {"refresh_if_exists": 0}})

    def add_comment(self, native_id: str, text: str) -> None:
        """Tech API ``deal/add-comment`` with the author's user id (``author_user_id``)."""
        self.client.need_tech()
        if self.author is None:
            raise ConfigError(_("[sources.{name}]: comments need author_user_id, the GetCourse user the comments are "
                                "written as").format(name=self.name),
                              _("add author_user_id = NUMBER under [sources.{name}] (the id in that user's card URL); "
                                "`unpaid doctor --online` checks it").format(name=self.name))
        self.client.tech("POST", "deal/add-comment", json={"dealId": int(native_id), "userId": int(self.author),
                                                           "text": text}, idempotent=False)

    # ---- dictionaries, for `unpaid getcourse groups|reasons` ----

    def groups(self) -> list[dict[str, Any]]:
        if self.client.developer_key:
            return [{"id": str(g["id"]), "name": g["name"]} for g in self.client.tech("GET", "common/get-groups")]
        self.client.require_budget(1, _("listing groups"))
        return [{"id": str(g["id"]), "name": g["name"]} for g in self.client.groups()]

    def cancel_reasons(self) -> list[dict[str, Any]]:
        return [{"id": r["id"], "name": r["name"]} for r in self.client.tech("GET", "deal/get-cancel-reasons") or []]

    def probe(self) -> str:
        from unpaid_getcourse.probe import probe

        return probe(self)

    def close(self) -> None:
        try:
            self.index.flush()
        finally:
            self.client.close()


def _filters(window: bm.Window) -> dict[str, str]:
    name, start, end = window
    return {f"{name}[from]": start, **({f"{name}[to]": end} if end else {})}


def _answer(read: Callable[[str], Order], native_id: str) -> Order | ConnectorError:
    try:
        return read(native_id)
    except ConnectorError as exc:
        return exc


def _day(value: Any, where: str) -> str:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ConfigError(_("{where}: {value!r} is not a day").format(where=where, value=value),
                          _("write it as YYYY-MM-DD, e.g. \"2019-01-01\"")) from None
