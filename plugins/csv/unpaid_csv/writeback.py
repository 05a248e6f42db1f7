"""Writing statuses and contacts back into the CSV file: one rewrite for any number of records.

The file a symlink points to is the one rewritten (the link stays). One pass reads the records to
change and counts the status values, so that a new status is written in the file's own vocabulary;
every changed record is then encoded, so a value the file's encoding cannot hold fails before
anything is written. Only then is the file copied byte for byte into a temporary file in the same
folder, the changed records spliced in at their offsets, fsynced, given the original's mode (and, as
root, owner), and ``os.replace``-d over the original: a crash leaves the old file or the new one,
never a torn one.

Write-backs of unpaid processes take turns through ``flock`` on ``.<name>.lock`` beside the file: two
managers taking orders at once must not both copy the old file and lose one's change. The lock file
is kept: deleting it would let a process lock a file another has just unlinked. A change by some
other program during the rewrite (seen in the file's size, mtime or inode) restarts it, a few times.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator, Mapping, TypeVar

try:
    import fcntl
except ImportError:  # Windows has no flock: write-backs there are not serialized
    fcntl = None  # type: ignore[assignment]

from unpaid.connector import BadSource, ConnectorError, InvalidData, NotFound, Temporary
from unpaid.model import Status

from unpaid_csv.dialect import CsvFile
from unpaid_csv.i18n import _, ngettext
from unpaid_csv.mapping import StatusMap, vocabulary

if TYPE_CHECKING:
    from unpaid_csv.connector import CsvConnector

#: Applies one change to a record's fields, given the column indexes and the file's status vocabulary.
Change = Callable[[list[str], dict[str, int], "str | None"], None]
Result = dict[str, "ConnectorError | None"]
T = TypeVar("T")

TRIES = 3  # rewrites tried while another program keeps changing the file, before giving up
PAUSE = 0.05  # seconds before the next try, times the try's number
LOCK_WAIT = 30.0  # seconds to wait for another unpaid process's write-back


class FileChanged(Exception):
    """The file changed on disk during a rewrite: that rewrite is dropped and tried again."""


@dataclass(frozen=True)
class Record:
    offset: int
    raw: bytes
    fields: list[str]


def set_status(statuses: StatusMap, status: Status, reason: str | None) -> Change:
    def change(fields: list[str], columns: dict[str, int], family: str | None) -> None:
        fields[columns["status"]] = statuses.native(status, family)
        if status is Status.CANCELLED and reason and "cancel_reason" in columns:
            fields[columns["cancel_reason"]] = reason

    return change


def set_contact(conn: "CsvConnector", wanted: Mapping[str, str]) -> Change:
    def change(fields: list[str], columns: dict[str, int], family: str | None) -> None:
        for field, value in wanted.items():
            if field not in columns:
                raise InvalidData(conn.name, _("{where} has no {field} column to write to").format(
                                      where=conn.where, field=field),
                                  _("add one, or name it under [sources.{name}.columns]").format(name=conn.name))
            fields[columns[field]] = value

    return change


def raise_failed(results: Result) -> None:
    """Raise the first error of a write-back's results (for the one-record calls)."""
    error = next((e for e in results.values() if e is not None), None)
    if error is not None:
        raise error


def rewrite(conn: "CsvConnector", changes: Mapping[str, Change]) -> Result:
    """Apply each native_id's change to its record in one rewrite; native_id -> None or its error.

    An id not in the file, or a change that cannot be encoded, fails alone; a failure of the file
    itself (read-only, unreadable, busy) is every id's error.
    """
    real = Path(os.path.realpath(conn.path))
    try:
        if not real.exists():
            with conn._open():  # raises: the file does not exist, naming the setting to fix
                pass
        _check_writable(conn, real)
        with _locked(conn, real):
            return retrying(lambda: _rewrite_once(conn, real, changes), conn)
    except ConnectorError as exc:
        return dict.fromkeys(changes, exc)
    except PermissionError as exc:
        return dict.fromkeys(changes, _denied(conn, exc))
    except OSError as exc:
        return dict.fromkeys(changes, Temporary(conn.name, _("cannot write {where}: {reason}").format(
                                                    where=conn.where, reason=exc.strerror),
                                                _("free disk space or fix the folder, then try again")))


def retrying(once: Callable[[], T], conn: "CsvConnector") -> T:
    """``once()``, started again while another program changes the file meanwhile; then Temporary."""
    for attempt in range(1, TRIES + 1):
        try:
            return once()
        except FileChanged:
            if attempt < TRIES:
                time.sleep(PAUSE * attempt)
    raise Temporary(conn.name, ngettext("{where} kept changing while it was being written ({tries} try)",
                                        "{where} kept changing while it was being written ({tries} tries)",
                                        TRIES).format(where=conn.where, tries=TRIES),
                    _("try again once the other program has saved it"))


def _check_writable(conn: "CsvConnector", real: Path) -> None:
    # Root passes os.access whatever the mode, yet a file someone made read-only must stay as it is.
    if not os.access(real, os.W_OK) or (_root() and not os.stat(real).st_mode & 0o222):
        shown = conn.where if str(real) == str(conn.path) else f"{conn.where} ({real})"
        raise BadSource(conn.name, _("{where} is read-only, so the change cannot be written to it").format(where=shown),
                        _("allow writing to it (chmod u+w {path}) or point [sources.{name}] path at a writable copy, "
                          "then run the command again").format(path=real, name=conn.name))


def _denied(conn: "CsvConnector", exc: PermissionError) -> BadSource:
    return BadSource(conn.name, _("cannot write beside {where}: {reason} ({path})").format(
                         where=conn.where, reason=exc.strerror, path=exc.filename),
                     _("let this user create files in that folder (for the lock and temporary files)"))


@contextmanager
def _locked(conn: "CsvConnector", real: Path) -> Iterator[None]:
    """Hold the exclusive lock on ``.<name>.lock`` beside the file (waits up to LOCK_WAIT seconds)."""
    if fcntl is None:
        yield
        return
    lock = real.parent / f".{real.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _keep_owner(fd, os.stat(real))  # a lock root created must stay usable for the file's owner
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Temporary(conn.name, _("another unpaid has been writing {where} for over {seconds:.0f} s "
                                                 "(it holds {lock})").format(where=conn.where, seconds=LOCK_WAIT,
                                                                             lock=lock),
                                    _("try again in a minute")) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # releases the lock


def _keep_owner(file: int | str, original: os.stat_result) -> None:
    """As root, give ``file`` (a path or an open fd) the original's owner and group; others cannot."""
    if _root():
        os.chown(file, original.st_uid, original.st_gid)


def _root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _rewrite_once(conn: "CsvConnector", real: Path, changes: Mapping[str, Change]) -> Result:
    before = os.stat(real)
    with conn._open() as raw:
        if _identity(os.fstat(raw.fileno())) != _identity(before):
            raise FileChanged  # the link or the file was replaced between the two looks
        table, columns = conn.table(raw, keep_raw=True)
        records, statuses = _scan(table, columns, set(changes))
        results, edits = _encode(conn, table, columns, changes, records, vocabulary(statuses))
        if not edits:
            return results
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                _splice(raw, out, edits)
                out.flush()
                os.fsync(out.fileno())
            if _identity(os.stat(real)) != _identity(before):
                raise FileChanged
            _keep_owner(tmp, before)  # before chmod: chown clears set-id bits
            os.chmod(tmp, before.st_mode & 0o7777)
            os.replace(tmp, real)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    _fsync_dir(real.parent)
    return results


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _scan(table: CsvFile, columns: dict[str, int], wanted: set[str]) -> tuple[dict[str, Record], Counter[str]]:
    """One pass: the last sound record of each wanted id (the one a sync reads) with its byte offset,
    and rows per status text."""
    i, s = columns["id"], columns["status"]
    records: dict[str, Record] = {}
    statuses: Counter[str] = Counter()
    offset = len(table.head)  # the header, and any blank lines before it
    for _line, fields, problem in table.records(blank=True):
        raw = table.take()
        if problem is None and s < len(fields):
            statuses[fields[s]] += 1
        if problem is None and i < len(fields):
            key = fields[i].strip()
            if key in wanted:
                records[key] = Record(offset, raw, fields)
        offset += len(raw)
    return records, statuses


def _encode(conn: "CsvConnector", table: CsvFile, columns: dict[str, int], changes: Mapping[str, Change],
            records: dict[str, Record], family: str | None) -> tuple[Result, list[tuple[int, int, bytes]]]:
    """Each change applied and serialized: the results so far and ``(offset, old length, new bytes)``."""
    results: Result = {}
    edits = []
    width = max(columns.values()) + 1
    for native_id, change in changes.items():
        record = records.get(native_id)
        if record is None:
            results[native_id] = NotFound(conn.name, _("order {id} is not in {where}").format(id=native_id,
                                                                                            where=conn.where))
            continue
        fields = record.fields + [""] * (width - len(record.fields))
        try:
            change(fields, columns, family)
            edits.append((record.offset, len(record.raw), table.encode_record(fields, record.raw)))
        except ConnectorError as exc:
            results[native_id] = exc
            continue
        results[native_id] = None
    return results, sorted(edits)


def _splice(src: BinaryIO, out: BinaryIO, edits: list[tuple[int, int, bytes]]) -> None:
    """Copy ``src`` from its start into ``out``, each edit's bytes replacing the old ones at its offset."""
    src.seek(0)
    position = 0
    for offset, length, data in edits:
        _copy_bytes(src, out, offset - position)
        out.write(data)
        src.seek(length, os.SEEK_CUR)
        position = offset + length
    shutil.copyfileobj(src, out, 1 << 20)


def _copy_bytes(src: BinaryIO, out: BinaryIO, count: int) -> None:
    while count > 0:
        chunk = src.read(min(count, 1 << 20))
        if not chunk:
            raise FileChanged  # shorter than when it was read
        out.write(chunk)
        count -= len(chunk)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and harmless to skip there.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
