"""``report lift``: the paid rate of worked orders against the hold-out group, with a confidence interval.

The interval of the difference of two proportions is Newcombe's hybrid score interval (method 10 of
Newcombe 1998), built from the two Wilson score intervals: it stays inside [-1, 1] and behaves with small
groups and rates near 0 or 1, where the plain normal approximation does not.
"""

from __future__ import annotations

from math import sqrt
from typing import Any, Iterable, Mapping

from unpaid.reports.attribution import share

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials (n > 0)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """``p1 - p2`` and its interval (Newcombe's hybrid score method); n1, n2 > 0."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    return d, d - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def lift(groups: Iterable[Mapping[str, Any]]) -> list[dict]:
    """One row per playbook with a hold-out group; ``groups`` from ``ReportStore.holdout``.

    ``lift`` and its interval are null while either group is empty.
    """
    by: dict[str, dict] = {}
    for g in groups:
        row = by.setdefault(g["playbook"], {"worked": 0, "worked_paid": 0, "held_out": 0, "held_out_paid": 0})
        prefix = "held_out" if g["held_out"] else "worked"
        row[prefix] += g["entered"]
        row[prefix + "_paid"] += g["paid"] or 0
    out = []
    for name, r in sorted(by.items()):
        d = lo = hi = None
        if r["worked"] and r["held_out"]:
            d, lo, hi = (round(x, 4) for x in newcombe(r["worked_paid"], r["worked"], r["held_out_paid"],
                                                       r["held_out"]))
        out.append({"playbook": name, **r, "worked_rate": share(r["worked_paid"], r["worked"]),
                    "held_out_rate": share(r["held_out_paid"], r["held_out"]), "lift": d, "lift_low": lo,
                    "lift_high": hi, "confidence": 0.95})
    return out
