"""Error types every layer raises, and the one table of exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in docs/exit-codes.md and stable for cron scripts."""

    OK = 0
    #: Some actions failed (a send, a push); the rest were done.
    FAILED = 1
    #: Bad usage, configuration or input: fix the command or the file and run again.
    USAGE = 2
    #: A source could not be reached or refused the credentials.
    SOURCE = 3
    #: Interrupted by Ctrl-C / SIGINT.
    INTERRUPTED = 130


class UnpaidError(Exception):
    """An error the user can act on: printed as one line ``Error: what — fix``."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, fix: str | None = None, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message


class ConfigError(UnpaidError):
    """The configuration file or an option is wrong."""


class InputError(UnpaidError):
    """A value given on the command line or in a file is invalid."""


class NotFoundError(UnpaidError):
    """An order, source or other named thing does not exist."""


class StoreError(UnpaidError):
    """The state database cannot be opened or used."""


class ConflictError(UnpaidError):
    """The action collides with someone else's (an order claimed by another manager)."""

    exit_code = ExitCode.FAILED
