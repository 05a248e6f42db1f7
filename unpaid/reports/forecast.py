"""``report forecast``: what the playbooks will do over the coming days, and the payments to expect.

From the rows ``unpaid plan --until`` gives: each planned action counts on the day it falls (in the config's
zone); each is expected to bring in the share of its step's past actions that a recovered payment followed
(``report steps`` over every order so far, ``paid_after / sent``), 0 for a step with no past.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Iterable, Mapping

from unpaid.clock import from_iso

#: Planned actions by what they do: the columns of the forecast.
KINDS = {"send": "messages", "trigger": "messages", "offer": "offers", "call": "calls", "status": "status_changes",
         "cancel": "status_changes"}


def step_rates(steps: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], float]:
    """(playbook, step) -> recovered payments per action, from ``report steps`` rows (all currencies)."""
    sent: dict[tuple[str, str], int] = {}
    paid: dict[tuple[str, str], int] = {}
    for r in steps:
        key = (r["playbook"], r["step"])
        sent[key] = sent.get(key, 0) + r["sent"]
        paid[key] = paid.get(key, 0) + r["paid_after"]
    return {k: paid[k] / n for k, n in sent.items() if n}


def forecast(plan: Iterable[Mapping[str, Any]], rates: Mapping[tuple[str, str], float], zone: tzinfo) -> list[dict]:
    """One row per day with planned actions: ``{day, messages, offers, calls, status_changes,
    expected_payments}``; ``plan`` rows are ``unpaid plan``'s (``kind`` act / act later)."""
    days: dict[str, dict] = {}
    for row in plan:
        if row["kind"] not in ("act", "act later") or row["action"] not in KINDS:
            continue
        day = from_iso(row["at"]).astimezone(zone).date().isoformat()
        out = days.setdefault(day, {"day": day, **{k: 0 for k in dict.fromkeys(KINDS.values())},
                                    "expected_payments": 0.0})
        out[KINDS[row["action"]]] += 1
        out["expected_payments"] += rates.get((row["playbook"], row["step"]), 0.0)
    return [{**d, "expected_payments": round(d["expected_payments"], 2)} for _, d in sorted(days.items())]
