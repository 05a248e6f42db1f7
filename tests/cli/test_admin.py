import json
import os
import re

import pytest

from unpaid import hookimpl
from unpaid.config import parse_config
from unpaid.connector import AuthFailed, ConnectorSpec, Setting
from unpaid.testing.fakes import SPEC, InMemoryConnector

SECRET = "s3cr3t-Value-42"


class KeyedPlugin:
    """A ``keyed`` connector that needs an API key (required) and a write key (optional)."""

    @staticmethod
    @hookimpl
    def register_connectors(register):
        register(ConnectorSpec(
            name="keyed", title="Needs keys", capabilities=SPEC.capabilities,
            factory=lambda name, settings, secrets: InMemoryConnector(name, settings),
            settings=(Setting("api_key", "the read key", required=True, secret=True),
                      Setting("write_key", "the write key", secret=True)),
        ))


@pytest.fixture
def keyed(cli, tmp_path, register_plugin, monkeypatch):
    for var in ("UNPAID_SECRET_SCHOOL_API_KEY", "UNPAID_SECRET_SCHOOL_WRITE_KEY"):
        monkeypatch.delenv(var, raising=False)
    register_plugin(KeyedPlugin, name="keyed")
    (tmp_path / "unpaid.toml").write_text('[sources.school]\ntype = "keyed"\n', encoding="utf-8")


# ---- init ----


def test_init_writes_a_starter_that_the_config_loader_accepts(cli, tmp_path):
    result = cli("init")
    assert result.exit_code == 0, result.output
    path = tmp_path / "unpaid.toml"
    config = parse_config(path)
    assert config.timezone == "Europe/Moscow" and config.default_country == "7"
    assert config.sources["shop"].type == "csv" and config.sources["shop"].settings == {"path": "orders.csv"}
    text = path.read_text(encoding="utf-8")
    for commented in ('# type = "getcourse"', '# type = "autoweboffice"', "# [channels.", "# [segments.",
                      "# [playbooks."):
        assert commented in text


def uncomment(text: str) -> str:
    """The starter with its commented examples switched on: `# [table]`, `# key = ...` and list lines."""
    return re.sub(r"(?m)^# (?=\[|[a-z_]+ = |  \{|\])", "", text)


def test_the_starters_commented_examples_load_once_uncommented(cli, tmp_path, register_plugin):
    from unpaid.testing.fakes import MemoryPlugin

    assert cli("init").exit_code == 0
    path = tmp_path / "unpaid.toml"
    text = path.read_text(encoding="utf-8")
    assert "--segment" not in text  # `unpaid orders` has no such option
    on = uncomment(text)
    for table in ("[sources.school]", "[channels.outbox]", "[segments.fresh]", "[playbooks.reminder]", "[calendar]"):
        assert f"\n{table}\n" in on
    # the connectors are not what is checked here: every source reads from memory
    path.write_text(re.sub(r'type = "(csv|getcourse|autoweboffice)"', 'type = "memory"', on), encoding="utf-8")
    register_plugin(MemoryPlugin, name="memory")
    result = cli(["--config", str(path), "--format", "json", "playbooks"])
    assert result.exit_code == 0 and result.stderr == "", result.output
    [pb] = result.json()
    assert pb["name"] == "reminder" and pb["steps"] == 2
    assert (tmp_path / "templates" / "reminder.txt").read_text(encoding="utf-8").startswith("Subject: ")


def test_init_keeps_a_letter_that_is_already_there(cli, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reminder.txt").write_text("Subject: mine\n\nmine\n", encoding="utf-8")
    assert cli("init").exit_code == 0
    assert (tmp_path / "templates" / "reminder.txt").read_text(encoding="utf-8") == "Subject: mine\n\nmine\n"


def test_init_refuses_to_overwrite_without_force(cli, tmp_path):
    path = tmp_path / "unpaid.toml"
    path.write_text("# mine\n", encoding="utf-8")
    result = cli("init")
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert path.read_text(encoding="utf-8") == "# mine\n"
    assert cli("init --force").exit_code == 0
    assert "[sources.shop]" in path.read_text(encoding="utf-8")


def test_init_into_a_folder(cli, tmp_path):
    (tmp_path / "conf").mkdir()
    assert cli(["init", str(tmp_path / "conf")]).exit_code == 0
    assert parse_config(tmp_path / "conf" / "unpaid.toml").sources


# ---- auth ----


def test_auth_set_from_stdin_then_get_shows_where_but_never_the_value(cli, keyed, memory_keyring):
    result = cli("auth set school --stdin", input=f"{SECRET}\nw-key-9999\n")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    stored = json.loads(memory_keyring.read_text())
    assert stored["unpaid\x00school:api_key"] == SECRET

    result = cli("auth get school --format json")
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in result.json()}
    assert rows["api_key"]["from"] == "keyring" and rows["api_key"]["value"] == "***"
    assert SECRET not in result.output and "w-key-9999" not in result.output


def test_auth_get_reports_an_environment_override(cli, keyed, monkeypatch):
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_API_KEY", SECRET)
    result = cli("auth get school")
    assert result.exit_code == 0, result.output
    assert "env" in result.stdout and SECRET not in result.output


def test_auth_get_exits_2_when_a_required_secret_is_missing(cli, keyed):
    result = cli("auth get school --format json")
    assert result.exit_code == 2
    assert [r["set"] for r in result.json()] == [False, False]  # the data printed stays one JSON document:
    assert "unpaid auth set school" in result.stderr  # no error object after it (docs/exit-codes.md)


def test_auth_set_prompts_hidden_for_one_key(cli, keyed, memory_keyring):
    result = cli("auth set school --key write_key", input=f"{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert list(json.loads(memory_keyring.read_text())) == ["unpaid\x00school:write_key"]


def test_auth_rejects_unknown_key_and_short_stdin(cli, keyed):
    result = cli("auth set school --key password --stdin", input="x\n")
    assert result.exit_code == 2 and "api_key, write_key" in result.stderr
    result = cli("auth set school --stdin", input=f"{SECRET}\n")
    assert result.exit_code == 2 and "line 2" in result.stderr


def test_auth_delete_removes_the_secrets(cli, keyed, memory_keyring):
    cli("auth set school --stdin", input=f"{SECRET}\nw-key-9999\n")
    result = cli("auth delete school --key api_key")
    assert result.exit_code == 0 and "deleted" in result.stderr
    assert list(json.loads(memory_keyring.read_text())) == ["unpaid\x00school:write_key"]
    assert "was not in the keyring" in cli("auth delete school --key api_key").stderr


def test_auth_for_an_unknown_source_names_the_configured_ones(cli, keyed):
    result = cli("auth get nope")
    assert result.exit_code == 2 and "school" in result.stderr


# ---- doctor ----


def _checks(result) -> dict:
    return {c["name"]: c for c in result.json()}


def test_doctor_passes_on_a_good_setup(cli, shop, cli_db):
    assert cli("sync").exit_code == 0
    result = cli("doctor --format json")
    assert result.exit_code == 0, result.output
    checks = _checks(result)
    assert {c["result"] for c in checks.values()} <= {"ok", "skip"}
    assert checks["source shop: type"]["result"] == "ok"
    if cli_db.startswith("postgresql://"):
        from unpaid.store import schema

        detail = checks["store"]["detail"]
        assert detail.startswith("PostgreSQL ") and f"(schema {schema.LATEST}, shared by every machine" in detail
    else:
        assert "WAL" in checks["store"]["detail"] and "0600" in checks["store"]["detail"]
    assert checks["source shop: online"]["result"] == "skip"


def test_doctor_without_config_fails_with_the_fix(cli):
    result = cli("doctor --format json")
    assert result.exit_code == 2
    assert "unpaid init" in _checks(result)["config"]["fix"]


def test_doctor_flags_missing_secrets_and_unknown_types(cli, keyed, tmp_path):
    (tmp_path / "unpaid.toml").write_text('[sources.school]\ntype = "keyed"\n\n[sources.old]\ntype = "ftp"\n')
    result = cli("doctor --format json")
    assert result.exit_code == 2
    checks = _checks(result)
    assert "api_key" in checks["source school: settings"]["detail"]
    assert "unpaid auth set school" in checks["source school: settings"]["fix"]
    assert checks["source old: type"]["result"] == "fail" and "ftp" in checks["source old: type"]["detail"]


def test_doctor_online_reaches_the_source_or_exits_3(cli, shop):
    result = cli("doctor --online --format json")
    assert result.exit_code == 0, result.output
    assert _checks(result)["source shop: online"]["result"] == "ok"
    assert ("fetch_order", "unpaid-doctor-probe-0") in shop.calls

    shop.fail_next(AuthFailed("shop", "the key was refused", "run `unpaid auth set shop`"))
    result = cli("doctor --online --format json")
    assert result.exit_code == 3
    assert _checks(result)["source shop: online"]["fix"] == "run `unpaid auth set shop`"


@pytest.mark.sqlite_only("the mode of the SQLite file")
def test_doctor_makes_a_database_readable_by_others_owner_only_and_says_so(cli, shop, tmp_path):
    assert cli("sync").exit_code == 0
    os.chmod(tmp_path / "unpaid.db", 0o644)
    result = cli("doctor --format json")
    assert result.exit_code == 0
    store = _checks(result)["store"]
    assert store["result"] == "warn" and "mode 0644" in store["detail"] and "mode 0600" in store["detail"]
    assert os.stat(tmp_path / "unpaid.db").st_mode & 0o777 == 0o600


@pytest.mark.sqlite_only("the mode of the SQLite file")
def test_doctor_fails_a_database_readable_by_others_that_it_cannot_chmod(cli, shop, tmp_path, monkeypatch):
    import unpaid.store as store_module

    assert cli("sync").exit_code == 0
    os.chmod(tmp_path / "unpaid.db", 0o644)
    monkeypatch.setattr(store_module.os, "geteuid", lambda: os.stat(tmp_path / "unpaid.db").st_uid + 1)
    result = cli("doctor")
    assert result.exit_code == 2
    assert "chmod 600" in result.stdout and "1 of" in result.stderr


@pytest.mark.sqlite_only("a file in place of the SQLite store")
def test_doctor_fails_a_file_that_is_not_a_database(cli, shop, tmp_path):
    (tmp_path / "unpaid.db").write_text("not sqlite")
    result = cli("doctor --format json")
    assert result.exit_code == 2
    assert "not SQLite" in _checks(result)["store"]["detail"]


# ---- plugins ----


def test_plugins_json_lists_connectors_with_capabilities(cli, register_plugin):
    register_plugin(KeyedPlugin, name="keyed")
    rows = cli("plugins --format json").json()
    assert [r["name"] for r in rows] == ["keyed"]  # the built-in channels plugin is hidden
    [connector] = rows[0]["connectors"]
    assert connector["name"] == "keyed"
    assert set(connector["capabilities"]) == {c.value for c in SPEC.capabilities}
    assert {"key": "api_key", "required": True, "secret": True} in connector["settings"]
    assert rows[0]["error"] is None


def test_plugins_all_shows_the_defaults_and_the_table(cli, register_plugin):
    register_plugin(KeyedPlugin, name="keyed")
    rows = cli("plugins --all --format json").json()
    channels = next(r for r in rows if r["name"] == "channels")
    assert channels["default"] is True and channels["channels"][0]["name"] == "outbox"
    table = cli("plugins --all").stdout
    assert "connector keyed: " in table and "push_status" in table and "channel outbox" in table
