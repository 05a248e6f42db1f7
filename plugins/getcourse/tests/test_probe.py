"""`unpaid doctor --online`: one authenticated request per key kind, each failure told apart."""

from __future__ import annotations

import pytest

from unpaid.connector import AuthFailed, RateLimited, Temporary
from unpaid.errors import ConfigError
from unpaid_getcourse.client import WrongAccount

from .conftest import DEVELOPER, SECRET

WITH_DEV = {"secret_key": SECRET, "developer_key": DEVELOPER}


def test_a_good_secret_key_costs_one_request_and_says_so(emulator, make_connector):
    said = make_connector().probe()
    assert "secret key accepted" in said and "no developer key" in said
    assert emulator.requests() == 1


def test_both_keys_and_the_comment_author_are_checked(emulator, make_connector):
    emulator.account.users[900] = {"id": 900, "email": "manager@school.example", "groups": {}}
    said = make_connector(secrets=WITH_DEV, author_user_id=900).probe()
    assert "developer key accepted" in said and "written as user 900" in said
    assert emulator.requests("/pl/api/v1/") == 2 and emulator.requests("/pl/api/account/") == 1


def test_a_wrong_secret_key_is_never_accepted(emulator, make_connector):
    with pytest.raises(AuthFailed, match="refused the secret key .901"):
        make_connector(secrets={"secret_key": "wrong"}).probe()


def test_a_wrong_developer_key_is_named(emulator, make_connector):
    with pytest.raises(AuthFailed, match="Tech API refused the developer key"):
        make_connector(secrets={"secret_key": SECRET, "developer_key": "wrong"}).probe()


def test_a_wrong_account_is_named(emulator, make_connector):
    emulator.inject("subdomain")
    with pytest.raises(WrongAccount, match="no GetCourse account at this address") as info:
        make_connector().probe()
    assert "account" in info.value.fix


def test_the_plan_without_api_is_named(emulator, make_connector):
    emulator.account.api_enabled = False
    with pytest.raises(AuthFailed, match="917"):
        make_connector().probe()


def test_an_unreachable_address_is_temporary(make_connector):
    with pytest.raises(Temporary):
        make_connector(base_url="http://127.0.0.1:9", retries=1).probe()


def test_an_author_who_is_not_a_user_is_a_config_error(emulator, make_connector):
    with pytest.raises(ConfigError, match="author_user_id 4242 is not a user"):
        make_connector(secrets=WITH_DEV, author_user_id=4242).probe()


def test_a_budget_spent_by_someone_else_is_said_before_asking(emulator, make_connector):
    connector = make_connector(budget=1)
    connector.client.budget.spend()
    with pytest.raises(RateLimited, match="checking the secret key needs 1"):
        connector.probe()
    assert emulator.requests() == 0


def test_doctor_online_reports_the_probe(emulator, cli, tmp_path, monkeypatch):
    from unpaid import plugins

    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "unpaid-getcourse")
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", "wrong-key")
    plugins.set_plugins(None)
    (tmp_path / "unpaid.toml").write_text(f'[sources.school]\ntype = "getcourse"\naccount = "school"\n'
                                          f'base_url = "{emulator.base_url}"\n', encoding="utf-8")
    try:
        bad = cli("doctor --online")
        assert bad.exit_code != 0 and "refused the secret key" in bad.output and "wrong-key" not in bad.output
        monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", SECRET)
        good = cli("doctor --online")
        assert "secret key accepted" in good.output, good.output
    finally:
        plugins.set_plugins(None)
