"""`unpaid connector new` writes a plugin that passes the conformance suite and installs like any other."""

import json
import os
import subprocess
import sys

import pytest

from unpaid.scaffold import plan, check_name


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNPAID_", "PIP_", "PYTHONPATH"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               XDG_CACHE_HOME=str(tmp_path / "xdg-cache"), **extra)
    return env


def _unpaid(tmp_path, *args, **env):
    return subprocess.run([sys.executable, "-m", "unpaid", *args], capture_output=True, text=True,
                          env=_env(tmp_path, **env), cwd=tmp_path, timeout=300)


@pytest.mark.parametrize("http", [True, False], ids=["http", "file"])
def test_the_generated_plugin_passes_the_conformance_suite(cli, tmp_path, http):
    result = cli(["connector", "new", "myshop", "--dir", str(tmp_path / "pkg"), *(["--http"] if http else [])])
    assert result.exit_code == 0, result.output
    assert "unpaid install -e" in result.stdout
    package = tmp_path / "pkg"
    assert (package / "unpaid_myshop" / "plugin.py").exists() and (package / "README.md").exists()
    assert (package / "unpaid_myshop" / "emulator.py").exists() == http
    # Its own tests, run as its author runs them: the package importable from its folder, nothing installed.
    run = subprocess.run([sys.executable, "-m", "pytest", "-vv", "-p", "no:cacheprovider"], cwd=package,
                         capture_output=True, text=True, env=_env(tmp_path, PYTHONPATH=str(package)), timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    outcomes = {}
    for line in run.stdout.splitlines():
        words = line.split()
        if len(words) >= 2 and "::test_" in words[0] and words[1] in ("PASSED", "SKIPPED", "FAILED", "ERROR"):
            outcomes[words[0].rpartition("::")[2]] = words[1]
    assert outcomes["test_plugins_lists_the_connector"] == "PASSED"
    for check in ("test_orders_sharing_a_timestamp_survive_page_boundaries", "test_every_pushable_status_round_trips",
                  "test_unreadable_record_is_rejected_and_read_once_repaired", "test_garbage_maps_to_invalid_data",
                  "test_writes_done_twice_leave_the_source_as_once", "test_push_status_round_trips"):
        assert outcomes[check] == "PASSED", check
    if http:
        assert outcomes["test_rate_limit_maps_to_rate_limited"] == outcomes["test_secrets_never_leak"] == "PASSED"


def test_installed_with_unpaid_install_it_is_listed_and_serves_the_demo(tmp_path):
    package, target = tmp_path / "unpaid-myshop", tmp_path / "site"
    assert _unpaid(tmp_path, "connector", "new", "myshop", "--http").returncode == 0
    # PIP_TARGET: into a folder of its own, so the environment running the tests stays as it is.
    done = _unpaid(tmp_path, "install", str(package), "--format", "json", PIP_TARGET=str(target), PIP_NO_DEPS="1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["installed"] == [str(package)]
    listed = _unpaid(tmp_path, "plugins", "--format", "json", PYTHONPATH=str(target))
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["myshop"]["distribution"] == "unpaid-myshop"
    assert rows["myshop"]["connectors"][0]["capabilities"] == ["fetch", "fetch_one", "push_status"]
    demo = _unpaid(tmp_path, "demo", "--source", "myshop", "--dir", "shop", PYTHONPATH=str(target))
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "the myshop emulator on http://127.0.0.1:" in demo.stdout + demo.stderr


def test_install_that_pip_cannot_do_is_one_line_and_exit_2(tmp_path):
    done = _unpaid(tmp_path, "install", str(tmp_path / "no-such-plugin"), PIP_TARGET=str(tmp_path / "site"))
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"Error: pip could not install {tmp_path / 'no-such-plugin'}")
    assert "Traceback" not in done.stderr


def test_install_needs_something_to_install(cli):
    result = cli("install")
    assert result.exit_code == 2
    assert "name at least one package" in result.stderr


@pytest.mark.parametrize("name", ["MyShop", "1shop", "my-shop", "my shop", ""])
def test_a_name_that_is_not_an_identifier_is_refused_in_one_line(cli, tmp_path, name):
    result = cli(["connector", "new", name, "--dir", str(tmp_path / "pkg")])
    assert result.exit_code == 2
    assert "is not a lower-case identifier" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "pkg").exists()


def test_an_existing_folder_is_never_overwritten(cli, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mine.txt").write_text("keep")
    result = cli(["connector", "new", "myshop", "--dir", str(tmp_path / "pkg")])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert os.listdir(tmp_path / "pkg") == ["mine.txt"]


def test_every_placeholder_is_filled():
    for http in (True, False):
        for path, text in plan(check_name("my_shop"), http).items():
            assert "{{" not in text.replace("{{'orders'", ""), path
