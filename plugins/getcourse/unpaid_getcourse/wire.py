"""The GetCourse wire format, both directions (the client writes what the emulator reads).

- imports POST a form with ``action``, ``key`` and ``params`` = base64 of UTF-8 JSON; the form
  encoding must URL-encode the base64 (``+ / =``) or the server sees "no params";
- export-side errors come as HTTP 200 ``{"success":false,"error":true,"error_code":909,...}``,
  import-side call failures as ``{"success":false,"error":"<message>"}``;
- a ready export is ``{"success":true,"info":{"fields":[titles],"items":[[cells],...]}}``, which
  can be hundreds of megabytes, so :func:`read_export` walks it without loading it whole.
"""

from __future__ import annotations

import base64
import json
from typing import IO, Any, Iterator

from unpaid_getcourse.i18n import _

NOT_AUTHORIZED = 901
TOO_MANY = 903
NO_KEY = 904
EXPORT_RUNNING = 905
NO_FILTER = 908
NOT_READY = 909
BAD_DEAL_STATUS = 913
API_OFF = 917

MESSAGES = {
    NOT_AUTHORIZED: "Неавторизованное API-обращение",
    TOO_MANY: "Слишком много запросов",
    NO_KEY: "Неавторизованное API-обращение, отсутсвует параметр key",
    EXPORT_RUNNING: "Уже запущен один экспорт, попробуйте позднее",
    NO_FILTER: "Должен быть передан хотя бы один фильтр",
    NOT_READY: "Файл еще не создан",
    API_OFF: "Функционал недоступен",
}
FORBIDDEN = "Действие запрещено"
NO_PARAMS = "Не указаны параметры"
NO_ACTION = "Пустой параметр action"
NOT_FOUND = "Объект не найден"
NOT_BUILT = "Файл не создан, попробуйте другой фильтр"
NO_CONTACT = "Не указан ни эл. адрес, ни телефон"
WRONG_SUBDOMAIN = "Wrong subdomain"


def encode_params(params: dict[str, Any]) -> str:
    """``params`` for an import: base64 of the UTF-8 JSON (the form encoder then URL-encodes it)."""
    return base64.b64encode(json.dumps(params, ensure_ascii=False).encode("utf-8")).decode("ascii")


def decode_params(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_params`; ValueError when it is not base64 JSON of an object."""
    try:
        value = json.loads(base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"params is not base64 JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("params is not a JSON object")
    return value


def error(code: int, message: str | None = None) -> dict[str, Any]:
    """An export-side error envelope."""
    return {"success": False, "error": True, "error_code": code, "error_message": message or MESSAGES.get(code, "")}


# ---- streaming reader for large export answers ----

_SMALL = 1 << 20  # answers under 1 MiB are simply loaded


def read_export(fp: IO[str]) -> Iterator[tuple[str, Any]]:
    """Walk an export answer: yields ``("meta", {...})`` (top-level scalars such as success,
    error_code), then for a ready export ``("fields", [...])`` and one ``("row", [...])`` per item.

    Memory stays at about one row however large the answer. ValueError on malformed JSON.
    """
    head = fp.read(_SMALL)
    if len(head) < _SMALL:
        yield from _loaded(json.loads(head) if head.strip() else None)
        return
    yield from _Walker(fp, head).top()


def _loaded(doc: Any) -> Iterator[tuple[str, Any]]:
    if not isinstance(doc, dict):
        raise ValueError(_("the answer is not a JSON object"))
    info = doc.get("info")
    yield "meta", {k: v for k, v in doc.items() if k != "info"}
    if isinstance(info, dict) and "items" in info:
        yield "fields", info.get("fields") or []
        for row in info.get("items") or []:
            yield "row", row
    elif info is not None:
        yield "info", info


class _Walker:
    """A pull parser over a text stream: raw_decode for values, by hand for the two containers."""

    def __init__(self, fp: IO[str], head: str):
        self.fp = fp
        self.buf = head
        self.pos = 0
        self.decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        more = self.fp.read(1 << 16)
        if not more:
            return False
        self.buf = self.buf[self.pos:] + more
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                raise ValueError(_("the answer ends too early"))

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(_("expected {char!r} at offset {offset}, found {found!r}").format(
                char=char, offset=self.pos, found=self.buf[self.pos]))
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self._fill():
                    continue
                raise
            if end == len(self.buf) and self._fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def members(self) -> Iterator[str]:
        """Keys of the object at the cursor; the caller consumes each value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            self.expect(":")
            yield key
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return

    def top(self) -> Iterator[tuple[str, Any]]:
        meta: dict[str, Any] = {}
        told = False
        for key in self.members():
            if key == "info" and self.peek() == "{":
                yield "meta", meta
                told = True
                for inner in self.members():
                    if inner == "fields":
                        yield "fields", self.value()
                    elif inner == "items" and self.peek() == "[":
                        yield from self.items()
                    else:
                        self.value()
            else:
                meta[key] = self.value()
        if not told:
            yield "meta", meta

    def items(self) -> Iterator[tuple[str, Any]]:
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield "row", self.value()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return
