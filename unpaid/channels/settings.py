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
from unpaid.i18n import _


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
                self.problem(key, _("is missing"),
                             _('add {key} = "..." under [channels.{channel}]').format(key=key, channel=self.channel))
            return default
        if not isinstance(value, str):
            self.problem(key, _("must be text, not {value!r}").format(value=value),
                         _('write {key} = "..." (in quotes)').format(key=key))
            return default
        if not value.isprintable():
            self.problem(key, _("holds control characters: {value!r}").format(value=value),
                         _("remove the line breaks from {key}").format(key=key))
            return default
        return value.strip()

    def number(self, key: str, default: float, low: float, high: float, *, whole: bool = False) -> float:
        value = self.settings.get(key)
        if value is None or value == "":
            return default
        ok = isinstance(value, int) if whole else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or not math.isfinite(value):
            problem = _("must be a whole number, not {value!r}") if whole else _("must be a number, not {value!r}")
            self.problem(key, problem.format(value=value),
                         _("write {key} = {default} (no quotes)").format(key=key, default=int(default)))
            return default
        if not low <= value <= high:
            fix = _("use a whole number from {low} to {high}") if whole else _("use a number from {low} to {high}")
            self.problem(key, _("{value} is out of range").format(value=value), fix.format(low=_n(low), high=_n(high)))
            return default
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.settings.get(key)
        if value is None or value == "":
            return default
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in choices:
            quoted = ", ".join(f'"{c}"' for c in choices)
            self.problem(key, _("{value!r} is not one of {choices}").format(value=value, choices=", ".join(choices)),
                         _("set {key} = one of {quoted}").format(key=key, quoted=quoted))
            return default
        return text

    def flag(self, key: str, default: bool) -> bool:
        value = self.settings.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, _("must be true or false, not {value!r}").format(value=value),
                         _("write {key} = {default}").format(key=key, default=str(default).lower()))
            return default
        return value

    def host(self, key: str, host: str, example: str) -> None:
        """A problem when ``host`` cannot be a host name (blanks, an empty or overlong label)."""
        try:
            ok = bool(host) and not any(c.isspace() for c in host) and bool(host.encode("idna"))
        except UnicodeError:
            ok = False
        if not ok:
            self.problem(key, _("{host!r} is not a host name").format(host=host),
                         _("write {example}").format(example=example))

    def folder(self, key: str, default: str) -> Path:
        """A folder setting, relative to the config file; a problem when it cannot be created or written."""
        raw = self.text(key, default) or default
        path = Path(raw).expanduser()
        folder = path if path.is_absolute() else Path(self.settings.get("_config_dir") or ".") / path
        try:
            if folder.exists() and not folder.is_dir():
                self.problem(key, _("{folder} is a file, not a folder").format(folder=folder),
                             _("point {key} at a folder").format(key=key))
                return folder
            existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
            writable = existing is not None and existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
        except OSError as exc:  # a name too long, a loop of links
            self.problem(key, _("{folder} cannot be used: {reason}").format(folder=folder, reason=exc.strerror),
                         _("point {key} at a folder").format(key=key))
            return folder
        if not writable:
            self.problem(key, _("{existing} is not writable, so {folder} cannot be written").format(
                existing=existing or folder, folder=folder),
                _("let the user running unpaid write there, or point {key} elsewhere").format(key=key))
        return folder


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
