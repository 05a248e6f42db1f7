"""Content-defined blocks of rows, and the bookmark that remembers them.

A file has no "changed since" column to trust, and rows are edited in place, inserted at the top
(newest-first exports) or appended. So a sync reads the whole file and cuts it into small blocks
whose ends depend on the rows themselves (a block ends after a row whose hash is a multiple of
``AVERAGE_ROWS``, or at ``MAX_ROWS``): an inserted or edited row changes only its own block, and
every other block keeps its fingerprint. A block whose fingerprint is in the bookmark was stored
before and is not parsed again.

The fingerprint covers the rows' text and a ``salt`` made of the header and the source's mapping
settings, so editing ``[sources.X.columns]`` or ``statuses`` re-reads everything.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Iterable, Iterator

from unpaid_csv.i18n import Said

VERSION = 2
#: Small blocks: a status changed in 1 % of the rows, scattered, re-reads about 8 % of the file; the
#: bookmark holds 8 bytes per block (about 1.3 MB of text for a million rows).
AVERAGE_ROWS = 8
MAX_ROWS = 64

Row = tuple[int, list[str], "str | None"]  # (first line, fields, structural problem)


def cut(records: Iterable[Row], salt: bytes) -> Iterator[tuple[int, list[Row]]]:
    """Group records into blocks; yield ``(fingerprint, rows)`` per block."""
    # Natural (content) boundaries must be the rule and the MAX_ROWS cut the exception, or an
    # inserted row would shift every later cut.
    rows: list[Row] = []
    texts: list[bytes] = [salt]
    for record in records:
        data = "\x1f".join(record[1]).encode("utf-8", "surrogatepass")
        texts.append(data)
        rows.append(record)
        # blake2b, not a CRC: a CRC's low bits stay alike over rows that differ in a digit or two.
        if blake2b(data, digest_size=1).digest()[0] % AVERAGE_ROWS == 0 or len(rows) >= MAX_ROWS:
            yield _fingerprint(texts), rows
            rows, texts = [], [salt]
    if rows:
        yield _fingerprint(texts), rows


def _fingerprint(texts: list[bytes]) -> int:
    # One hash call per block rather than per row: rows are many, blocks few.
    return int.from_bytes(blake2b(b"\x1e".join(texts), digest_size=8).digest(), "big")


def digest(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


@dataclass
class Bookmark:
    """What the last sync of the file knew.

    ``blocks``: fingerprints of blocks stored (or rejected and remembered); ``rejects``: per block
    fingerprint, the ``(row offset, line, reason)`` of each rejected row in it; ``repeated``: ids that
    stood in more than one row; ``stamp``: the file's identity (size, times, inode) and the settings'
    digest when the last read was complete, so an untouched file is not read at all; ``counts``:
    that read's row counts, reported again when the file is untouched; ``content``: a digest of the
    bytes read, so that the same bytes under a new stamp (a re-export) are not read again.
    """

    blocks: set[int] = field(default_factory=set)
    rejects: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    repeated: set[str] = field(default_factory=set)
    stamp: list | None = None
    counts: dict[str, int] = field(default_factory=dict)
    content: str | None = None

    def encode(self) -> str:
        values = sorted(self.blocks)
        data = {
            "v": VERSION,
            "blocks": base64.b64encode(struct.pack(f">{len(values)}Q", *values)).decode("ascii"),
            # A reason is kept as its English text and parameters, so that it is shown in any language later.
            "rejects": {f"{fp:016x}": [(o, n, r.to_json() if isinstance(r, Said) else r) for o, n, r in rows]
                        for fp, rows in sorted(self.rejects.items())},
            "repeated": sorted(self.repeated),
            "stamp": self.stamp,
            "counts": self.counts,
            "content": self.content,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> "Bookmark":
        """The bookmark in ``text``; an empty one (read everything) for None or any other format."""
        if not text or not text.startswith("{"):
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != VERSION:
                return cls()
            raw = base64.b64decode(data["blocks"], validate=True)
            blocks = set(struct.unpack(f">{len(raw) // 8}Q", raw[: len(raw) - len(raw) % 8]))
            rejects = {int(fp, 16): [(int(o), int(n), Said.from_json(r) if isinstance(r, dict) else str(r))
                                     for o, n, r in rows]
                       for fp, rows in data.get("rejects", {}).items()}
            return cls(blocks, rejects, set(data.get("repeated", ())), data.get("stamp"),
                       dict(data.get("counts") or {}), data.get("content"))
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, struct.error):
            return cls()


def stamp(stat, salt: bytes) -> list:
    """The identity of a file's content as far as the file system tells, plus the settings' digest."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, digest(salt)]


def content_digest(raw, salt: bytes) -> str:
    """A digest of the file's bytes and the settings: a re-export of the same content is not read again."""
    h = blake2b(salt, digest_size=16)
    raw.seek(0)
    while chunk := raw.read(1 << 20):
        h.update(chunk)
    raw.seek(0)
    return h.hexdigest()

