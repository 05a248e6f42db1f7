"""The proofs print one table at the end of the session (see table.py, docs/proofs.md)."""

import os

import pytest

from tests.proofs import harness, table


@pytest.fixture(params=["sqlite", "postgres"])
def proof_db(request) -> str | None:
    """The store of a proof: unpaid.db in the shop's folder (None), or a fresh PostgreSQL database. The
    PostgreSQL runs are part of the long proofs (`make proofs`), not of every test run;
    UNPAID_PROOFS_POSTGRES=1 runs them at the quick sizes."""
    if request.param == "sqlite":
        return None
    if not harness.full() and os.environ.get("UNPAID_PROOFS_POSTGRES") != "1":
        pytest.skip("the PostgreSQL proofs run with UNPAID_PROOFS=full (make proofs) or UNPAID_PROOFS_POSTGRES=1")
    return request.getfixturevalue("pg_url")


def pytest_terminal_summary(terminalreporter):
    if not table.ROWS:
        return
    mode = "full" if harness.full() else "ci"
    terminalreporter.section(f"proofs ({mode}, UNPAID_PROOFS_SEED={harness.seed()})")
    terminalreporter.write_line(table.render(table.ROWS))
