"""The state database: one SQLite file (WAL, 0600, migrated on open), the only holder of a connection.

SQL lives in this package alone, so another backend can be added without touching the engines.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from unpaid.errors import StoreError
from unpaid.i18n import _
from unpaid.store import schema

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000


def default_db_path() -> Path:
    """The per-user database location (``~/.local/share/unpaid/unpaid.db`` on Linux)."""
    import platformdirs  # imported here: only needed when no --db is given

    return Path(platformdirs.user_data_dir("unpaid")) / "unpaid.db"


class Store:
    """An open state database. Use :meth:`transaction` for every write."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        from unpaid.store.bookmarks import Bookmarks
        from unpaid.store.claims import Claims
        from unpaid.store.history import History
        from unpaid.store.ledger import Ledger
        from unpaid.store.orders import Orders

        self.orders = Orders(self)
        self.history = History(self)
        self.bookmarks = Bookmarks(self)
        self.ledger = Ledger(self)
        self.claims = Claims(self)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> "Store":
        """Open (and create, migrate) the database at ``path``.

        Raises StoreError naming the file and the fix when it is not SQLite, is locked,
        or cannot be created.
        """
        path = Path(path).expanduser()
        _check_file(path, create)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(_("{path}: cannot switch the database to WAL mode (got {mode})").format(
                    path=path, mode=mode), _("keep the database on a local disk, not a network share"))
            _owner_only(path, Path(f"{path}-wal"), Path(f"{path}-shm"))
            conn.execute("PRAGMA synchronous = NORMAL")
            # 64 MiB of page cache: index inserts with random keys (ids, customer keys) thrash the 2 MiB default.
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path)
            store.migrate()
        except sqlite3.DatabaseError as exc:
            raise store_error(path, exc) from None
        return store

    def migrate(self) -> None:
        """Apply pending migrations, each in its own immediate transaction."""
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.LATEST:
            raise StoreError(_("{path} was written by a newer unpaid (schema {version} > {latest})").format(
                path=self.path, version=version, latest=schema.LATEST), _("upgrade unpaid: `pip install -U unpaid`"))
        for number, sql in schema.MIGRATIONS:
            if number <= version:
                continue
            with self.transaction():
                current = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if current >= number:  # another process migrated first
                    continue
                for statement in _statements(sql):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolls back on any exception. Nested calls join the outer one."""
        if self.conn.in_transaction:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_error(self.path, exc) from None
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self.conn.execute("ROLLBACK")
                raise store_error(self.path, exc) from None

    def dicts(self, sql: str, args: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows of ``sql`` as plain dicts: for readers of many rows, where :class:`sqlite3.Row`'s by-name
        look-up (a scan of the column names each time) costs more than building the dict."""
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(sql, args)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _statements(sql: str) -> list[str]:
    # Split on ";" at line ends but keep trigger bodies ("...; END;") whole.
    out, buf = [], []
    for line in sql.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER") or text.upper().endswith("END;")):
            out.append(text)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


def _check_file(path: Path, create: bool) -> None:
    if path.is_dir():
        raise StoreError(_("{path} is a folder, not a database file").format(path=path),
                         _("point --db / UNPAID_DB at a file path"))
    if path.exists():
        try:
            with open(path, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise StoreError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror),
                             _("check the file's permissions")) from None
        if head and head != SQLITE_MAGIC:
            raise StoreError(_("{path} is not an unpaid database (not SQLite)").format(path=path),
                             _("point --db / UNPAID_DB at another file; this one was left untouched"))
        _owner_only(path)  # before SQLite opens it: the -wal and -shm files it creates copy its mode
        return
    if not create:
        raise StoreError(_("database {path} does not exist").format(path=path),
                         _("run `unpaid sync` first, or check --db / UNPAID_DB"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create it owner-only before SQLite does: it will hold customers' contacts.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise StoreError(_("cannot create {path}: {reason}").format(path=path, reason=exc.strerror),
                         _("choose a writable path with --db / UNPAID_DB")) from None


def _owner_only(*paths: Path) -> None:
    """Take group and other bits off existing ``paths`` we own (0644 -> 0600): they hold customers' contacts.

    Files we do not own, or may not chmod, are left as they are.
    """
    for path in paths:
        try:
            st = path.stat()
            if st.st_mode & 0o077 and st.st_uid == getattr(os, "geteuid", lambda: st.st_uid)():
                os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
        except OSError:
            continue


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """The StoreError for a SQLite error on ``path``: what is wrong with the file, and what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(_("{path} is locked by another process (waited {seconds} s)").format(
            path=path, seconds=BUSY_TIMEOUT_MS // 1000),
            _("wait for the other unpaid command to finish, or check for a stuck process"))
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StoreError(_("{path} is not a usable unpaid database ({problem})").format(path=path, problem=text),
                          _("point --db / UNPAID_DB at another file, or restore it from a backup"))
    if "readonly" in text:
        return StoreError(_("{path} is read-only").format(path=path),
                          _("check the file's and folder's permissions (and attributes)"))
    if "disk I/O" in text or "no such table" in text or "no such column" in text:
        return StoreError(_("{path} is not a usable unpaid database ({problem})").format(path=path, problem=text),
                          _("point --db / UNPAID_DB at another file, or restore it from a backup"))
    return StoreError(f"{path}: {text}", _("check the database file and its folder"))
