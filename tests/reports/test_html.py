"""`unpaid report --html FILE`: one self-contained page whose charts a real browser draws and whose figures
are the JSON reports'. The browser test needs Debian's chromium (`apt-get install -y chromium`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from tests.reports import world
from unpaid.reports.html import TABLES
from unpaid.reports.words import COLUMNS, source_field
from unpaid.store.history import Entry

pygal = pytest.importorskip("pygal", reason="the HTML report needs the reports extra: pip install 'unpaid[reports]'")
CHARTS = ("revenue", "reasons", "managers", "funnel", "lift")


class Page(HTMLParser):
    """The page's figures: report -> rows of {field: JSON value}; its charts -> shapes drawn; what it loads."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.drawn: dict[str, int | None] = {}
        self.external: list[str] = []
        self.svgs = 0
        self._table = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a["data-report"], [])
        elif tag == "tr" and "data-row" in a:
            self._table.append({})
        elif tag == "td" and "data-field" in a:
            self._table[-1][a["data-field"]] = json.loads(a["data-value"])
        elif tag == "figure":
            self.drawn[a["data-chart"]] = int(a["data-drawn"]) if "data-drawn" in a else None
        elif tag == "svg":
            self.svgs += 1
        for key in ("src", "href", "xlink:href"):
            if a.get(key) and not a[key].startswith("#"):
                self.external.append(a[key])


@pytest.fixture
def page_of(report, cli, tmp_path, cli_db):
    """Write the page of November (with a hold-out group in `remind`) and return its path and the JSON."""
    from unpaid.store import Store

    with Store.open(cli_db) as store, store.transaction():
        # I (entered, never paid) and C (paid) are remind's hold-out group
        store.history.add_many(Entry(i, world.t(1), "playbook:remind", "playbook", "Held out", {"holdout": True})
                               for i in ("shop:I", "shop:C"))

    def write():
        path = tmp_path / "report.html"
        result = report(*world.PERIOD, "--html", str(path), "--format", "json")
        assert result.json() == {"path": str(path.resolve()), "written": True}
        # the JSON reports' figures, the fields each table of the page shows
        expected = {name: [{source_field(name, f): row[source_field(name, f)] for f in COLUMNS[name]}
                           for row in report(name, *world.PERIOD, "--format", "json").json()] for name in TABLES}
        return path, expected

    return write


def test_the_page_holds_every_report_and_a_chart_of_each_kind(page_of):
    path, expected = page_of()
    page = Page(path.read_text(encoding="utf-8"))
    assert page.tables == expected and set(expected) == {"recovery", "reasons", "managers", "steps", "offers",
                                                         "funnel", "lift"}
    assert expected["lift"][0]["held_out"] == 2  # the hold-out group made it to the page
    assert set(page.drawn) == set(CHARTS) and page.svgs == len(CHARTS)
    assert page.external == []  # nothing to fetch: it opens offline


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="needs Debian's chromium for the headless browser: apt-get install -y chromium")
def test_a_headless_browser_draws_every_chart_and_shows_the_json_figures(page_of):
    path, expected = page_of()
    # No network at all: any request for a script or a style would fail, and the charts with it.
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000", "--dump-dom",
                           path.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-ready="1"' in done.stdout, "the page's script did not run"
    page = Page(done.stdout)
    assert page.tables == expected  # the figures, as the browser has the document
    assert all(page.drawn[c] for c in CHARTS), page.drawn  # every chart has shapes with an area


def test_without_pygal_the_error_names_the_extra(report, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pygal" else real(name, *a))
    result = report("--html", str(tmp_path / "r.html"), code=2)
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: --html: the charts need pygal") and "unpaid[reports]" in line
    assert not (tmp_path / "r.html").exists()


def test_an_empty_store_still_writes_a_well_formed_page(cli, tmp_path):
    (tmp_path / "unpaid.toml").write_text('timezone = "UTC"\n', encoding="utf-8")
    result = cli(["--now", world.NOW, "report", "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    page = Page((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert page.tables["recovery"] == [] and "no orders yet" in result.stderr
    assert page.svgs == len(CHARTS)
