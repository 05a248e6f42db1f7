"""Plugin loading as users meet it: filters, broken plugins, duplicates, blocking, plugin commands."""

import types

import click
import pytest

from unpaid import hookimpl
from unpaid import plugins as loader
from unpaid.testing.fakes import SPEC
from unpaid.testing.fixtures import run_cli


class FakeDist:
    def __init__(self, name):
        self.name, self.version = name, "1.2.3"


class FakeEntryPoint:
    """An entry point whose ``load`` is counted, so tests can see whether a plugin was imported."""

    def __init__(self, name, module=None, error=None, dist=None):
        self.name, self.module, self.error = name, module, error
        self.dist = FakeDist(dist or f"unpaid-{name}")
        self.loads = 0

    def load(self):
        self.loads += 1
        if self.error:
            raise self.error
        return self.module


def _module(name, **hooks):
    module = types.ModuleType(name)
    for hook, func in hooks.items():
        setattr(module, hook, hookimpl(func))
    return module


def _memory_module(name, spec_name="memory"):
    return _module(name, register_connectors=lambda register: register(
        SPEC.__class__(**{**SPEC.__dict__, "name": spec_name})))


@pytest.fixture
def installed(monkeypatch):
    """Pretend these entry points are installed; plugins load from them on first use."""
    def install(*eps):
        monkeypatch.setattr(loader, "_entry_points", lambda: list(eps))
        loader.set_plugins(None)
        return eps

    return install


def test_load_plugins_filters_before_import():
    wanted, other = FakeEntryPoint("wanted", _memory_module("w")), FakeEntryPoint("other", _memory_module("o"))
    plugins = loader.load(entry_points=[wanted, other], environ={"UNPAID_LOAD_PLUGINS": "unpaid-wanted"})
    assert (wanted.loads, other.loads) == (1, 0)
    assert "other" not in plugins.info and plugins.connectors["memory"] is not None

    nothing = loader.load(entry_points=[wanted, other], environ={"UNPAID_LOAD_PLUGINS": ""})
    assert set(nothing.info) == {"channels"} and (wanted.loads, other.loads) == (1, 0)


def test_unknown_name_in_load_plugins_exits_2(installed, monkeypatch):
    installed(FakeEntryPoint("csv", _memory_module("c")))
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv,nosuch")
    result = run_cli(["plugins"])
    assert result.exit_code == 2
    assert "nosuch" in result.stderr and "not installed" in result.stderr and "csv" in result.stderr


@pytest.mark.parametrize("ep, error", [
    (FakeEntryPoint("broken", error=ImportError("No module named 'requests'")), "No module named 'requests'"),
    (FakeEntryPoint("raising", _module("r", register_connectors=lambda register: 1 / 0)), "ZeroDivisionError"),
    (FakeEntryPoint("typo", _module("t", register_widgets=lambda register: None)), "register_widgets"),
])
def test_a_broken_plugin_is_a_row_and_a_warning_not_a_crash(installed, monkeypatch, ep, error):
    good = FakeEntryPoint("good", _memory_module("g"))
    installed(ep, good)
    monkeypatch.delenv("UNPAID_LOAD_PLUGINS")
    result = run_cli(["plugins", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in result.json()}
    assert error in rows[ep.name]["error"]
    assert f"pip uninstall unpaid-{ep.name}" in rows[ep.name]["fix"]
    assert rows["good"]["connectors"][0]["name"] == "memory"
    assert f"Warning: plugin {ep.name!r} is broken" in result.stderr
    assert "Traceback" not in result.output


def test_doctor_fails_on_a_broken_plugin(installed, monkeypatch, tmp_path):
    installed(FakeEntryPoint("broken", error=ImportError("boom")))
    monkeypatch.delenv("UNPAID_LOAD_PLUGINS")
    monkeypatch.chdir(tmp_path)
    result = run_cli(["doctor", "--format", "json"])
    assert result.exit_code == 2
    check = next(c for c in result.json() if c["name"] == "plugin broken")
    assert check["result"] == "fail" and "boom" in check["detail"]


def test_a_duplicate_connector_name_names_both_plugins(installed, monkeypatch):
    installed(FakeEntryPoint("first", _memory_module("a")), FakeEntryPoint("second", _memory_module("b")))
    monkeypatch.delenv("UNPAID_LOAD_PLUGINS")
    result = run_cli(["plugins"])
    assert result.exit_code == 2
    assert "'first'" in result.stderr and "'second'" in result.stderr and "memory" in result.stderr
    assert "UNPAID_BLOCK_PLUGINS" in result.stderr


def test_block_plugins_skips_defaults_and_installed_ones(installed, monkeypatch):
    blocked = FakeEntryPoint("second", _memory_module("b"))
    installed(FakeEntryPoint("first", _memory_module("a")), blocked)
    monkeypatch.delenv("UNPAID_LOAD_PLUGINS")
    monkeypatch.setenv("UNPAID_BLOCK_PLUGINS", "second,channels")
    result = run_cli(["plugins", "--all", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in result.json()] == ["first"]
    assert blocked.loads == 0


def test_register_commands_adds_a_command(installed, monkeypatch):
    from unpaid.cli import cli

    @click.command()
    @click.argument("who")
    def hello(who):
        """Say hello."""
        click.echo(f"hello, {who}")

    installed(FakeEntryPoint("greeter", _module("g", register_commands=lambda cli: cli.add_command(hello))))
    monkeypatch.delenv("UNPAID_LOAD_PLUGINS")
    monkeypatch.setattr(cli, "_plugin_group", None)  # plugin commands are collected once per process
    result = run_cli(["hello", "world"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello, world\n"
    rows = run_cli(["plugins", "--format", "json"]).json()
    assert rows[0]["hooks"] == ["register_commands"]


def test_an_unknown_command_is_a_usage_error(installed, monkeypatch):
    from unpaid.cli import cli

    installed()
    monkeypatch.setattr(cli, "_plugin_group", None)
    result = run_cli(["frobnicate"])
    assert result.exit_code == 2 and "No such command" in result.stderr

