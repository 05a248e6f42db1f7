"""A loopback AutoWebOffice: a real HTTP server that behaves like the API, bad days included.

Routing is by the ``r`` query parameter on the account's URL (``/{subdomain}/?r=api/rest/accounts``);
reads take the GET key, writes the SET key; creates are XML, updates put everything in the query
string; answers are string-typed JSON or the API's plain-text bodies. It enforces the rate limit
(20 requests per 5 s unless told otherwise), counts the busiest window it saw, and takes faults::

    python -m unpaid_autoweboffice.emulator --seed shop.json --port 8765

    emu = start(seed)            # in a thread; emu.base_url -> http://127.0.0.1:PORT/acme/
    emu.fail_next("500")         # also: "429", "503", "garbage", "no_items", "auth", "slow", "drop"
    emu.stop()

What the fact sheet leaves unknown is a switch, so a test can hold the connector to either answer:
``not_found`` ("http": 404 for a read, 400 for a change — the default; "200": the text with HTTP 200),
``tagged`` (model names in ``<b>`` tags, the default), ``empty_status`` (200, or 404 for "No items where
found"), ``past_end`` ("empty", or "repeat": a page past the end repeats the last one),
``refusal_status`` (200, or 400 for a validation refusal) and ``total_header`` (send Yii's
``X-Pagination-Total-Count``; off by default).

Control endpoints for a separate process: ``GET /_emulator/stats``, ``POST /_emulator/faults``
with ``{"kind": "500", "count": 1}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from unpaid_autoweboffice.fake_account import ENTITIES, WRITE_ONLY, ApiError, FakeAccount, Invalid, Missing
from unpaid_autoweboffice.wire import ROUTE_PREFIX, encode_objects, parse_xml_items

FAULTS = ("500", "503", "429", "garbage", "no_items", "auth", "slow", "drop")


@dataclass
class Stats:
    """What the emulator saw: requests, refusals and the busiest window."""

    requests: int = 0
    limited: int = 0
    max_in_window: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "limited": self.limited, "max_in_window": self.max_in_window}


class Emulator:
    """The server plus its account; ``start()`` runs it in a daemon thread."""

    def __init__(self, seed: Mapping[str, Any] | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 rate_limit: tuple[int, float] | None = (20, 5.0), rate_status: int = 429,
                 now: Callable[[], datetime] | None = None, slow_seconds: float = 3.0, not_found: str = "http",
                 tagged: bool = True, empty_status: int = 200, past_end: str = "empty", refusal_status: int = 200,
                 total_header: bool = False):
        if not_found not in ("http", "200") or past_end not in ("empty", "repeat"):
            raise ValueError("not_found is 'http' or '200'; past_end is 'empty' or 'repeat'")
        self.account = FakeAccount(seed or {}, now)
        self.not_found, self.tagged, self.empty_status = not_found, tagged, empty_status
        self.past_end, self.refusal_status, self.total_header = past_end, refusal_status, total_header
        self._local = threading.local()  # the total of this thread's request, for the header
        self.rate_limit = rate_limit
        self.rate_status = rate_status
        self.slow_seconds = slow_seconds
        self.stats = Stats()
        self._arrivals: deque[float] = deque()
        self._faults: list[str] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The account's API base, what the connector's ``base_url`` setting takes."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/{self.account.subdomain}/"

    def start(self) -> "Emulator":
        self._thread = threading.Thread(target=self.server.serve_forever, name="awo-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def source_settings(self) -> dict[str, str]:
        """The ``[sources.NAME]`` settings that point a connector here."""
        return {"type": "autoweboffice", "subdomain": self.account.subdomain, "base_url": self.base_url}

    def secrets(self) -> dict[str, str]:
        """The account's keys, as the connector's secrets (``get_key``, ``set_key``)."""
        return {"get_key": self.account.get_key, "set_key": self.account.set_key}

    def fail_next(self, kind: str, count: int = 1, retry_after: int = 1) -> None:
        """Make the next ``count`` API requests fail with ``kind`` (one of FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; use one of: {', '.join(FAULTS)}")
        with self._lock:
            self._faults += [(kind, retry_after)] * count

    def _admit(self) -> float | None:
        """Count an arrival; the seconds to wait when it is over the limit, else None."""
        now = time.monotonic()
        limit, period = self.rate_limit or (None, 5.0)  # without a limit the busiest 5 s are still counted
        with self._lock:
            self.stats.requests += 1
            while self._arrivals and self._arrivals[0] <= now - period:
                self._arrivals.popleft()
            self._arrivals.append(now)
            self.stats.max_in_window = max(self.stats.max_in_window, len(self._arrivals))
            if limit is not None and len(self._arrivals) > limit:
                self.stats.limited += 1
                return max(0.1, self._arrivals[-limit - 1] + period - now)
            return None

    def _fault(self) -> tuple[str, int] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # ---- one request ----

    def handle(self, method: str, path: str, query: list[tuple[str, str]], body: bytes) -> tuple[int, str, dict]:
        """Answer one request: (HTTP status, body, extra headers)."""
        if path.startswith("/_emulator/"):
            return self._control(method, path, body)
        sub = path.strip("/").split("/")[0]
        if sub != self.account.subdomain:
            return 404, "<html><body>Магазин не найден</body></html>", {}
        wait = self._admit()
        if wait is not None:
            return self.rate_status, "Too many requests", {"Retry-After": str(int(wait + 0.999))}
        fault = self._fault()
        if fault:
            answer = self._faulty(*fault)
            if answer is not None:
                return answer
        self._local.total = None
        try:
            text = self._api(method, query, body)
        except Missing as exc:
            status = 200 if self.not_found == "200" else 404 if method == "GET" else 400
            return status, self._markup(f"Error: Didn't find any model {exc.model} with ID {exc.row_id}."), {}
        except ApiError as exc:
            return exc.status, exc.body, {}
        except Invalid as exc:
            return self.refusal_status, json.dumps(exc.messages, ensure_ascii=False), {}
        if text.startswith("No items where found"):
            return self.empty_status, self._markup(text), {}
        total = self._local.total
        headers = {"X-Pagination-Total-Count": str(total)} if self.total_header and total is not None else {}
        return 200, text, headers

    def _markup(self, text: str) -> str:
        """The model name in ``<b>`` tags, as the real server's texts have it (when ``tagged``)."""
        if not self.tagged:
            return text
        for word in ("model ", "ID "):
            head, sep, tail = text.partition(word)
            if sep:
                name, space, rest = tail.partition(" ")
                name, dot = (name[:-1], ".") if name.endswith(".") else (name, "")
                text = f"{head}{sep}<b>{name}</b>{dot}{space}{rest}"
        return text

    def _faulty(self, fault: str, retry_after: int) -> tuple[int, str, dict] | None:
        if fault == "slow":
            time.sleep(self.slow_seconds)
            return None
        return {
            "500": (500, "<h1>Internal Server Error</h1>", {}),
            "503": (503, "Service Unavailable", {"Retry-After": str(retry_after)}),
            "429": (429, "Too many requests", {"Retry-After": str(retry_after)}),
            "garbage": (200, "<html><body>Ведутся технические работы</body></html>", {}),
            "no_items": (200, "No items where found for model Accounts.", {}),
            "auth": (401, "Error: wrong API key", {}),
            "drop": (-1, "", {}),
        }[fault]

    def _api(self, method: str, query: list[tuple[str, str]], body: bytes) -> str:
        params = dict(query)
        r = params.get("r", "")
        entity = r[len(ROUTE_PREFIX):] if r.startswith(ROUTE_PREFIX) else ""
        if entity not in ENTITIES and entity not in WRITE_ONLY:
            raise ApiError(404, f"Error: unknown resource {r!r}")
        acc = self.account
        key = params.get("key", "")
        writes = method in ("POST", "PUT", "DELETE") or entity == "accountssendmail"
        if key not in (acc.get_key, acc.set_key):
            raise ApiError(401, "Error: wrong API key")
        if (key == acc.set_key) != writes:  # the other key of the pair: refused like a wrong one
            raise ApiError(401, "Error: wrong API key")
        with acc.lock:
            if entity == "accountssendmail":
                return json.dumps(acc.send_mail(params.get("id", "")))
            if method == "GET":
                return self._read(entity, query, params)
            if method == "POST":
                return self._create(entity, body, params.get("donotfallonerror") == "1")
            if entity in WRITE_ONLY:
                raise ApiError(405, f"Error: {entity} supports only POST")
            if method == "PUT":
                fields = {k: v for k, v in query if k not in ("r", "key", "id")}
                return json.dumps(acc.update(entity, params.get("id", ""), fields), ensure_ascii=False)
            if method == "DELETE":
                return acc.delete(entity, params.get("id", "") or dict(parse_qsl(body.decode())).get("id", ""))
        raise ApiError(405, f"Error: method {method} is not supported")

    def _read(self, entity: str, query: list[tuple[str, str]], params: dict[str, str]) -> str:
        if entity in WRITE_ONLY:
            raise ApiError(405, f"Error: {entity} supports only POST")
        if params.get("id"):
            return json.dumps(self.account.get(entity, params["id"]), ensure_ascii=False)
        search: dict[str, Any] = {}
        for k, v in query:
            if k.startswith("search[") and k.endswith("][]"):
                search.setdefault(k[7:-3], []).append(v)
            elif k.startswith("search["):
                search[k[7:-1]] = v
        try:
            size = min(1000, max(1, int(params.get("param[pagesize]", "50"))))
            page = max(0, int(params.get("param[currentpage]", "0")))
        except ValueError:
            raise ApiError(500, "<h1>PHP Error [500]</h1><p>Invalid page parameter</p>") from None
        rows, self._local.total = self.account.list(entity, search, page, size, params.get("param[sort]"),
                                                    self.past_end)
        if not rows:
            return f"No items where found for model {ENTITIES[entity].model}."
        return json.dumps(rows, ensure_ascii=False)

    def _create(self, entity: str, body: bytes, keep_going: bool) -> str:
        try:
            items = parse_xml_items(body)
        except ValueError:
            raise ApiError(200, "Error: could not parse the XML data") from None
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            try:
                out.append(self.account.create(entity, item))
            except Invalid as exc:
                if not keep_going:
                    if not out:
                        raise
                    out.append(exc.messages)
                    break
                out.append({"error": " ".join(exc.messages), "inputData": item})
        if not out:
            raise ApiError(200, "Error: no items in the XML data")
        return encode_objects(out)

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, str, dict]:
        if path.rstrip("/") == "/_emulator/stats":
            data = dict(self.stats.as_dict(), sent_mails=list(self.account.sent_mails))
            return 200, json.dumps(data), {}
        if path.rstrip("/") == "/_emulator/faults" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                self.fail_next(str(spec.get("kind")), int(spec.get("count", 1)), int(spec.get("retry_after", 1)))
            except (ValueError, AttributeError) as exc:
                return 400, str(exc), {}
            return 200, "ok", {}
        return 404, "unknown control endpoint", {}


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, text, headers = emulator.handle(self.command, parts.path, parse_qsl(parts.query, True), body)
            if status < 0:  # "drop": close the connection without an answer
                self.close_connection = True
                self.connection.close()
                return
            data = text.encode("utf-8")
            self.send_response(status)
            is_json = text[:1] in "[{" or text[:1].isdigit()
            self.send_header("Content-Type", "application/json; charset=utf-8" if is_json
                             else "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass  # quiet: tests and the demo read their own output, not an access log

    return Handler


def load_seed(seed: Mapping[str, Any] | str | Path | None, as_of: datetime | None = None) -> dict[str, Any]:
    """A seed from a dict, a JSON file, or None for the demo school (dated before ``as_of``)."""
    if seed is None:
        from unpaid_autoweboffice.seeds import demo_seed

        return demo_seed(as_of)
    if isinstance(seed, (str, Path)):
        return json.loads(Path(seed).read_text(encoding="utf-8"))
    return dict(seed)


def start(seed: Mapping[str, Any] | str | Path | None = None, port: int = 0, *, as_of: datetime | None = None,
          **options: Any) -> Emulator:
    """Start an emulator in a daemon thread and return it running (``.base_url``, ``.stop()``).

    This is what ``unpaid demo --source autoweboffice`` and the tests call; ``source_settings()``
    and ``secrets()`` give what a ``[sources.NAME]`` table and the keyring need to reach it.
    """
    return Emulator(load_seed(seed, as_of), port=port, **options).start()


def main(argv: list[str] | None = None) -> None:
    """``python -m unpaid_autoweboffice.emulator --seed FILE [--port N] [--no-rate-limit]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m unpaid_autoweboffice.emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", metavar="FILE", help="JSON seed (default: a small demo account)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rate", default="20/5s", help="requests per window, or 'off' (default 20/5s)")
    parser.add_argument("--not-found", choices=("http", "200"), default="http", help="status of an unknown id")
    parser.add_argument("--plain", action="store_true", help="no <b> tags in the API's texts")
    parser.add_argument("--empty-status", type=int, choices=(200, 404), default=200)
    parser.add_argument("--past-end", choices=("empty", "repeat"), default="empty", help="a page past the end")
    parser.add_argument("--refusal-status", type=int, choices=(200, 400), default=200)
    parser.add_argument("--total-header", action="store_true", help="send X-Pagination-Total-Count")
    args = parser.parse_args(argv)
    try:
        seed = load_seed(args.seed)
    except (OSError, ValueError) as exc:
        parser.exit(2, f"Error: cannot read the seed {args.seed}: {exc} — give a JSON file\n")
    rate = None
    if args.rate != "off":
        from unpaid.ratelimit import parse_rate

        try:
            rate = parse_rate(args.rate)
        except ValueError as exc:
            parser.exit(2, f"Error: --rate: {exc}\n")
    emu = Emulator(seed, host=args.host, port=args.port, rate_limit=rate, not_found=args.not_found,
                   tagged=not args.plain, empty_status=args.empty_status, past_end=args.past_end,
                   refusal_status=args.refusal_status, total_header=args.total_header)
    print(f"AutoWebOffice emulator at {emu.base_url} (keys: the seed's `keys`); Ctrl-C stops it", flush=True)
    try:
        emu.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emu.server.server_close()
        print(json.dumps(emu.stats.as_dict()))


if __name__ == "__main__":
    main()
