"""Counting the processes a command forks, for tests of the work it splits between processes."""

from __future__ import annotations

import os


def counted_forks(monkeypatch) -> list[int]:
    """The pids of the processes forked from now on (by this one)."""
    forks: list[int] = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forks
