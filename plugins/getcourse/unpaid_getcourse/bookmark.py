"""The sync bookmark and the export plan. Pure: dates in, dates out.

A bookmark is JSON: ``{"v": 1, "from": "YYYY-MM-DD" | null, "run": {...} | absent}``.

- ``from`` is the first day (account time) the next incremental run asks for; null means the first,
  full sync has not finished.
- ``run`` is a sync in progress: the day it started (``to``, which becomes the next ``from``), the
  export filters it runs one after the other, how many are done, and the export being read
  (``export_id`` and the rows already stored, ``offset``). A run cut short by the budget, a lock or
  a crash resumes there, collecting the same export instead of starting a new one.
- when a run stored rows with errors (``rejects``), ``from`` is not moved forward, so those rows
  are read again next time instead of being skipped for good.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

#: Export filters an incremental run may use (each is one export).
INCREMENTAL = ("created_at", "status_changed_at", "payed_at")


@dataclass(frozen=True)
class Run:
    to: str
    filters: tuple[str, ...]
    since: str
    done: int = 0
    export_id: int | None = None
    offset: int = 0
    rejects: bool = False

    @property
    def current(self) -> str | None:
        return self.filters[self.done] if self.done < len(self.filters) else None


@dataclass(frozen=True)
class Bookmark:
    since: str | None = None
    run: Run | None = field(default=None)

    def dumps(self) -> str:
        data: dict = {"v": 1, "from": self.since}
        if self.run is not None:
            run = asdict(self.run)
            run["filters"] = list(self.run.filters)
            data["run"] = run
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> "Bookmark":
        """Parse a stored bookmark; ValueError naming the problem when it is not ours."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            run = data.get("run")
            return cls(data.get("from"), Run(**{**run, "filters": tuple(run["filters"])}) if run else None)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a GetCourse bookmark: {text[:60]!r} ({exc})") from None


def plan(bookmark: Bookmark, today: str, first_from: str, incremental: tuple[str, ...] = INCREMENTAL) -> Run:
    """The run to do now: the one in progress, else a new one from ``bookmark.since``.

    A first sync is one export by creation date from ``first_from``; later runs export what was
    created, changed status or was paid since the last run's start day (whole days, overlapping).
    """
    if bookmark.run is not None:
        return bookmark.run
    if bookmark.since is None:
        return Run(to=today, filters=("created_at",), since=first_from)
    return Run(to=today, filters=tuple(incremental), since=bookmark.since)


def started(bookmark: Bookmark, run: Run, export_id: int) -> Bookmark:
    """The bookmark once an export for the run's current filter has started."""
    return Bookmark(bookmark.since, replace(run, export_id=export_id, offset=0))


def progressed(bookmark: Bookmark, run: Run, offset: int, rejects: bool) -> Bookmark:
    """The bookmark after ``offset`` rows of the current export are stored."""
    return Bookmark(bookmark.since, replace(run, offset=offset, rejects=run.rejects or rejects))


def finished_export(bookmark: Bookmark, run: Run, rejects: bool) -> Bookmark:
    """The bookmark after the current export is fully stored: next filter, or the run is complete."""
    run = replace(run, done=run.done + 1, export_id=None, offset=0, rejects=run.rejects or rejects)
    if run.current is not None:
        return Bookmark(bookmark.since, run)
    # Rows that could not be read keep the window where it was, so they come back next time.
    return Bookmark(bookmark.since if run.rejects else run.to, None)


def restart_export(bookmark: Bookmark, run: Run) -> Bookmark:
    """The bookmark when the export being read is gone: start the current filter again."""
    return Bookmark(bookmark.since, replace(run, export_id=None, offset=0))
