"""The proofs print one table at the end of the session (see table.py, docs/proofs.md)."""

from tests.proofs import harness, table


def pytest_terminal_summary(terminalreporter):
    if not table.ROWS:
        return
    mode = "full" if harness.full() else "ci"
    terminalreporter.section(f"proofs ({mode}, UNPAID_PROOFS_SEED={harness.seed()})")
    terminalreporter.write_line(table.render(table.ROWS))
