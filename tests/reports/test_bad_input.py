"""Bad input and empty stores: one clear line or an empty, well-formed report; never a traceback."""

from __future__ import annotations

import json

import pytest

from tests.reports import world


@pytest.fixture
def empty(cli, tmp_path):
    (tmp_path / "unpaid.toml").write_text('timezone = "UTC"\n', encoding="utf-8")

    def run(*args: str):
        return cli(["--now", world.NOW, "report", *args])

    return run


@pytest.mark.parametrize("name", ["recovery", "reasons", "managers", "steps", "offers", "lift"])
def test_an_empty_store_gives_an_empty_report_and_says_why(empty, name):
    result = empty(name, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "no orders yet" in result.stderr
    table = empty(name)
    assert table.exit_code == 0 and table.stdout == "" and "run `unpaid sync` first" in table.stderr


def test_the_funnel_of_an_empty_store_is_zeros_without_shares(empty):
    out = empty("funnel", "--format", "json").json()
    assert {r["count"] for r in out} == {0} and {r["share"] for r in out} == {None}


def test_a_period_with_no_data(report):
    result = report("recovery", "--since", "2025-01-01", "--until", "2025-02-01", "--format", "json")
    assert result.json() == [] and "no data for this report" in result.stderr
    funnel = report("funnel", "--since", "2025-01-01", "--until", "2025-02-01", "--format", "json").json()
    assert {r["share"] for r in funnel} == {None}  # no division by zero
    assert report("recovery", "--playbook", "nope", "--format", "json").json() == []


@pytest.mark.parametrize("args, expected", [
    (("bogus",), "Error: REPORT: unknown report 'bogus' — use one of: recovery, reasons"),
    (("--html", "/nonexistent-folder/r.html"), "Error: --html: cannot write /nonexistent-folder/r.html"),
    (("--since", "2026-12-01", "--until", "2026-11-01"), "Error: --since 2026-12-01 is not before --until"),
    (("--since", "2026-11-01", "--until", "2026-11-01"), "Error: --since 2026-11-01 is not before --until"),
    (("--since", "yesterday-ish"), "Error: --since: "),
    (("--until", "31.02.2026"), "Error: --until: "),
    (("--window", "soon"), "Error: --window: "),
    (("--window", "0d"), "Error: --window: must be longer than 0"),
    (("forecast", "--ahead", "0d"), "Error: --ahead: must be longer than 0"),
    (("forecast", "--ahead", "later"), "Error: --ahead: "),
])
def test_bad_input_is_one_line_and_exit_2(empty, args, expected):
    result = empty(*args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(expected), line


def test_bad_input_with_json_writes_the_error_object(empty):
    result = empty("bogus", "--format", "json")
    assert result.exit_code == 2 and result.json()["exit"] == 2
