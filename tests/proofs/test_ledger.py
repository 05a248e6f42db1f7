"""Exactly once from the outside: SIGKILLed runs and overlapping runs against a loopback SMTP server."""

from __future__ import annotations

from tests.proofs.harness import MUTANT, size
from tests.proofs.letters import crash_loop, overlapping
from tests.proofs.table import Row, record


def test_crash_loop(tmp_path, proof_db):
    kills = size(30, 200)
    c = crash_loop(tmp_path, "crash", kills, db=proof_db)
    row = record(Row(f"crash loop{_on(proof_db)}: {kills} SIGKILLs, SMTP stalls/refuses/drops", c.runs, c.duplicates, c.losses,
                     c.held, c.tracebacks, held_expected=True))
    assert row.ok, c.detail


def test_overlapping_runs(tmp_path, proof_db):
    rounds, width = size(4, 12), size(4, 8)
    c = overlapping(tmp_path, "overlap", rounds, width, db=proof_db)
    row = record(Row(f"overlapping runs{_on(proof_db)}: {rounds} rounds of {width}", c.runs, c.duplicates, c.losses, c.held,
                     c.tracebacks))
    assert row.ok, c.detail


def test_four_hosts_with_their_own_config_share_one_store(tmp_path, proof_db):
    """4 `unpaid run`s at once, each from its own config folder (as cron on 4 hosts), on one store."""
    rounds = size(3, 10)
    c = overlapping(tmp_path, "hosts", rounds, 4, db=proof_db, hosts=True)
    row = record(Row(f"4 hosts{_on(proof_db)}: {rounds} rounds of 4 runs", c.runs, c.duplicates, c.losses, c.held,
                     c.tracebacks))
    assert row.ok, c.detail


def test_the_crash_loop_catches_a_ledger_written_after_the_send(tmp_path):
    """The same loop against tests/proofs/mutant.py (claim after send) must count duplicates."""
    kills = size(30, 60)
    c = crash_loop(tmp_path, "mutant", kills, command=MUTANT)
    row = record(Row(f"mutant (ledger after send): {kills} SIGKILLs", c.runs, c.duplicates, c.losses, c.held,
                     c.tracebacks, held_expected=True, mutant=True))
    assert row.ok, c.detail


def _on(db: str | None) -> str:
    return " on PostgreSQL" if db else ""
