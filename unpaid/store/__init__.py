"""The state database: one SQLite file (WAL, 0600, migrated on open) or, for a team, one PostgreSQL
database (a ``postgresql://`` URL); the only holder of a connection.

SQL lives in this package alone and is written once, for SQLite: :mod:`unpaid.store.dialect` rewrites it
for PostgreSQL, and :mod:`unpaid.store.pg` gives a PostgreSQL connection sqlite3's surface.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from unpaid.errors import StoreError
from unpaid.i18n import _
from unpaid.store import schema

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
#: Grouped blocks (Store.grouped) per commit: a run's few hundred enrollments commit together, and the writer
#: lock is held for some milliseconds at a time, not for a whole run.
GROUP_BLOCKS = 200


def default_db_path() -> Path:
    """The per-user database location (``~/.local/share/unpaid/unpaid.db`` on Linux)."""
    import platformdirs  # imported here: only needed when no --db is given

    return Path(platformdirs.user_data_dir("unpaid")) / "unpaid.db"


class Store:
    """An open state database. Use :meth:`transaction` for every write."""

    def __init__(self, conn: sqlite3.Connection, path: Path | str):
        self.conn = conn
        self.path = path  # the file, or the PostgreSQL URL (never with a password)
        self.postgres = not isinstance(conn, sqlite3.Connection)
        # Leases on PostgreSQL follow the database server's clock when the caller's time is the host's own
        # (no --now): hosts with skewed clocks then agree on when a claim expires. See lease_clock().
        self.db_clock = False
        self._server_clock = None  # PostgreSQL: ServerClock, read with the schema check on opening
        # Grouped blocks committed since the group's transaction began (None: no group open); see grouped().
        self._grouped: int | None = None
        self._in_block = False
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
    def open(cls, path: str | os.PathLike[str], *, create: bool = True, migrate: bool = True) -> "Store":
        """Open (and create, migrate) the database at ``path`` (a file, or a ``postgresql://`` URL).

        ``migrate=False`` leaves an older or empty database as it is (a dry run that must write nothing).

        Raises StoreError naming the file and the fix when it is not SQLite, is locked,
        or cannot be created.
        """
        from unpaid.store.dialect import is_postgres, refuse_misspelt_url

        if is_postgres(path):
            return cls._open_postgres(str(path), migrate)
        refuse_misspelt_url(path, "store")  # not a folder named "postgresq:" with an empty store in it
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
            if migrate:
                store.migrate()
        except sqlite3.DatabaseError as exc:
            raise store_error(path, exc) from None
        return store

    @classmethod
    def _open_postgres(cls, url: str, migrate: bool = True) -> "Store":
        from unpaid.store import postgres

        conn = postgres.connect(url)
        store = cls(conn, conn.label)
        try:
            if migrate:
                store.migrate()
        except StoreError:
            conn.close()
            raise
        except Exception as exc:  # psycopg's errors: imported only with it
            conn.close()
            raise postgres.query_error(conn.label, exc) from None
        return store

    def schema_version(self) -> int:
        """The number of the last migration applied (0: an empty database)."""
        if not self.postgres:
            return self.conn.execute("PRAGMA user_version").fetchone()[0]
        return self._pg_schema()[0]

    def _pg_schema(self) -> tuple[int, str | None]:
        """PostgreSQL, which has no user_version: the one-row table's schema number and digest of the functions
        (:meth:`_pg_prelude`); (0, None) in an empty database.

        Every command opens the store and asks this first, so it is one statement when the table is there: each
        round trip costs the network's latency, from every manager's computer to the database. Outside a
        transaction a missing table's error aborts nothing; inside one the table is looked up first."""
        # The server's clock comes along for the leases (see lease_clock): no round trip of its own.
        ask = "SELECT version, functions, clock_timestamp() FROM unpaid_schema"
        if self.conn.in_transaction:
            if self.conn.execute("SELECT to_regclass('unpaid_schema')").fetchone()[0] is None:
                return 0, None
            asked_at = time.monotonic()
            row = self.conn.execute(ask).fetchone()
        else:
            from psycopg.errors import UndefinedTable

            try:
                asked_at = time.monotonic()
                row = self.conn.execute(ask).fetchone()
            except UndefinedTable:
                return 0, None
        if not row:
            return 0, None
        self._clock().note(row[2], asked_at)
        return row[0], row[1]

    def _clock(self):
        if self._server_clock is None:
            from unpaid.store.server_clock import ServerClock

            self._server_clock = ServerClock(lambda: self.conn.execute("SELECT clock_timestamp()").fetchone()[0])
        return self._server_clock

    def migrate(self) -> None:
        """Apply pending migrations, each in its own immediate transaction."""
        version, functions = self._pg_schema() if self.postgres else (self.schema_version(), None)
        if version > schema.LATEST:
            raise StoreError(_("{path} was written by a newer unpaid (schema {version} > {latest})").format(
                path=self.path, version=version, latest=schema.LATEST), _("upgrade unpaid: `pip install -U unpaid`"))
        if self.postgres:
            self._pg_prelude(version, functions)
        for number, sql, *postgresql_only in schema.MIGRATIONS:
            if number <= version:
                continue
            if self.postgres:
                sql = "\n".join([sql, *postgresql_only])
            with self.transaction():
                current = self.schema_version()
                if current >= number:  # another process migrated first
                    continue
                for statement in _statements(sql):
                    if self.postgres:
                        from unpaid.store.dialect import schema_statement

                        for text in schema_statement(statement):
                            self.conn.raw_execute(text)
                    else:
                        self.conn.execute(statement)
                if self.postgres:
                    self.conn.execute("UPDATE unpaid_schema SET version = ?", (number,))
                else:
                    self.conn.execute(f"PRAGMA user_version = {number}")

    def _pg_prelude(self, version: int, functions: str | None) -> None:
        """SQLite's functions the queries use (see :mod:`unpaid.store.dialect`) and the schema-version row;
        (re)created when this unpaid's functions differ from the ones in the database (``functions``, the
        digest read with ``version``), so an upgrade that only adds a function needs no migration."""
        import hashlib

        from unpaid.store.dialect import PG_FUNCTIONS

        digest = hashlib.sha256("\n".join(PG_FUNCTIONS).encode()).hexdigest()
        if version and functions == digest:
            return
        with self.transaction():
            self.conn.raw_execute("CREATE TABLE IF NOT EXISTS unpaid_schema (version INTEGER NOT NULL, functions TEXT)")
            if self.conn.execute("SELECT functions FROM unpaid_schema").fetchone() == (digest,):
                return  # another process did it while we waited for the lock
            for text in PG_FUNCTIONS:
                self.conn.raw_execute(text)
            self.conn.raw_execute("INSERT INTO unpaid_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM unpaid_schema)")
            self.conn.execute("UPDATE unpaid_schema SET functions = ?", (digest,))

    def lease_clock(self, now: datetime, *until: datetime) -> tuple[datetime, ...]:
        """``now`` and the lease ends computed from it, moved to the database server's clock when
        :attr:`db_clock` is set (PostgreSQL, no --now): the moment a lease starts, ends and is compared
        with is then the same for every host. Otherwise (SQLite: one host; an injected --now) as given.

        The server's clock is read with the schema check on opening and kept by this process's steady clock
        (:mod:`unpaid.store.server_clock`): a claim is then one statement, not two."""
        if not (self.postgres and self.db_clock):
            return (now, *until)
        db_now = self._clock().now()  # no round trip: read on opening, kept by this process's steady clock
        return (db_now, *(db_now + (u - now) for u in until))

    @contextmanager
    def transaction(self, exclusive: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolls back on any exception. Nested calls join the outer one.

        On PostgreSQL an exclusive transaction also takes the store's writer lock (one writer at a time, as on
        SQLite); ``exclusive=False`` does not, for a caller that locks the rows it changes itself
        (``SELECT … FOR UPDATE SKIP LOCKED``) so that many can claim at once. SQLite ignores it."""
        if self._grouped is not None and not self._in_block:
            self.flush()  # the grouped blocks before are committed before this transaction starts
        if self.conn.in_transaction:
            yield self.conn
            return
        self._begin(exclusive)
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

    def _begin(self, exclusive: bool) -> None:
        try:
            if self.postgres and not exclusive:
                self.conn.begin(writer_lock=False)
            else:
                self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_error(self.path, exc) from None

    @contextmanager
    def grouped(self) -> Iterator[sqlite3.Connection]:
        """A :meth:`transaction` that may commit together with the grouped ones next to it: for writes only the
        store sees (a run's enrollments, skipped steps, finished playbooks), each a commit of its own before.

        The block is a savepoint: an exception undoes this block alone. The transaction stays open after it for
        the next grouped block, and is committed by :meth:`flush`, by the next :meth:`transaction` (a claim that
        must be durable before its send never joins it), after :data:`GROUP_BLOCKS` blocks (the writer lock is
        held for milliseconds, not a whole run), and by :meth:`close`. Killed before that, the blocks since the
        last commit are undone together, as if they had not begun: nothing outside the store happened in them.
        """
        if self._in_block or (self.conn.in_transaction and self._grouped is None):
            yield self.conn  # inside another transaction: it decides
            return
        if not self.conn.in_transaction:
            self._begin(True)
            self._grouped = 0
        self._in_block = True
        try:
            self.conn.execute("SAVEPOINT unpaid_block")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:  # some SQLite errors (a full disk) roll the whole transaction back
                    self.conn.execute("ROLLBACK TO unpaid_block")
                    self.conn.execute("RELEASE unpaid_block")
                raise
            self.conn.execute("RELEASE unpaid_block")
        finally:
            self._in_block = False
            if not self.conn.in_transaction:
                self._grouped = None
        self._grouped += 1
        if self._grouped >= GROUP_BLOCKS:
            self.flush()

    def flush(self) -> None:
        """Commit the grouped blocks (:meth:`grouped`) not committed yet; nothing when there are none."""
        if self._grouped is None or self._in_block:
            return
        self._grouped = None
        if not self.conn.in_transaction:
            return
        try:
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self.conn.execute("ROLLBACK")
            raise store_error(self.path, exc) from None

    @contextmanager
    def writers_held(self) -> Iterator[bool]:
        """Keep other writers out for a moment, without waiting for one that is writing: True when they are
        held (until the block ends; nothing is written), False when another is writing now. Connections that
        :meth:`begin_read` meanwhile read the same data (SQLite; False on PostgreSQL, whose snapshots are
        not shared this way)."""
        if self.postgres or self.conn.in_transaction:
            yield False
            return
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            held = True
        except sqlite3.OperationalError:  # busy: someone writes
            held = False
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            yield held
        finally:
            if held:
                self.conn.execute("ROLLBACK")

    def open_again(self) -> "Store":
        """Another connection to this store (for a worker process: connections do not survive a fork)."""
        return Store.open(self.path, create=False, migrate=False)

    def begin_read(self) -> None:
        """Start a read transaction: the reads that follow, until the connection closes, see one snapshot."""
        self.conn.execute("BEGIN")
        self.conn.execute("SELECT 1 FROM orders LIMIT 1").fetchall()  # the snapshot is taken at the first read

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
        try:
            self.flush()
        finally:
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
