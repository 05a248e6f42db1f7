"""The AutoWebOffice wire format, both directions (the client writes what the emulator reads).

- reads and updates carry everything in the query string, PHP bracket style (``search[email]=…``);
- creates POST an XML body ``<root><item><field>value</field></item>…</root>``;
- answers are JSON, except that several created items come back as concatenated objects
  (``{…}{…}``), an empty search is the text ``No items where found for model …`` and a missing
  id is the text ``Error: Didn't find any model …`` — each with HTTP 200 or an error status, and the
  model name perhaps in ``<b>`` tags.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable, Mapping
from xml.etree import ElementTree

NO_ITEMS = "No items where found for model"
NOT_FOUND = "Didn't find any model"
ROUTE_PREFIX = "api/rest/"
_TAG = re.compile(r"<[^>]*>")


def route(entity: str) -> str:
    """The ``r`` query value for an entity: ``api/rest/accounts``."""
    return ROUTE_PREFIX + entity


def search_params(search: Mapping[str, Any] | None = None, *, page: int | None = None, page_size: int | None = None,
                  sort: str | None = None) -> list[tuple[str, str]]:
    """Query pairs for a list call: ``search[k]``, ``param[currentpage]`` (zero-based) and the rest."""
    pairs: list[tuple[str, str]] = []
    for key, value in (search or {}).items():
        if isinstance(value, (list, tuple)):
            pairs += [(f"search[{key}][]", str(v)) for v in value]
        else:
            pairs.append((f"search[{key}]", str(value)))
    if page_size is not None:
        pairs.append(("param[pagesize]", str(page_size)))
    if page is not None:
        pairs.append(("param[currentpage]", str(page)))
    if sort:
        pairs.append(("param[sort]", sort))
    return pairs


def xml_body(items: Iterable[Mapping[str, Any]]) -> bytes:
    """The XML body of a create: one ``<item>`` per entity, nested mappings as nested elements."""
    root = ElementTree.Element("root")
    for item in items:
        _fill(ElementTree.SubElement(root, "item"), item)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(root, encoding="utf-8").split(b"?>", 1)[-1]


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _fill(ElementTree.SubElement(element, "item" if str(key).isdigit() else str(key)), sub)
    elif isinstance(value, (list, tuple)):
        for sub in value:
            _fill(ElementTree.SubElement(element, "item"), sub)
    else:
        element.text = "" if value is None else str(value)


def parse_xml_items(body: bytes) -> list[dict[str, Any]]:
    """Read a create body: the children of the root, whatever their names, each a flat-ish dict.

    Raises ValueError when the body is not XML.
    """
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ValueError(f"the body is not XML ({exc})") from None
    return [_read(child) for child in root]


def _read(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if all(c.tag == "item" for c in children):
        return [_read(c) for c in children]
    return {c.tag: _read(c) for c in children}


def decode_objects(text: str) -> list[Any]:
    """Decode a JSON body that may hold several concatenated values (``{…}{…}``).

    Raises ValueError (json.JSONDecodeError) when any part is not JSON.
    """
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)
    if not values:
        raise json.JSONDecodeError("empty body", text, 0)
    return values


def encode_objects(values: list[Any]) -> str:
    """The server side of :func:`decode_objects`: one object as is, several concatenated."""
    return "".join(json.dumps(v, ensure_ascii=False) for v in values)


def plain(text: str) -> str:
    """An answer's text without its HTML markup (``<b>accounts</b>`` -> ``accounts``), one line."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def is_no_items(text: str) -> bool:
    """True for the text AutoWebOffice sends instead of ``[]`` (with or without tags)."""
    return plain(text[:200]).startswith(NO_ITEMS)


def is_not_found(text: str) -> bool:
    """True for the text of an unknown id: ``[Error: ]Didn't find any model <b>accounts</b> …``."""
    return NOT_FOUND.casefold() in plain(text[:300]).casefold()
