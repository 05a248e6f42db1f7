"""Fixtures for the AutoWebOffice tests: a running emulator (no rate limit unless a test sets one)."""

import sys
from pathlib import Path

import pytest

# The shared set-up module sits next to this file; plugin test folders are not packages.
sys.path.insert(0, str(Path(__file__).parent))

from awo_env import make_seed  # noqa: E402

pytest_plugins = ["unpaid.testing.fixtures"]


@pytest.fixture
def emulator():
    from unpaid_autoweboffice.emulator import Emulator

    with Emulator(make_seed(), rate_limit=None) as emu:
        yield emu


@pytest.fixture
def open_school(cli, tmp_path, monkeypatch, register_plugin):
    """Start the demo school (dated relative to NOW), write ``config`` for it and put its keys in the env."""
    from awo_env import NOW
    from unpaid_autoweboffice import plugin
    from unpaid_autoweboffice.emulator import Emulator
    from unpaid_autoweboffice.seeds import demo_seed

    register_plugin(plugin, name="autoweboffice")
    started = []

    def open_(config: str, **options) -> Emulator:
        emu = Emulator(demo_seed(NOW), **{"rate_limit": None, "now": lambda: NOW, **options}).start()
        started.append(emu)
        text = config.format(subdomain=emu.account.subdomain, base_url=emu.base_url)
        (tmp_path / "unpaid.toml").write_text(text, encoding="utf-8")
        for key, value in emu.secrets().items():
            monkeypatch.setenv(f"UNPAID_SECRET_AWO_{key.upper()}", value)
        return emu

    yield open_
    for emu in started:
        emu.stop()
