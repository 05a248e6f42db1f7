"""The GetCourse connector: sync through exports, fresh reads, status pushes, groups and comments."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from unpaid.connector import (
    Connector, InvalidData, NotFound, Page, Reject, Temporary,
)
from unpaid.errors import ConfigError
from unpaid.http import RetryPolicy
from unpaid.setting_values import seconds, whole, zone
from unpaid.model import Order, Status
from unpaid_getcourse import bookmark as bm
from unpaid_getcourse.client import GetCourseClient, NotReady
from unpaid_getcourse.mapping import COL_EMAIL, COL_ID, COL_NUMBER, COL_USER_ID, RowReader, deal_to_order, to_native
from unpaid_getcourse.spec import SPEC
from unpaid_getcourse.state import Budget, DealIndex, cache_dir
from unpaid_getcourse.wire import read_export

PAGE_SIZE = 1000
#: Export requests an export needs at the least: the start and one poll.
EXPORT_MIN = 2


class GetCourseConnector(Connector):
    """One configured GetCourse source. ``sleep`` is injectable so tests never wait for real."""

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str],
                 sleep: Callable[[float], None] = time.sleep):
        self.spec = SPEC
        self.name = name
        where = f"[sources.{name}]"
        self.account = str(settings.get("account") or "").strip()
        if not self.account:
            raise ConfigError(f"source {name!r}: `account` is required (the NAME in NAME.getcourse.ru)",
                              f"add account = \"myschool\" under [sources.{name}]")
        base_url = str(settings.get("base_url") or "https://{account}.getcourse.ru").format(account=self.account)
        self.zone = zone(settings, "timezone", where, str(settings.get("_timezone") or "Europe/Moscow"))
        self.country = str(settings.get("_default_country") or "7")
        self.first_from = str(settings.get("first_sync_from") or "2014-01-01")
        self.incremental = tuple(settings.get("incremental") or bm.INCREMENTAL)
        self.first_wait = seconds(settings, "first_wait", where, "10s")
        self.poll_interval = seconds(settings, "poll_interval", where, "15s")
        self.poll_max = seconds(settings, "poll_max", where, "2m")
        self.export_timeout = seconds(settings, "export_timeout", where, "15m")
        self.reason_field = settings.get("reason_field") or None
        self.default_group = settings.get("default_group") or None
        self.page_size = whole(settings, "page_size", where, PAGE_SIZE, 1, 100_000)
        #: "Today" in the account's zone decides the next incremental window; tests pin it.
        self.clock: Callable[[], datetime] = lambda: datetime.now(self.zone)
        self.sleep = sleep
        state = Path(settings.get("state_dir") or cache_dir())
        budget = Budget(state / f"getcourse-{self.account}.budget.json", whole(settings, "budget", where, 100, 1, 100_000),
                        seconds(settings, "budget_window", where, "2h", lo=1))
        self.index = DealIndex(state / f"getcourse-{self.account}.deals.json")
        retry = RetryPolicy(attempts=whole(settings, "retries", where, 3, 1, 20),
                            wait_initial=seconds(settings, "retry_wait", where, "2s"))
        self.client = GetCourseClient(name, self.account, base_url, secrets.get("secret_key", ""),
                                      secrets.get("developer_key"), budget,
                                      timeout=seconds(settings, "timeout", where, "30s", lo=0.01), retry=retry)

    # ---- sync ----

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        try:
            mark = bm.Bookmark.loads(since)
        except ValueError as exc:
            raise InvalidData(self.name, str(exc), "the source's bookmark was not written by the GetCourse connector; "
                              "give the source a new name to sync it afresh") from None
        run = bm.plan(mark, self.clock().astimezone(self.zone).strftime("%Y-%m-%d"), self.first_from, self.incremental)
        used_before = self.client.budget.used_here
        while run.current is not None:
            if run.export_id is None:
                self.client.require_budget(EXPORT_MIN, "an export")
                filters = {f"{run.current}[from]": run.since}
                export_id = self.client.start_export(filters)
                mark = bm.started(mark, run, export_id)
                run = mark.run
                yield Page([], mark.dumps())  # a crash from here on re-reads this export
            try:
                body = self._wait(run.export_id, mark)
            except NotFound:
                mark = bm.restart_export(mark, run)  # the export expired: start this filter again
                run = mark.run
                continue
            with body:
                for page in self._read(body, mark, run):
                    mark = bm.Bookmark.loads(page.bookmark)
                    yield page
            run = mark.run
            if run is None:
                break
        left = self.client.budget.remaining()
        note = (f"export budget: {left} of {self.client.budget.limit} requests left in the 2-hour window "
                f"(this sync used {self.client.budget.used_here - used_before})")
        yield Page([], mark.dumps(), note=note)

    def _wait(self, export_id: int, mark: bm.Bookmark):
        """Poll until the export is ready, backing off; stop cleanly on budget or time."""
        started = time.monotonic()
        wait = self.first_wait
        interval = self.poll_interval
        while True:
            self.sleep(wait)
            self.client.require_budget(1, f"collecting export {export_id}")
            try:
                return self.client.fetch_export(export_id)
            except NotReady:
                pass
            if time.monotonic() - started + interval > self.export_timeout:
                raise Temporary(self.name, f"account {self.account}: export {export_id} was not ready after "
                                f"{self.export_timeout:.0f}s", f"run `unpaid sync {self.name}` again later: it collects "
                                "the same export (or raise export_timeout)")
            wait, interval = interval, min(interval * 1.5, self.poll_max)

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
                        raise InvalidData(self.name, f"account {self.account}: {exc}",
                                          "the export format changed; report it with the column list") from None
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
            raise InvalidData(self.name, f"account {self.account}: export {run.export_id} is broken: {exc}",
                              f"run `unpaid sync {self.name}` again; the same export is read again") from None
        final = bm.finished_export(mark, run, bool(rejects) or run.rejects)
        yield Page(orders, final.dumps(), rejects)
        self.index.flush()

    def _remember(self, reader: RowReader, row: list[Any]) -> None:
        deal_id = reader.cell(row, COL_ID)
        if deal_id:
            self.index.add(deal_id, reader.cell(row, COL_USER_ID), reader.cell(row, COL_NUMBER),
                           reader.cell(row, COL_EMAIL))

    # ---- one order ----

    def _known(self, native_id: str) -> tuple[str, str, str]:
        found = self.index.get(native_id)
        if found is None:
            raise NotFound(self.name, f"deal {native_id} of account {self.account} is not known here",
                           f"run `unpaid sync {self.name}` first, or store a developer_key for the Tech API")
        return found

    def fetch_order(self, native_id: str) -> Order:
        if self.client.developer_key:
            deal = self.client.tech("GET", "deal/get-fields", params={"dealId": native_id})
            deal = deal[0] if isinstance(deal, list) and deal else deal
            if not isinstance(deal, dict) or not deal.get("id"):
                raise NotFound(self.name, f"deal {native_id} of account {self.account} does not exist", "check the id")
            user = self.client.tech("GET", "user/get-fields", params={"userId": deal.get("user_id")})
            try:
                return deal_to_order(self.name, deal, user, self.zone, self.country)
            except ValueError as exc:
                raise InvalidData(self.name, f"deal {native_id}: {exc}", "check the deal in GetCourse") from None
        user_id, _, _ = self._known(native_id)
        return self._fetch_by_export(native_id, user_id)

    def _fetch_by_export(self, native_id: str, user_id: str) -> Order:
        """Without a developer key: the narrowest export there is, the deals of one user."""
        self.client.require_budget(EXPORT_MIN, f"a fresh read of deal {native_id}")
        export_id = self.client.start_export({"user_id": user_id})
        with self._wait(export_id, bm.Bookmark()) as body:
            reader = None
            for kind, value in read_export(body):
                if kind == "fields":
                    reader = RowReader(self.name, value, self.zone, self.country)
                elif kind == "row" and reader is not None and reader.cell(value, COL_ID) == native_id:
                    item = reader.read(value)
                    if isinstance(item, Reject):
                        raise InvalidData(self.name, f"{item.where}: {item.reason}", "fix the deal in GetCourse")
                    return item
        raise NotFound(self.name, f"deal {native_id} of account {self.account} does not exist", "check the id")

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        code = to_native(status)
        if self.client.developer_key:
            body: dict[str, Any] = {"dealId": int(native_id), "status": code}
            if status is Status.CANCELLED and reason:
                body["cancel_reason_comment"] = reason
                match = next((r["id"] for r in self.cancel_reasons() if r["name"].casefold() == reason.casefold()),
                             None)
                if match is not None:
                    body["cancel_reason_id"] = match
            self.client.tech("POST", "deal/update-fields", json=body)
            return
        _, number, email = self._known(native_id)
        deal: dict[str, Any] = {"deal_number": number, "deal_status": code}
        if status is Status.CANCELLED and reason and self.reason_field:
            deal["addfields"] = {self.reason_field: reason}
        self.client.import_("deals", {"user": {"email": email}, "deal": deal, "system": {"refresh_if_exists": 0}})

    def trigger(self, native_id: str, action: str, params: Mapping[str, Any] | None = None) -> None:
        """``group``: add the order's customer to a group (``name`` or ``id``) — a process or mailing
        whose entry rule is "added to group" then starts in GetCourse."""
        params = dict(params or {})
        if action != "group":
            raise InvalidData(self.name, f"unknown trigger {action!r}", "use the `group` trigger with a name or id")
        group = params.get("group")  # a number is an id, text a name: `params = { group = 12 }` or "Дожим"
        name = params.get("name") or (group if isinstance(group, str) else None)
        group_id = params.get("id") or params.get("group_id") or (group if isinstance(group, int) else None)
        if not name and group_id is None:
            name = self.default_group
        if group_id is not None and self.client.developer_key:
            deal = self.client.tech("GET", "deal/get-fields", params={"dealId": native_id})
            deal = deal[0] if isinstance(deal, list) and deal else deal
            self.client.tech("POST", "user/add-groups", json={"userId": deal["user_id"], "groups": [int(group_id)]})
            return
        if not name:
            raise InvalidData(self.name, "the group trigger needs the group's name (or its id with a developer_key)",
                              f"see `unpaid getcourse groups {self.name}`")
        email = params.get("email") or self._email(native_id)
        self.client.import_("users", {"user": {"email": email, "group_name": [str(name)]},
                                      "system": {"refresh_if_exists": 0}})

    def _email(self, native_id: str) -> str:
        if self.index.get(native_id) is None and self.client.developer_key:
            return self.fetch_order(native_id).customer.email or ""
        return self._known(native_id)[2]

    def add_comment(self, native_id: str, text: str) -> None:
        self.client.tech("POST", "deal/add-comment", json={"dealId": int(native_id), "text": text}, idempotent=False)

    # ---- dictionaries, for `unpaid getcourse groups|reasons` ----

    def groups(self) -> list[dict[str, Any]]:
        if self.client.developer_key:
            return [{"id": str(g["id"]), "name": g["name"]} for g in self.client.tech("GET", "common/get-groups")]
        self.client.require_budget(1, "listing groups")
        return [{"id": str(g["id"]), "name": g["name"]} for g in self.client.groups()]

    def cancel_reasons(self) -> list[dict[str, Any]]:
        return [{"id": r["id"], "name": r["name"]} for r in self.client.tech("GET", "deal/get-cancel-reasons") or []]

    def close(self) -> None:
        self.index.flush()
        self.client.close()
