"""Read a channel's settings without raising: a bad value becomes a :class:`Problem` and the default.

A channel is built even from a broken table, so ``check()`` can name every problem at once instead of
the first one stopping the constructor; nothing sends before ``check()`` came back empty.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from unpaid.channel import Problem
from unpaid.errors import ExitCode


class SettingsReader:
    """Typed reads of one ``[channels.NAME]`` table; :attr:`problems` collects what was wrong."""

    def __init__(self, channel: str, settings: Mapping[str, Any]):
        self.channel, self.settings = channel, settings
        self.problems: list[Problem] = []

    def problem(self, key: str | None, message: str, fix: str, exit_code: ExitCode = ExitCode.USAGE) -> None:
        self.problems.append(Problem(self.channel, key, message, fix, exit_code))

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.settings.get(key)
        if value is None or value == "":
            if required:
                self.problem(key, "is missing", f'add {key} = "..." under [channels.{self.channel}]')
            return default
        if not isinstance(value, str):
            self.problem(key, f"must be text, not {value!r}", f'write {key} = "..." (in quotes)')
            return default
        if not value.isprintable():
            self.problem(key, f"holds control characters: {value!r}", f"remove the line breaks from {key}")
            return default
        return value.strip()

    def number(self, key: str, default: float, low: float, high: float, *, whole: bool = False) -> float:
        value = self.settings.get(key)
        if value is None or value == "":
            return default
        kind = "a whole number" if whole else "a number"
        ok = isinstance(value, int) if whole else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or not math.isfinite(value):
            self.problem(key, f"must be {kind}, not {value!r}", f"write {key} = {int(default)} (no quotes)")
            return default
        if not low <= value <= high:
            self.problem(key, f"{value} is out of range", f"use {kind} from {_n(low)} to {_n(high)}")
            return default
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.settings.get(key)
        if value is None or value == "":
            return default
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in choices:
            quoted = ", ".join(f'"{c}"' for c in choices)
            self.problem(key, f"{value!r} is not one of {', '.join(choices)}", f"set {key} = one of {quoted}")
            return default
        return text

    def flag(self, key: str, default: bool) -> bool:
        value = self.settings.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, not {value!r}", f"write {key} = {str(default).lower()}")
            return default
        return value

    def host(self, key: str, host: str, example: str) -> None:
        """A problem when ``host`` cannot be a host name (blanks, an empty or overlong label)."""
        try:
            ok = bool(host) and not any(c.isspace() for c in host) and bool(host.encode("idna"))
        except UnicodeError:
            ok = False
        if not ok:
            self.problem(key, f"{host!r} is not a host name", f"write {example}")

    def folder(self, key: str, default: str) -> Path:
        """A folder setting, relative to the config file; a problem when it cannot be created or written."""
        raw = self.text(key, default) or default
        path = Path(raw).expanduser()
        folder = path if path.is_absolute() else Path(self.settings.get("_config_dir") or ".") / path
        try:
            if folder.exists() and not folder.is_dir():
                self.problem(key, f"{folder} is a file, not a folder", f"point {key} at a folder")
                return folder
            existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
            writable = existing is not None and existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
        except OSError as exc:  # a name too long, a loop of links
            self.problem(key, f"{folder} cannot be used: {exc.strerror}", f"point {key} at a folder")
            return folder
        if not writable:
            self.problem(key, f"{existing or folder} is not writable, so {folder} cannot be written",
                         f"let the user running unpaid write there, or point {key} elsewhere")
        return folder


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
