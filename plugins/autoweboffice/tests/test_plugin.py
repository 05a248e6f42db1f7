"""The plugin's packaging: entry point, light hooks, the emulator as a command."""

import json
import subprocess
import sys
import urllib.request

from awo_env import make_seed


def test_plugin_module_imports_nothing_heavy():
    code = ("import sys; import unpaid_autoweboffice.plugin as p; "
            "bad = [m for m in ('httpx', 'stamina', 'keyring', 'unpaid_autoweboffice.connector') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_installed_entry_point_registers_the_connector(cli, monkeypatch):
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "autoweboffice")
    from unpaid import plugins

    plugins.set_plugins(None)
    try:
        result = cli(["plugins", "--format", "json"])
    finally:
        plugins.set_plugins(None)
    assert result.exit_code == 0, result.output
    assert "autoweboffice" in result.stdout and "resend_invoice" in result.stdout


def test_emulator_runs_as_a_command_with_a_seed_file(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(make_seed(accounts=[{"id_account": 5, "email": "a@example.ru", "account_sum": 10}])))
    proc = subprocess.Popen([sys.executable, "-m", "unpaid_autoweboffice.emulator", "--seed", str(seed), "--port", "0",
                             "--rate", "off"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        base = line.split(" at ", 1)[1].split(" ", 1)[0]
        url = f"{base}?r=api/rest/accounts&key=test-get-key-4f2a&id=5"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert json.loads(answer.read())["email"] == "a@example.ru"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulator_command_names_an_unreadable_seed(tmp_path):
    bad = tmp_path / "seed.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "unpaid_autoweboffice.emulator", "--seed", str(bad)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr
