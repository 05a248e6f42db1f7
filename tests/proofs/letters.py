"""The crash loop and the overlapping runs, and how both count what the mail server got.

Counting is from the outside only: the letters every order is due (its two reminders), the server's record
of Message-IDs, and what `unpaid review` lists as held. The runner's internals are never read.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tests.proofs.harness import LEASE, T0, UNPAID, Shop, Tally, rng
from tests.proofs.mailserver import CALM, STORMY, MailServer, Recorder

STEPS = ("first", "second")
AGE = timedelta(hours=2)  # new orders are this old: past the segment's min_age of 1h


@dataclass
class Count:
    runs: int
    duplicates: int
    losses: int
    held: int
    tracebacks: int
    detail: str = ""


def due_letters(shop: Shop) -> set[tuple[str, str]]:
    return letters((row[5], row[1]) for row in shop.orders)


def letters(customers) -> set[tuple[str, str]]:
    """Both letters for each (e-mail, order number)."""
    return {(email, f"{step} reminder for order {number}") for email, number in customers for step in STEPS}


def count(shop: Shop, recorder: Recorder, held: int, due: set[tuple[str, str]] | None = None) -> Count:
    """duplicates: Message-IDs received twice, plus letters received under two ids; losses: due, never received.

    ``due`` is every (address, subject) that must arrive once: by default both letters of every CSV order."""
    by_id = Counter(r.message_id for r in recorder.received)
    ids = defaultdict(set)
    for r in recorder.received:
        ids[r.letter].add(r.message_id)
    twice = [m for m, n in by_id.items() if n > 1]
    two_ids = [letter for letter, found in ids.items() if len(found) > 1]
    lost = (due_letters(shop) if due is None else due) - set(ids)
    detail = f"twice: {twice[:5]}, two ids: {two_ids[:5]}, lost: {sorted(lost)[:5]}, faults: {dict(recorder.faults)}"
    return Count(shop.tally.runs, len(twice) + len(two_ids), len(lost), held, len(shop.tally.crashes), detail)


def settle(shop: Shop, now: datetime, recorder: Recorder) -> list[dict]:
    """What an admin does with the mail log: every held item is sent if the server has its Message-ID.

    Returns the held items as `unpaid review --format json` listed them."""
    items = held_items(shop, now)
    got = recorder.message_ids()
    for outcome in ("sent", "unsent"):
        keys = [i["key"] for i in items if (i["message_id"] in got) == (outcome == "sent")]
        if keys:
            result = shop.unpaid(now, "review", "resolve", *keys, "--as", outcome)
            assert result.code == 0, result.stderr
    return items


def complete(shop: Shop, now: datetime, recorder: Recorder) -> datetime:
    """Calm weather, one sync, then runs until both letters are due for everyone."""
    recorder.weather = CALM
    shop.unpaid(now, "sync")
    for _ in range(4):
        now += timedelta(hours=3)
        shop.unpaid(now, "run")
    return now


def held_items(shop: Shop, now: datetime) -> list[dict]:
    listed = shop.unpaid(now, "--format", "json", "review")
    assert listed.code == 0, listed.stderr
    return json.loads(listed.stdout or "[]")


def still_held(shop: Shop, now: datetime) -> int:
    return len(held_items(shop, now))


def crash_loop(root: Path, case: str, kills: int, command: list[str] = UNPAID, db: str | None = None) -> Count:
    """SIGKILL `unpaid run` at seeded random moments until ``kills`` runs died mid-way; settle; complete; count.

    Each round: a few new orders, a sync (killed now and then too), a run killed at a random point of its
    expected length, the clock moved past the claim lease. Second letters come due 2 h after the first.
    """
    r = rng(case)
    recorder = Recorder(rng(case + ":server"), STORMY)
    with MailServer(recorder) as port:
        shop = Shop(root, smtp_port=port, command=command, tally=Tally(), db=db)
        now, killed, longest = T0, 0, 1.0
        shop.add(10, now - AGE)
        while killed < kills:
            shop.add(r.randint(0, 3), now - AGE)
            sync = shop.spawn(now, "sync")
            if r.random() < 0.2:
                shop.kill_after(sync, r.uniform(0, 0.5))
            shop.finish(sync)
            run, started = shop.spawn(now, "run"), time.monotonic()
            if shop.kill_after(run, r.uniform(0.02, longest)):
                killed += 1
            else:  # it ended first: learn how long a run takes, so kills land inside the next ones
                longest = max(0.3, 0.7 * longest + 0.3 * 1.2 * (time.monotonic() - started))
            shop.finish(run)
            now += LEASE
        held = len(settle(shop, now, recorder))
        now = complete(shop, now, recorder)
        held += still_held(shop, now)
        return count(shop, recorder, held)


def overlapping(root: Path, case: str, rounds: int, width: int, db: str | None = None, hosts: bool = False) -> Count:
    """``rounds`` times: new orders, a sync, then ``width`` `unpaid run` processes at once on one store
    (``hosts``: each with a config folder and user dirs of its own, as on separate machines)."""
    r = rng(case)
    recorder = Recorder(rng(case + ":server"), CALM)
    with MailServer(recorder) as port:
        shop = Shop(root, smtp_port=port, tally=Tally(), db=db)
        now = T0
        for _ in range(rounds):
            shop.add(r.randint(5, 15), now - AGE)
            shop.unpaid(now, "sync")
            procs = [shop.spawn(now, "run", env=shop.host_env(i) if hosts else None) for i in range(width)]
            for proc in procs:
                result = shop.finish(proc)
                assert result.code == 0, result.stderr
            now += timedelta(minutes=r.choice([1, 30, 60, 130]))
        now = complete(shop, now, recorder)
        return count(shop, recorder, still_held(shop, now))
