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
