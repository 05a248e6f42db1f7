"""The client-side throttle against the emulator's own count of its busiest window (real time)."""

import time

import pytest

from awo_env import make_connector, make_seed
from unpaid.connector import RateLimited
from unpaid_autoweboffice.emulator import Emulator


def test_client_never_exceeds_the_limit_and_is_never_refused():
    with Emulator(make_seed(), rate_limit=(5, 1.0)) as emu:
        conn = make_connector(emu, rate_limit="5/1s")
        started = time.monotonic()
        for _ in range(16):
            conn.client.list("accounts")
        elapsed = time.monotonic() - started
    assert emu.stats.requests == 16 and emu.stats.limited == 0
    assert emu.stats.max_in_window <= 5
    assert elapsed >= 3.0  # 16 requests at 5 per second need at least three full windows


def test_without_the_throttle_the_emulator_refuses_the_excess():
    with Emulator(make_seed(), rate_limit=(5, 1.0)) as emu:
        conn = make_connector(emu, rate_limit="1000/1s")
        with pytest.raises(RateLimited) as info:
            for _ in range(1000):  # the sixth within a second is refused; a slow machine needs more tries
                conn.client.list("accounts")
    assert emu.stats.limited == 1 and info.value.retry_after >= 1


def test_commands_run_one_after_another_share_the_window_through_the_store(tmp_path, cli_db):
    """`unpaid sync && unpaid doctor --online && …` as cron runs them: separate processes, one budget."""
    import os
    import subprocess
    import sys

    from awo_env import NOW, SOURCE_CONFIG
    from unpaid_autoweboffice.seeds import demo_seed

    with Emulator(demo_seed(NOW), rate_limit=(3, 3.0)) as emu:
        config = SOURCE_CONFIG.format(subdomain=emu.account.subdomain, base_url=emu.base_url)
        (tmp_path / "unpaid.toml").write_text(config.replace('"1000/1s"', '"3/3s"'), encoding="utf-8")
        env = {**os.environ, "UNPAID_DB": cli_db, "UNPAID_LOAD_PLUGINS": "autoweboffice",
               **{f"UNPAID_SECRET_AWO_{k.upper()}": v for k, v in emu.secrets().items()}}
        for command in (["sync"], ["doctor", "--online"], ["doctor", "--online"]):
            done = subprocess.run([sys.executable, "-m", "unpaid", *command], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
    assert emu.stats.requests >= 6 and emu.stats.limited == 0 and emu.stats.max_in_window <= 3
