"""A connector that forgot `self.spec` still works in every command: the core gives it the registered one."""

from dataclasses import replace

from unpaid import hookimpl
from unpaid.model import Status
from unpaid.testing.fakes import SPEC, InMemoryConnector

from .conftest import NOW, make_order


class NoSpec(InMemoryConnector):
    def __init__(self, name, settings):
        self.name, self.page_size = name, 2  # no self.spec: the mistake plugin-hooks.md's example used to invite


NO_SPEC = replace(SPEC, name="nospec", factory=lambda name, settings, secrets: NoSpec(name, settings))


class NoSpecPlugin:
    @staticmethod
    @hookimpl
    def register_connectors(register):
        register(NO_SPEC)


def test_sync_and_status_work_for_a_connector_without_spec(cli, shop, register_plugin, tmp_path):
    register_plugin(NoSpecPlugin, name="nospec")
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "nospec"\n', encoding="utf-8")
    shop.put(make_order("1"))
    assert cli(["--now", NOW, "sync"]).exit_code == 0
    result = cli(["--now", NOW, "status", "shop:1", "payment_waiting"])
    assert result.exit_code == 0, result.output
    assert shop.orders["1"].status is Status.PAYMENT_WAITING


def test_the_suite_names_a_missing_spec():
    import pytest

    from unpaid.testing.contract import ConnectorContract

    with pytest.raises(AssertionError, match="does not set self.spec"):
        ConnectorContract().test_spec_is_valid(NoSpec("shop", {}))
