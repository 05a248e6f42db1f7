"""Run summaries say what happened: every action due is done, deferred, skipped (why), held for review or failed;
work another run did first is not counted as this run's; plurals are right; the rows say when it was done."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

from tests.playbook.procs import T0
from unpaid.playbook.summary import ACTION_RESULTS, due, summary_line


def test_the_summary_line_counts_each_action_once():
    counts = {"done": 1, "deferred": 2, "skipped": 1, "review": 1, "failed": 1, "entered": 1, "finished": 3,
              "other_run": 4}
    line = summary_line(counts, {"order is paid at the source by now": 1})
    assert line == ("6 actions due: 1 done, 2 deferred, 1 skipped (order is paid at the source by now), "
                    "1 held for review, 1 failed; 1 order entered, 3 finished; 4 already done by another run")
    assert due(counts) == 6 == sum(counts[k] for k in ACTION_RESULTS)
    assert summary_line({"done": 1}) == "1 action due: 1 done"
    assert summary_line({}) == "nothing was due"
    assert "lost" not in line


def summary(result) -> str:
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("Run ")]
    return line


def test_a_run_reports_done_deferred_and_skipped_with_the_reason(world):
    world.configure(fail=1)  # the first send fails with a temporary error: deferred to a later run
    world.many(3)
    world.pay("3")  # paid at the source meanwhile: the re-check skips it
    result = world.run(T0, code=1)
    rows = result.json()
    results = Counter(r["result"] for r in rows)
    assert results == {"entered": 3, "done": 1, "deferred": 1, "skipped": 1, "finished": 1}
    line = summary(result)
    assert "3 actions due: 1 done, 1 deferred, 1 skipped (order is paid at the source by now)" in line
    assert "3 orders entered, 1 finished" in line and "lost" not in line
    done = next(r for r in rows if r["result"] == "done")
    assert done["done_at"] == "2026-11-24T12:00:00Z" and done["at"] <= done["done_at"]


def test_the_table_shows_due_and_done_times_in_one_zone(world):
    world.many(1, created=T0 - timedelta(days=2))  # due long ago: done now
    world.config.write_text(world.config.read_text().replace('timezone = "UTC"', 'timezone = "Europe/Moscow"')
                            .replace('min_age = "1h"', 'min_age = "1h"\nmax_age = "30d"'))
    result = world.cli(["--config", str(world.config), "--db", str(world.db), "--now", T0.isoformat(), "run"])
    assert result.exit_code == 0, result.output
    header, _, *body = result.stdout.splitlines()
    assert header.split()[:2] == ["Due", "Done"]
    letter = next(line for line in body if "letter" in line)
    assert "15:00" in letter  # 12:00 UTC, shown in Moscow time like every other time in the row
    assert "Z" not in re.sub(r"[a-z]Z", "", letter) and "UTC" not in letter


def test_overlapping_runs_count_each_enrollment_once(world):
    world.configure(delay=0.01)
    world.many(20)
    procs = [world.spawn(T0), world.spawn(T0)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    total = Counter(r["result"] for out, _ in outputs for r in json.loads(out))
    assert total["entered"] == total["done"] == total["finished"] == 20
    assert "lost" not in total and "other_run" not in total  # the rows list this run's own work only
    for _, err in outputs:
        assert "lost" not in err
