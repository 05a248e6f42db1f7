"""The emulator as integrators run it: `python -m unpaid_getcourse.emulator --seed FILE --port N`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx

from unpaid_getcourse.sample import generate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runs_as_a_module_from_a_seed_file(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(generate(25)), encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "unpaid_getcourse.emulator", "--seed", str(seed), "--port",
                             str(port), "--build-delay", "0.2"], stdout=subprocess.PIPE, text=True)
    try:
        assert "25 deals" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        start = httpx.get(f"{base}/pl/api/account/deals", params={"key": "gc-secret-0001",
                                                                  "created_at[from]": "2020-01-01"}).json()
        export = f"{base}/pl/api/account/exports/{start['info']['export_id']}"
        assert httpx.get(export, params={"key": "gc-secret-0001"}).json()["error_code"] == 909
        time.sleep(0.3)
        ready = httpx.get(export, params={"key": "gc-secret-0001"}).json()
        assert len(ready["info"]["items"]) == 25 and "Статус" in ready["info"]["fields"]
        assert httpx.get(f"{base}/pl/api/account/deals", params={"key": "gc-secret-0001"}).json()["error_code"] == 908
        assert httpx.get(f"{base}/pl/api/account/deals", params={"key": "bad"}).json()["error_code"] == 901
    finally:
        proc.terminate()
        proc.wait(10)
