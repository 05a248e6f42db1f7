import os

import pytest

from tests.reports import world


@pytest.fixture
def report(cli, tmp_path):
    """Run ``unpaid report ...`` over the known store of tests/reports/world.py; returns the CLI result."""
    from unpaid.store import Store

    (tmp_path / "unpaid.toml").write_text('timezone = "UTC"\n', encoding="utf-8")
    with Store.open(os.environ["UNPAID_DB"]) as store:  # the cli fixture's store
        world.build(store)

    def run(*args: str, code: int = 0):
        result = cli(["--now", world.NOW, "report", *args])
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def rows(report):
    """The JSON rows of a report over November: ``rows("recovery", "--source", "gc")``."""

    def get(*args: str):
        return report(*args, *world.PERIOD, "--format", "json").json()

    return get
