"""Content-defined blocks of rows and the bookmark made of their fingerprints.

A file has no "changed since" column to trust, and rows are edited in place, inserted at the top
(newest-first exports) or appended. So every sync reads the whole file and cuts it into blocks
whose ends depend on the rows themselves (a block ends after a row whose CRC is a multiple of
``max_rows // 4``, capped at 256, or at ``max_rows``): an inserted or edited row changes only its own
block, and every other block keeps its fingerprint. The bookmark is the set of fingerprints of
blocks already stored; a block whose fingerprint is in it is skipped without being parsed.

The fingerprint covers the rows' text and a ``salt`` made of the header and the source's mapping
settings, so editing ``[sources.X.columns]`` or ``statuses`` re-reads everything.
"""

from __future__ import annotations

import base64
import binascii
import struct
from hashlib import blake2b
from typing import Iterable, Iterator
from zlib import crc32

PREFIX = "csv1:"
AVERAGE_ROWS = 256


def cut(records: Iterable[tuple[int, list[str]]], salt: bytes,
        max_rows: int) -> Iterator[tuple[int, list[tuple[int, list[str]]]]]:
    """Group ``(line, fields)`` records into blocks; yield ``(fingerprint, rows)`` per block."""
    # Natural (content) boundaries must be the rule and the max_rows cut the exception, or an
    # inserted row would shift every later cut.
    every = max(1, min(AVERAGE_ROWS, max_rows // 4))
    rows: list[tuple[int, list[str]]] = []
    texts: list[bytes] = [salt]
    for record in records:
        data = "\x1f".join(record[1]).encode("utf-8", "surrogatepass")
        texts.append(data)
        rows.append(record)
        if crc32(data) % every == 0 or len(rows) >= max_rows:
            yield _fingerprint(texts), rows
            rows, texts = [], [salt]
    if rows:
        yield _fingerprint(texts), rows


def _fingerprint(texts: list[bytes]) -> int:
    # One hash call per block rather than per row: rows are many, blocks few.
    return int.from_bytes(blake2b(b"\x1e".join(texts), digest_size=8).digest(), "big")


def encode(fingerprints: Iterable[int]) -> str:
    """Bookmark text for a set of block fingerprints (sorted, so equal sets give equal text)."""
    values = sorted(set(fingerprints))
    return PREFIX + base64.b64encode(struct.pack(f">{len(values)}Q", *values)).decode("ascii")


def decode(bookmark: str | None) -> set[int]:
    """Fingerprints in a bookmark; an empty set (read everything) for None or a foreign bookmark."""
    if not bookmark or not bookmark.startswith(PREFIX):
        return set()
    try:
        data = base64.b64decode(bookmark[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return set()
    if len(data) % 8:
        return set()
    return set(struct.unpack(f">{len(data) // 8}Q", data))
