"""The bookmark's life: first sync, export started, pages stored, windows done, rejects, row-cap splits."""

from __future__ import annotations

import json

import pytest

from unpaid_getcourse import bookmark as bm


def test_first_sync_is_one_export_by_creation_date():
    run = bm.plan(bm.Bookmark(), "2026-11-24", "2014-01-01")
    assert (run.windows, run.to, run.full) == ((("created_at", "2014-01-01", None),), "2026-11-24", True)


def test_a_finished_run_moves_the_window_to_its_start_day():
    mark = bm.Bookmark()
    run = bm.plan(mark, "2026-11-24", "2014-01-01", now=100.0)
    mark = bm.started(mark, run, 42)
    mark = bm.progressed(mark, mark.run, 1000, rejects=False)
    assert bm.Bookmark.loads(mark.dumps()) == mark and mark.run.offset == 1000
    done = bm.finished_export(mark, mark.run, rejects=False)
    assert done == bm.Bookmark("2026-11-24", None, "2026-11-24", 100.0, full_at=100.0)
    later = bm.plan(done, "2026-11-25", "2014-01-01")
    assert later.windows == (("status_changed_at", "2026-11-24", None),)  # one export: a quiet sync is 2 requests


def test_new_orders_are_checked_by_creation_date_when_due():
    mark = bm.Bookmark("2026-11-24", None, "2026-11-20", 100.0)
    run = bm.plan(mark, "2026-11-25", "2014-01-01", check_created=True, now=200.0)
    assert run.windows == (("status_changed_at", "2026-11-24", None), ("created_at", "2026-11-20", None))
    mark = bm.finished_export(bm.started(mark, run, 1), run, rejects=False)
    assert mark.run.current == ("created_at", "2026-11-20", None)  # resumes, does not re-plan
    assert bm.plan(mark, "2026-11-30", "2014-01-01") == mark.run
    done = bm.finished_export(mark, mark.run, rejects=False)
    assert (done.since, done.created_from, done.created_at) == ("2026-11-25", "2026-11-25", 200.0)


def test_rejects_do_not_hold_the_window_back():
    mark = bm.Bookmark("2026-11-20")
    run = bm.Run("2026-11-24", (("status_changed_at", "2026-11-20", None),))
    assert bm.finished_export(mark, run, rejects=True).since == "2026-11-24"


def test_a_full_run_can_be_asked_for_with_a_bookmark():
    run = bm.plan(bm.Bookmark("2026-11-20"), "2026-11-24", "2014-01-01", full=True)
    assert run.full and run.windows == (("created_at", "2014-01-01", None),)


def test_a_window_at_the_row_cap_is_split_with_a_shared_middle_day():
    mark = bm.started(bm.Bookmark(), bm.plan(bm.Bookmark(), "2026-11-24", "2026-11-01"), 9)
    cut = bm.split(mark, mark.run)
    assert cut.run.windows == (("created_at", "2026-11-01", "2026-11-12"), ("created_at", "2026-11-12", "2026-11-24"))
    assert cut.run.export_id is None and cut.run.done == 0
    tiny = bm.started(bm.Bookmark(), bm.Run("2026-11-24", (("created_at", "2026-11-23", None),)), 9)
    assert bm.split(tiny, tiny.run) is None


def test_a_vanished_export_is_started_again():
    mark = bm.started(bm.Bookmark(), bm.Run("2026-11-24", (("created_at", "2014-01-01", None),)), 9)
    again = bm.restart_export(mark, mark.run)
    assert again.run.export_id is None and again.run.offset == 0


def test_a_first_version_bookmark_is_read():
    old = json.dumps({"v": 1, "from": "2026-11-20", "run": {"to": "2026-11-24", "filters": ["created_at", "payed_at"],
                                                            "since": "2026-11-20", "done": 1, "export_id": 5,
                                                            "offset": 10, "rejects": False}})
    mark = bm.Bookmark.loads(old)
    assert mark.run.current == ("payed_at", "2026-11-20", None) and mark.run.export_id == 5


def test_a_foreign_bookmark_is_refused():
    with pytest.raises(ValueError, match="not a GetCourse bookmark"):
        bm.Bookmark.loads("2026-01-01T00:00:00+00:00")
