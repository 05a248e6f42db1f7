"""Debugging a plugin: a trace of loads and hook calls, a broken plugin named where it matters, strict mode."""

import pytest

from unpaid import plugins as loader

from .test_plugins import FakeEntryPoint, _memory_module


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.delenv("UNPAID_LOAD_PLUGINS")  # load what is "installed"

    def install(*eps):
        monkeypatch.setattr(loader, "_entry_points", lambda: list(eps))
        loader.set_plugins(None)
        return eps

    yield install
    loader.set_plugins(None)


@pytest.fixture
def shop_config(tmp_path):
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "myshop"\nurl = "http://127.0.0.1:9"\n')


def test_trace_prints_each_load_and_hook_call_with_its_result(installed, cli, monkeypatch):
    installed(FakeEntryPoint("mem", _memory_module("mem_plugin", spec_name="memshop")),
              FakeEntryPoint("broken", error=ImportError("No module named 'requests'")))
    result = cli("plugins", env={"UNPAID_TRACE_PLUGINS": "1"})
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("unpaid plugins: ")]
    assert "unpaid plugins: loading mem (unpaid-mem 1.2.3)" in lines
    assert "unpaid plugins: loaded mem from mem_plugin: hooks register_connectors" in lines
    assert "unpaid plugins: mem: register_connectors(register)" in lines
    assert "unpaid plugins: mem: register_connectors registered memshop" in lines
    assert "unpaid plugins: broken failed to load: ImportError: No module named 'requests'" in lines


def test_no_trace_without_the_switch(installed, cli):
    installed(FakeEntryPoint("mem", _memory_module("mem_plugin", spec_name="memshop")))
    result = cli("plugins")
    assert "unpaid plugins:" not in result.stderr


def test_a_hook_that_raises_is_traced_with_the_error(installed, cli):
    from unpaid import hookimpl

    from .test_plugins import _module

    def register_connectors(register):
        raise RuntimeError("spec typo")

    installed(FakeEntryPoint("bad", _module("bad_plugin", register_connectors=register_connectors)))
    result = cli("plugins", env={"UNPAID_TRACE_PLUGINS": "1"})
    assert "unpaid plugins: bad: register_connectors raised RuntimeError('spec typo')" in result.stderr
    assert hookimpl  # the module's hooks are marked like a real plugin's


@pytest.mark.parametrize("command", ["sync", "sync shop"])
def test_a_command_needing_a_broken_plugin_names_it_and_its_error_not_install_it(installed, cli, shop_config,
                                                                                 command):
    installed(FakeEntryPoint("myshop", error=ImportError("No module named 'requests'")))
    result = cli(command)
    assert result.exit_code == 2, result.output
    assert "its plugin 'myshop' (unpaid-myshop 1.2.3) is installed but failed to load: " \
           "ImportError: No module named 'requests'" in result.stderr
    assert "UNPAID_PLUGINS_STRICT=1 shows the traceback" in result.stderr
    assert "pip install unpaid-myshop`, then" not in result.stderr
    assert "0 orders" not in result.output


def test_doctor_names_the_broken_plugin_and_the_source_it_breaks(installed, cli, shop_config):
    installed(FakeEntryPoint("myshop", error=ImportError("No module named 'requests'")))
    result = cli("doctor --format json")
    assert result.exit_code == 2
    checks = {c["name"]: c for c in result.json()}
    assert "No module named 'requests'" in checks["plugin myshop"]["detail"]
    source = next(c for name, c in checks.items() if name.startswith("source shop"))
    assert "failed to load" in source["detail"]


def test_an_unrelated_broken_plugin_is_named_as_possibly_providing_the_type(installed, cli, shop_config):
    installed(FakeEntryPoint("other", error=ImportError("boom")))
    result = cli("sync shop")
    assert result.exit_code == 2
    assert "a plugin that may provide it, 'other' (unpaid-other 1.2.3) is installed but failed" in result.stderr


def test_a_missing_plugin_is_still_missing(installed, cli, shop_config):
    installed()
    result = cli("sync shop")
    assert result.exit_code == 2
    assert "no connector of type 'myshop' (installed: none installed)" in result.stderr
    assert "unpaid install unpaid-myshop" in result.stderr


def test_strict_mode_prints_the_traceback(installed, cli):
    installed(FakeEntryPoint("myshop", error=ImportError("No module named 'requests'")))
    result = cli("plugins", env={"UNPAID_PLUGINS_STRICT": "1"})
    assert result.exit_code != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "ImportError: No module named 'requests'" in result.stderr


def test_trace_shows_the_factory_building_a_source(cli, register_plugin, tmp_path):
    from unpaid.testing.fakes import MemoryPlugin

    register_plugin(MemoryPlugin, name="memory")
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "memory"\n', encoding="utf-8")
    result = cli("sync shop", env={"UNPAID_TRACE_PLUGINS": "1"})
    assert result.exit_code == 0, result.output
    assert "unpaid plugins: source shop: the memory factory built InMemoryConnector\n" in result.stderr
