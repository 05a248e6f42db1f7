"""The proofs table: every proof adds one row; the conftest prints them all as one table at the end.

A row passes when it has no duplicates, no losses and no tracebacks, and holds items only where the case
expects uncertainty. The mutant row is the exception by design: it passes when it *does* show duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = ("case", "runs", "duplicates", "losses", "held", "tracebacks", "verdict")


@dataclass
class Row:
    case: str
    runs: int
    duplicates: int
    losses: int
    held: int
    tracebacks: int
    held_expected: bool = False  # uncertainty is part of the case (a kill mid-send, a stalled server)
    mutant: bool = False  # a deliberately broken build: the row must show duplicates

    @property
    def ok(self) -> bool:
        if self.mutant:
            return self.duplicates > 0 and self.tracebacks == 0
        return (self.duplicates == 0 and self.losses == 0 and self.tracebacks == 0
                and (self.held == 0 or self.held_expected))

    def cells(self) -> list:
        verdict = ("caught" if self.ok else "NOT CAUGHT") if self.mutant else ("pass" if self.ok else "FAIL")
        return [self.case, self.runs, self.duplicates, self.losses, self.held, self.tracebacks, verdict]


ROWS: list[Row] = []


def record(row: Row) -> Row:
    """Add ``row`` to the table and return it (the test then asserts ``row.ok``)."""
    ROWS.append(row)
    return row


def render(rows: list[Row]) -> str:
    cells = [list(COLUMNS)] + [[str(c) for c in r.cells()] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
             for line in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
