"""Forked worker processes for work split into independent parts (a plan's customers, an export's ranges).

A worker reads through a store connection of its own: the parent's is never used, closed or finalized in the
child (it leaves with ``os._exit``), since SQLite connections do not survive a fork. The parent forks only
while its connection is idle (no transaction, every statement read to its end): SQLite keeps a process's
record of the locks it holds in memory, and a child would inherit locks that are not its own. A worker that fails
writes what went wrong to a report file; :func:`raise_failure` raises it again in the parent, as the work
would have raised it in one process (the same message, fix and exit code; a stop stays a stop).
"""

from __future__ import annotations

import json
import os
import signal
import traceback
from pathlib import Path
from typing import Callable


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def wanted(asked: int | None) -> int:
    """The processes a command that splits its work runs: ``--jobs`` when given, else one per CPU, at most 4;
    1 where processes cannot be forked."""
    if not hasattr(os, "fork"):
        return 1
    return asked if asked is not None else min(4, available_cpus())


def start(work: Callable[[], None], report: Path) -> int:
    """Fork a process that runs ``work()`` and exits (0, or 1 after writing ``report``); its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        work()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        code = 1
        try:
            report.write_text(json.dumps(_report(exc)), encoding="utf-8")
        except BaseException:  # noqa: BLE001 - the exit code still says it failed
            pass
    finally:
        os._exit(code)
    return 0  # never reached


def _report(exc: BaseException) -> dict:
    from unpaid.errors import UnpaidError

    kind = "interrupted" if isinstance(exc, KeyboardInterrupt) else "unpaid" if isinstance(exc, UnpaidError) \
        else "bug"
    return {"kind": kind, "message": getattr(exc, "message", str(exc)), "fix": getattr(exc, "fix", None),
            "exit": int(getattr(exc, "exit_code", 1)), "type": type(exc).__name__, "trace": traceback.format_exc()}


def raise_failure(report: Path, status: int) -> None:
    """Raise what a worker that ended with wait status ``status`` reported in ``report``."""
    from unpaid.errors import ExitCode, UnpaidError

    if not report.exists():
        raise RuntimeError(f"a worker process stopped without a word (wait status {status})")
    said = json.loads(report.read_text(encoding="utf-8"))
    if said["kind"] == "interrupted":
        from unpaid.signals import Interrupted

        raise Interrupted(said["message"])
    if said["kind"] == "unpaid":
        raise UnpaidError(said["message"], said["fix"], exit_code=ExitCode(said["exit"]))
    raise RuntimeError(f"{said['type']} in a worker process: {said['message']}\n{said['trace']}")


def stop(pids: list[int]) -> None:
    """Kill and reap the workers still running (the work stopped early: an error, a signal)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
