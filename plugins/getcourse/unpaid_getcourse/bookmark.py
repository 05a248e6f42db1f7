"""The sync bookmark and the export plan. Pure: dates in, dates out.

A bookmark is JSON: ``{"v": 2, "from": "YYYY-MM-DD" | null, "created": {...}, "run": {...} | absent}``.

- ``from`` is the first day (account time) the next incremental run asks for; null means the first,
  full sync has not finished.
- ``created`` is when the extra created-at check last ran (``at``, epoch seconds) and from which day
  (``from``): a sync that exports only status changes still sees new orders within ``created_check``,
  whether or not GetCourse stamps a status change on a new order (the API does not say).
- ``full`` is when the last full read started (epoch seconds): once per ``full_every`` a sync reads
  every deal again, which brings what no filter finds (a buyer's new phone, a row fixed in GetCourse).
- ``run`` is a sync in progress: the day it started (``to``, which becomes the next ``from``), the
  export windows it reads one after the other (filter, first day, last day), how many are done, and
  the export being read (``export_id`` and the rows already stored, ``offset``). A run cut short by the
  budget, a lock or a crash resumes there, collecting the same export instead of starting a new one.
- a window whose export comes back at the row cap is split in two and read again, so a truncated
  export is never taken for the whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta

from unpaid_getcourse.i18n import _

#: Export filters every incremental run uses (each is one export).
INCREMENTAL = ("status_changed_at",)

Window = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class Run:
    to: str
    windows: tuple[Window, ...]
    done: int = 0
    export_id: int | None = None
    offset: int = 0
    rejects: bool = False
    full: bool = False
    created: bool = False
    started: float = 0.0

    @property
    def current(self) -> Window | None:
        return self.windows[self.done] if self.done < len(self.windows) else None


@dataclass(frozen=True)
class Bookmark:
    since: str | None = None
    run: Run | None = field(default=None)
    created_from: str | None = None
    created_at: float = 0.0
    full_at: float = 0.0

    def dumps(self) -> str:
        data: dict = {"v": 2, "from": self.since}
        if self.full_at:
            data["full"] = self.full_at
        if self.created_from is not None:
            data["created"] = {"from": self.created_from, "at": self.created_at}
        if self.run is not None:
            run = asdict(self.run)
            run["windows"] = [list(w) for w in self.run.windows]
            data["run"] = run
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> "Bookmark":
        """Parse a stored bookmark (this version or the first); ValueError naming the problem when it is not ours."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            run = data.get("run")
            if run and "filters" in run:  # version 1: one window per filter, all from ``since``
                run = {k: v for k, v in run.items() if k not in ("filters", "since")} | {
                    "windows": [[f, run["since"], None] for f in run["filters"]]}
            created = data.get("created") or {}
            return cls(data.get("from"),
                       Run(**{**run, "windows": tuple(tuple(w) for w in run["windows"])}) if run else None,
                       created.get("from"), float(created.get("at") or 0), float(data.get("full") or 0))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(_("not a GetCourse bookmark: {text!r} ({error})").format(text=text[:60], error=exc)) from None


def plan(bookmark: Bookmark, today: str, first_from: str, incremental: tuple[str, ...] = INCREMENTAL,
         check_created: bool = False, full: bool = False, now: float = 0.0) -> Run:
    """The run to do now: the one in progress, else a new one.

    A first (or ``full``) sync is one export by creation date from ``first_from``; later runs export
    what changed status since the last run's start day (whole days, overlapping), plus, when
    ``check_created``, what was created since the last such check.
    """
    if bookmark.run is not None:
        return bookmark.run
    if bookmark.since is None or full:
        return Run(to=today, windows=(("created_at", first_from, None),), full=True, created=True, started=now)
    windows: list[Window] = [(f, bookmark.since, None) for f in incremental]
    created = "created_at" in incremental
    if check_created and not created:
        windows.append(("created_at", bookmark.created_from or bookmark.since, None))
        created = True
    return Run(to=today, windows=tuple(windows), created=created, started=now)


def started(bookmark: Bookmark, run: Run, export_id: int) -> Bookmark:
    """The bookmark once an export for the run's current window has started."""
    return replace(bookmark, run=replace(run, export_id=export_id, offset=0))


def progressed(bookmark: Bookmark, run: Run, offset: int, rejects: bool) -> Bookmark:
    """The bookmark after ``offset`` rows of the current export are stored."""
    return replace(bookmark, run=replace(run, offset=offset, rejects=run.rejects or rejects))


def finished_export(bookmark: Bookmark, run: Run, rejects: bool) -> Bookmark:
    """The bookmark after the current export is fully stored: next window, or the run is complete.

    Rows that could not be read do not hold the window back (that made every later sync re-read
    them, and more, for ever): they are reported, and `unpaid sync --full` reads them again once fixed.
    """
    run = replace(run, done=run.done + 1, export_id=None, offset=0, rejects=run.rejects or rejects)
    if run.current is not None:
        return replace(bookmark, run=run)
    full_at = (run.started or bookmark.full_at) if run.full else bookmark.full_at
    if run.created:
        return Bookmark(run.to, None, run.to, run.started or bookmark.created_at, full_at)
    return Bookmark(run.to, None, bookmark.created_from, bookmark.created_at, full_at)


def restart_export(bookmark: Bookmark, run: Run) -> Bookmark:
    """The bookmark when the export being read is gone: start the current window again."""
    return replace(bookmark, run=replace(run, export_id=None, offset=0))


def split(bookmark: Bookmark, run: Run) -> Bookmark | None:
    """The bookmark with the current window cut in two halves (read next), or None when it is a day or two.

    The halves share their middle day: whether GetCourse's ``[to]`` includes its day is not documented,
    and reading a day twice costs nothing but the rows.
    """
    name, start, end = run.current  # type: ignore[misc]
    first, last = date.fromisoformat(start), date.fromisoformat(end or run.to)
    if (last - first).days <= 1:
        return None
    middle = (first + timedelta(days=(last - first).days // 2)).isoformat()
    halves = ((name, start, middle), (name, middle, last.isoformat()))
    windows = run.windows[:run.done] + halves + run.windows[run.done + 1:]
    return replace(bookmark, run=replace(run, windows=windows, export_id=None, offset=0))
