"""`unpaid demo --source TYPE` calls the connector's emulator by its documented contract, or says what is wrong."""

import sys
import types
from dataclasses import replace

import pytest

from unpaid import hookimpl
from unpaid.testing.fakes import SPEC


class Running:
    stopped = False
    base_url = "http://127.0.0.1:9"

    def secrets(self):
        return {}

    def source_settings(self):
        return {}

    def stop(self):
        Running.stopped = True


def no_as_of(seed=None):
    return Running()


def returns_nothing_useful(as_of):
    return object()


@pytest.fixture
def emulator_plugin(monkeypatch, register_plugin):
    module = types.ModuleType("fake_emulators")
    module.no_as_of, module.returns_nothing_useful = no_as_of, returns_nothing_useful
    monkeypatch.setitem(sys.modules, "fake_emulators", module)

    def install(target):
        spec = replace(SPEC, name="fakeshop", emulator=target)

        class Plugin:
            @staticmethod
            @hookimpl
            def register_connectors(register):
                register(spec)

        register_plugin(Plugin, name="fakeshop")

    return install


@pytest.mark.parametrize("target, says", [
    ("fake_emulators:no_as_of", "emulator fake_emulators:no_as_of cannot be called as start(as_of=…)"),
    ("fake_emulators:missing", "emulator 'fake_emulators:missing' cannot be loaded"),
    ("no_such_module:start", "emulator 'no_such_module:start' cannot be loaded"),
    ("fake_emulators:returns_nothing_useful", "the emulator it started has no base_url, secrets, source_settings"),
])
def test_an_emulator_that_breaks_the_contract_is_one_line_naming_it(cli, emulator_plugin, tmp_path, target, says):
    emulator_plugin(target)
    result = cli(["demo", "--source", "fakeshop", "--dir", str(tmp_path / "shop")])
    assert result.exit_code == 2, result.output
    assert f"Error: connector fakeshop: {says}" in result.stderr
    assert "docs/connectors/writing.md#11-the-emulator" in result.stderr
    assert "unexpected" not in result.stderr
