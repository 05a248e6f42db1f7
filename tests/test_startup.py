"""`unpaid --help` stays cheap: no heavy library and no plugin code is imported to print it."""

import json
import os
import subprocess
import sys

import click
import pytest

from unpaid.cli import COMMANDS, cli
from unpaid.testing.fixtures import run_cli

HEAVY = ("httpx", "keyring", "tabulate", "dateutil", "jinja2", "stamina", "sqlite3", "importlib.metadata",
         "psycopg", "pluggy")
# Runs the real entry point, then reports what got imported (stdout carries the help text first).
PROBE = """
import json, sys
from unpaid.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("\\0" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imports(*args: str) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNPAID_")}  # installed plugins enabled
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60)
    help_text, _, report = proc.stdout.rpartition("\0")
    data = json.loads(report)
    return data["code"], data["modules"], help_text


@pytest.mark.parametrize("args, starts", [(["--help"], "Usage: unpaid [OPTIONS]"),
                                          (["--version"], "unpaid, version "),
                                          (["sync", "--help"], "Usage: unpaid sync")])
def test_help_imports_no_heavy_library_and_no_plugin(args, starts):
    code, modules, text = _imports(*args)
    assert code == 0
    assert text.startswith(starts)
    heavy = [m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY]
    assert heavy == []
    assert [m for m in modules if m.startswith("unpaid_")] == []


def test_import_unpaid_loads_no_plugin_machinery():
    """``import unpaid`` (what a plugin does first) brings neither pluggy nor importlib.metadata; the hook
    marker is made when a plugin asks for it, once."""
    probe = ("import json, sys, unpaid; before = sorted(sys.modules); from unpaid import hookimpl;"
             " import unpaid as again; print(json.dumps({'before': before, 'same': again.hookimpl is hookimpl,"
             " 'marker': type(hookimpl).__name__}))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    data = json.loads(proc.stdout)
    assert [m for m in data["before"] if m.split(".")[0] == "pluggy" or m == "importlib.metadata"] == []
    assert data["same"] and data["marker"] == "HookimplMarker"


def test_root_help_lists_every_command_without_importing_it():
    code, modules, text = _imports("--help")
    for name, (target, short) in COMMANDS.items():
        assert f"  {name} " in text
        assert target.split(":")[0] not in modules


def _all_commands():
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        yield [name]
        if isinstance(command, click.Group):
            yield from ([name, sub] for sub in command.list_commands(ctx))


@pytest.mark.parametrize("path", list(_all_commands()), ids=" ".join)
def test_help_works_on_every_command(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: unpaid {' '.join(path)}")
    assert "Traceback" not in result.output


def _config_with_one_csv_source(tmp_path) -> dict[str, str]:
    orders = tmp_path / "orders.csv"
    orders.write_text("id,status,email,total,created\n1,new,a@example.com,100,2026-11-20 10:00\n", encoding="utf-8")
    config = tmp_path / "unpaid.toml"
    config.write_text(f'timezone = "UTC"\ndb = "{tmp_path / "u.db"}"\n\n[sources.shop]\ntype = "csv"\n'
                      f'path = "{orders}"\n\n[channels.mail]\ntype = "outbox"\npath = "{tmp_path / "out"}"\n',
                      encoding="utf-8")
    return {"UNPAID_CONFIG": str(config)}


@pytest.mark.parametrize("args", [["sync"], ["plan"]])
def test_plan_and_sync_import_only_the_connectors_the_config_uses(args, tmp_path):
    """Every connector plugin is installed here; a config with one CSV source imports the CSV plugin alone
    (sync opens it; plan needs no connector) and no heavy library it does not use."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNPAID_")} | _config_with_one_csv_source(tmp_path)
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60,
                          cwd=tmp_path)
    data = json.loads(proc.stdout.rpartition("\0")[2])
    assert data["code"] in (0, None), proc.stderr
    plugins = sorted({m.split(".")[0] for m in data["modules"] if m.startswith("unpaid_")})
    assert plugins == (["unpaid_csv"] if args == ["sync"] else [])
    assert [m for m in data["modules"] if m.split(".")[0] in ("httpx", "keyring", "jinja2", "stamina")] == []


def test_a_table_imports_no_plugin_machinery(tmp_path):
    """The desk's tables (`queue`, `orders`) load no plugin, so they need neither pluggy nor
    importlib.metadata: a table library that looks itself up there on import would cost every one of them."""
    db = tmp_path / "unpaid.db"
    config = tmp_path / "unpaid.toml"
    config.write_text('timezone = "UTC"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNPAID_")}
    env.update(UNPAID_DB=str(db), UNPAID_CONFIG=str(config))
    for args in (["queue", "-m", "anna"], ["orders", "--all"]):
        proc = subprocess.run([sys.executable, "-c", PROBE, "--format", "table", *args], capture_output=True,
                              text=True, env=env, timeout=60, cwd=tmp_path)
        data = json.loads(proc.stdout.rpartition("\0")[2])
        assert data["code"] == 0, proc.stderr
        if args[0] == "queue":  # its table is drawn even for an empty desk
            assert "tabulate" in data["modules"]
        assert [m for m in data["modules"] if m == "importlib.metadata" or m.split(".")[0] == "pluggy"] == []
