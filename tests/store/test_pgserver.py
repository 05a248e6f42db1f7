"""The tests' throw-away PostgreSQL server goes away with the pytest that started it, even a killed one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unpaid.testing import pgserver

HOLDER = """
import pathlib, time

def test_hold(pg_server):
    pathlib.Path({out!r}).write_text(f"{{pg_server.port}} {{pg_server.folder}}")
    time.sleep(600)
"""


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _until(condition, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_killed_pytest_takes_its_server_with_it(tmp_path):
    reason = pgserver.missing()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "server.txt"
    (tmp_path / "test_holder.py").write_text(HOLDER.format(out=str(out)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "unpaid.testing.fixtures",
                             "-c", str(tmp_path / "pytest.ini"), "-q", str(tmp_path / "test_holder.py")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if not _until(lambda: out.exists() and out.read_text() or proc.poll() is not None, 120):
            pytest.fail("the pytest never started its server")
        assert proc.poll() is None, proc.communicate()[0].decode()
        port, folder = out.read_text().split(" ", 1)
        assert _listening(int(port)) and Path(folder).is_dir()
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # no teardown, no atexit: only the watchdog is left to act
        proc.wait()
    assert _until(lambda: not _listening(int(port)), 20), f"the server on port {port} outlived its pytest"
    assert _until(lambda: not Path(folder).exists(), 20), f"{folder} outlived its pytest"


def test_stop_closes_the_port_and_deletes_the_folder():
    reason = pgserver.missing()
    if reason:
        pytest.skip(reason)
    server = pgserver.Server()
    assert _listening(server.port)
    server.stop()
    assert not _listening(server.port) and not server.folder.exists()
    server.stop()  # a second stop is a no-op


def test_the_postgresql_pass_names_why_it_skips_where_no_server_can_start(monkeypatch):
    from unpaid.testing import fixtures

    monkeypatch.setattr(pgserver, "missing", lambda: "PostgreSQL server binaries not found (apt-get install postgresql)")
    monkeypatch.setenv(fixtures.STORE_ENV, "postgres")
    assert fixtures.pytest_report_header(None) == [
        "store: PostgreSQL, but every test that needs it SKIPS: PostgreSQL server binaries not found "
        "(apt-get install postgresql)"]
    monkeypatch.setenv(fixtures.STORE_ENV, "sqlite")
    assert fixtures.pytest_report_header(None) == []
