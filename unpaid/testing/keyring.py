"""A keyring backend for tests: a JSON file named by ``UNPAID_TEST_KEYRING``, or memory when unset.

Select it with ``PYTHON_KEYRING_BACKEND=unpaid.testing.keyring.FileKeyring`` so subprocesses
share it; it never reads or writes the developer's real keyring.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._memory: dict[str, str] = {}

    def _path(self) -> Path | None:
        value = os.environ.get("UNPAID_TEST_KEYRING")
        return Path(value) if value else None

    def _load(self) -> dict[str, str]:
        path = self._path()
        if path is None:
            return self._memory
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, str]) -> None:
        path = self._path()
        if path is None:
            self._memory = data
            return
        path.write_text(json.dumps(data))

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\x00{username}"] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError(username)
        self._save(data)
