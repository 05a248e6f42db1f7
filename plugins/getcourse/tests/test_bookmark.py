"""The bookmark's life: first sync, export started, pages stored, filters done, rejects keep the window."""

from __future__ import annotations

import pytest

from unpaid_getcourse import bookmark as bm


def test_first_sync_is_one_export_by_creation_date():
    run = bm.plan(bm.Bookmark(), "2026-11-24", "2014-01-01")
    assert (run.filters, run.since, run.to) == (("created_at",), "2014-01-01", "2026-11-24")


def test_a_finished_run_moves_the_window_to_its_start_day():
    mark = bm.Bookmark()
    run = bm.plan(mark, "2026-11-24", "2014-01-01")
    mark = bm.started(mark, run, 42)
    mark = bm.progressed(mark, mark.run, 1000, rejects=False)
    assert bm.Bookmark.loads(mark.dumps()) == mark and mark.run.offset == 1000
    done = bm.finished_export(mark, mark.run, rejects=False)
    assert done == bm.Bookmark("2026-11-24", None)
    later = bm.plan(done, "2026-11-25", "2014-01-01")
    assert later.filters == bm.INCREMENTAL and later.since == "2026-11-24"


def test_incremental_runs_each_filter_before_moving_on():
    mark = bm.Bookmark("2026-11-20")
    run = bm.plan(mark, "2026-11-24", "2014-01-01")
    mark = bm.finished_export(bm.started(mark, run, 1), run, rejects=False)
    assert mark.since == "2026-11-20" and mark.run.current == "status_changed_at"
    assert bm.plan(mark, "2026-11-30", "2014-01-01") == mark.run  # resumes, does not re-plan


def test_rejects_keep_the_window_for_the_next_run():
    mark = bm.Bookmark("2026-11-20")
    run = bm.Run("2026-11-24", ("created_at",), "2026-11-20")
    assert bm.finished_export(mark, run, rejects=True) == bm.Bookmark("2026-11-20", None)


def test_a_vanished_export_is_started_again():
    mark = bm.started(bm.Bookmark(), bm.Run("2026-11-24", ("created_at",), "2014-01-01"), 9)
    again = bm.restart_export(mark, mark.run)
    assert again.run.export_id is None and again.run.offset == 0


def test_a_foreign_bookmark_is_refused():
    with pytest.raises(ValueError, match="not a GetCourse bookmark"):
        bm.Bookmark.loads("2026-01-01T00:00:00+00:00")
