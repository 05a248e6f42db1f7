"""The per-invocation application context: options, clock, config, store, plugins, streams.

Everything is built on first use, so a command pays only for what it touches; tests swap the
streams or pass ``--now`` instead of patching globals.
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from unpaid.clock import Clock, get_zone
from unpaid.config import Config, load_config
from unpaid.errors import InputError
from unpaid.i18n import _
from unpaid.text import terminal_safe

if TYPE_CHECKING:
    from unpaid.connector import Connector
    from unpaid.plugins import Plugins
    from unpaid.store import Store


class App:
    """What every command needs, from the global options."""

    def __init__(self, *, config: str | None = None, db: str | None = None, now: str | None = None,
                 fmt: str | None = None, verbose: int = 0, quiet: bool = False,
                 stdout: TextIO | None = None, stderr: TextIO | None = None):
        self.config_option = config
        self.db_option = db
        self.now_option = now
        self.format = fmt or "table"
        self.verbose = verbose
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._store: Store | None = None

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_option)

    @cached_property
    def zone(self) -> tzinfo:
        return get_zone(self.config.timezone)

    @cached_property
    def clock(self) -> Clock:
        try:
            return Clock.from_option(self.now_option, self.zone)
        except ValueError as exc:
            raise InputError(f"--now / UNPAID_NOW: {exc}",  # i18n: no - the option, then the reason
                             _("give a moment such as 2026-11-24T10:00")) from None

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def db_path(self) -> Path | str:
        """The database file, or the PostgreSQL URL (a str) from --db / UNPAID_DB or the config's ``db``."""
        if self.db_option:
            from unpaid.store.dialect import is_postgres, refuse_misspelt_url

            refuse_misspelt_url(self.db_option, "--db / UNPAID_DB")
            return self.db_option if is_postgres(self.db_option) else Path(self.db_option).expanduser()
        if self.config.db:
            return self.config.db
        from unpaid.store import default_db_path

        return default_db_path()

    @property
    def store(self) -> "Store":
        if self._store is None:
            from unpaid.store import Store

            self._store = Store.open(self.db_path)
            # Leases follow the database server's clock unless --now fixed the time (see Store.lease_clock).
            if self._store.postgres:
                self._store.db_clock = self.clock.fixed is None
        return self._store

    @property
    def plugins(self) -> "Plugins":
        from unpaid.plugins import get_plugins

        return get_plugins()

    def connector(self, source: str) -> "Connector":
        from unpaid.sources import open_connector

        return open_connector(self.config, source, self.plugins, self.now(), self.db_path)

    @cached_property
    def actor(self) -> str:
        """Who is acting, for the history: ``UNPAID_ACTOR`` or the OS user."""
        name = os.environ.get("UNPAID_ACTOR")
        if not name:
            try:
                name = getpass.getuser()
            except Exception:  # noqa: BLE001 - no user database in some containers
                name = "unknown"
        return f"user:{name}"

    def local(self, dt: datetime | None, seconds: bool = False) -> str:
        """Render a UTC time in the configured zone for humans."""
        if dt is None:
            return ""
        return dt.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def info(self, message: str) -> None:
        """A progress or summary line on stderr (suppressed by -q)."""
        if not self.quiet:
            print(terminal_safe(message, newlines=True), file=self.stderr)

    def warn(self, message: str) -> None:
        from unpaid.secrets import redact

        print(_("Warning: {message}").format(message=terminal_safe(redact(message))), file=self.stderr)

    def error(self, message: str) -> None:
        """An ``Error: what — fix`` line on stderr for a problem the command carries on after (not suppressed)."""
        from unpaid.secrets import redact

        print(_("Error: {message}").format(message=terminal_safe(redact(message))), file=self.stderr)

    @property
    def stderr_tty(self) -> bool:
        return bool(getattr(self.stderr, "isatty", lambda: False)())

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
