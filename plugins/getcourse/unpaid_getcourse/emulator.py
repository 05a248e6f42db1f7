"""A GetCourse look-alike on 127.0.0.1 for tests, the demo and integrators.

It speaks the real wire format (see :mod:`unpaid_getcourse.wire`): asynchronous exports with a
build delay (909 until ready), one export at a time (905), the 100-per-2-hours budget (903), key
checks (901/904), read-only keys, a plan without API (917 / empty 200), import upserts by deal
number, the Tech API envelope, group adds, and exports in the Russian UI format. Faults can be
injected for the next matching requests: ``timeout``, ``reset``, ``500``, ``503``, ``429``,
``empty``, ``garbage``, ``redirect``, ``lost`` (done at the server, the answer dropped) and
``subdomain`` (404 «Wrong subdomain»). Choices the fact sheet leaves open ([UNK]) are seed keys:
``row_cap`` / ``row_cap_mode``, ``status_changed_on_create`` and ``uncollected_blocks``.

Run it::

    python -m unpaid_getcourse.emulator --seed seed.json --port 8765

or in-process: ``with start(seed) as emu: ... emu.base_url``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

from unpaid_getcourse.account import Account
from unpaid_getcourse.writes import import_call, tech_call

FAULTS = ("timeout", "reset", "500", "503", "429", "empty", "garbage", "redirect", "lost", "subdomain")


@dataclass
class Fault:
    kind: str
    path: str = ""  # applies to requests whose path starts with this
    count: int = 1


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.0"  # one request per connection; bodies end at close

    def log_message(self, *args: Any) -> None:  # quiet: tests and benchmarks read stdout
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        emu = self.server.emulator
        emu.account.log.append((method, url.path))
        fault = emu.take_fault(url.path)
        if fault and fault.kind != "lost" and self._fault(fault, self.path):  # the path with its query
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        form: dict[str, Any] = {}
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            try:
                form = json.loads(raw.decode("utf-8"))
            except ValueError:
                return self._send(400, {"status": False, "message": "Ошибка данных", "code": 400})
        elif raw:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        args = {**query, **form} if isinstance(form, dict) else query
        status, body = self._route(method, url.path, args, query, form)
        if fault and fault.kind == "lost":  # done at the server, the answer never arrives
            return self._drop()
        self._send(status, body)

    def _route(self, method: str, path: str, args: Mapping[str, Any], query: Mapping[str, str],
               form: Any) -> tuple[int, Any]:
        acc = self.server.emulator.account
        key = args.get("key")
        if path.startswith("/pl/api/v1/"):
            return tech_call(acc, method, path.removeprefix("/pl/api/v1/"), self.headers.get("Authorization"),
                             query, form if isinstance(form, dict) else {})
        if path in ("/pl/api/users", "/pl/api/deals"):
            if method != "POST":
                return 200, {"success": False, "error": "Пустой параметр action"}
            return import_call(acc, path.rsplit("/", 1)[1], args)
        if path == "/pl/api/account/deals":
            return acc.start_export(key, args)
        if path.startswith("/pl/api/account/exports/"):
            return acc.read_export(key, path.rsplit("/", 1)[1])
        if path == "/pl/api/account/groups":
            return acc.groups_list(key)
        return 404, "Wrong subdomain"

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is None:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if isinstance(body, Iterator):
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.end_headers()
            for chunk in body:
                self.wfile.write(chunk.encode("utf-8"))
            return
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_header("Content-Type", "text/plain; charset=utf-8" if isinstance(body, str)
                         else "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, fault: Fault, path: str) -> bool:
        """Act out a fault; True when the request is done with."""
        emu = self.server.emulator
        if fault.kind == "timeout":
            time.sleep(emu.fault_delay)
            self._drop()
        elif fault.kind == "reset":
            self._drop()
        elif fault.kind in ("500", "503"):
            self._send(int(fault.kind), "<html>Server error</html>", {"Retry-After": "1"})
        elif fault.kind == "429":
            self._send(429, "Too many requests", {"Retry-After": str(emu.retry_after)})
        elif fault.kind == "empty":
            self._send(200, None)
        elif fault.kind == "garbage":
            self._send(200, "<html><body>Технические работы</body></html>")
        elif fault.kind == "subdomain":
            self._send(404, "Wrong subdomain")
        elif fault.kind == "redirect":
            self._send(301, "", {"Location": f"{emu.redirect_to or emu.base_url}{path}"})
        else:
            return False
        return True

    def _drop(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: "Emulator"


class Emulator:
    """A running emulator: ``base_url``, ``account`` (the data), ``inject()`` faults, ``stop()``."""

    def __init__(self, account: Account, port: int = 0, host: str = "127.0.0.1"):
        self.account = account
        self.faults: list[Fault] = []
        self.fault_delay = 2.0  # seconds a "timeout" fault stalls before dropping the connection
        self.retry_after = 1  # the Retry-After of "429" faults
        self.redirect_to: str | None = None
        self._server = _Server((host, port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def source_settings(self) -> dict[str, Any]:
        """Settings for a ``[sources.X] type = "getcourse"`` that talks to this emulator (demo, tests)."""
        return {"account": self.account.name, "base_url": self.base_url, "timezone": self.account.zone.key,
                "first_wait": "0", "poll_interval": "0.2", "poll_max": "1"}

    def secrets(self) -> dict[str, str]:
        """The keys the emulated account accepts, as the connector's secrets."""
        found = {"secret_key": self.account.secret_key}
        if self.account.developer_key:
            found["developer_key"] = self.account.developer_key
        return found

    def inject(self, kind: str, path: str = "", count: int = 1) -> None:
        """Make the next ``count`` requests whose path starts with ``path`` fail with ``kind``."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(FAULTS)}")
        with self.account.lock:
            self.faults.append(Fault(kind, path, count))

    def take_fault(self, path: str) -> Fault | None:
        with self.account.lock:
            for fault in self.faults:
                if path.startswith(fault.path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def requests(self, prefix: str = "") -> int:
        """How many requests reached paths starting with ``prefix``."""
        return sum(1 for _, path in self.account.log if path.startswith(prefix))

    def serve_in_thread(self) -> "Emulator":
        self._thread = threading.Thread(target=self._server.serve_forever, name="getcourse-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def load_seed(seed: Mapping[str, Any] | str | Path | None, as_of: datetime | None = None) -> dict[str, Any]:
    """A seed from a dict, a JSON file, or None for the demo school (dated before ``as_of``)."""
    if seed is None:
        from unpaid_getcourse.sample import demo_seed

        return demo_seed(as_of)
    if isinstance(seed, (str, Path)):
        return json.loads(Path(seed).read_text(encoding="utf-8"))
    return dict(seed)


def start(seed: Mapping[str, Any] | str | Path | None = None, port: int = 0, *, as_of: datetime | None = None,
          **overrides: Any) -> Emulator:
    """Start an emulator in a daemon thread and return it (``.base_url``, ``.stop()``).

    ``seed`` is a seed dict or JSON file (None = the demo school, dated before ``as_of``); ``overrides``
    replace seed keys (``build_delay=0``, ``budget=5``...). This is what ``unpaid demo --source getcourse``
    calls.
    """
    data = {**load_seed(seed, as_of), **overrides}
    emulator = Emulator(Account.from_seed(data), port)
    for fault in data.get("faults", []):
        emulator.inject(fault["kind"], fault.get("path", ""), int(fault.get("count", 1)))
    return emulator.serve_in_thread()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m unpaid_getcourse.emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", help="seed JSON file (default: a small demo school)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--build-delay", type=float, help="seconds an export takes to build")
    parser.add_argument("--budget", type=int, help="export requests allowed per window")
    parser.add_argument("--generate", type=int, metavar="N", help="instead of --seed: N generated deals")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in (("build_delay", args.build_delay), ("budget", args.budget)) if v is not None}
    seed = args.seed
    if args.generate is not None:
        from unpaid_getcourse.sample import generate

        seed = generate(args.generate)
    emulator = start(seed, args.port, **overrides)
    acc = emulator.account
    print(f"GetCourse emulator for account {acc.name!r} on {emulator.base_url} "
          f"({len(acc.deals)} deals, {len(acc.users)} users); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
