"""Shared set-up of the AutoWebOffice tests: keys, a fixed clock, a connector on an emulator."""

from datetime import datetime, timezone

from unpaid.http import RetryPolicy

KEYS = {"get_key": "test-get-key-4f2a", "set_key": "test-set-key-9c1b"}
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
#: ``unpaid.toml`` for the demo school on an emulator (``open_school`` fills in the two places).
SOURCE_CONFIG = """\
timezone = "Europe/Moscow"

[sources.awo]
type = "autoweboffice"
subdomain = "{subdomain}"
base_url = "{base_url}"
rate_limit = "1000/1s"
"""


def one_step_playbook(folder, trigger: str, params: str = "{}") -> str:
    """Write ``playbooks.toml`` with one trigger step for every order of ``awo``; the config line naming it."""
    (folder / "playbooks.toml").write_text(
        f'[segments.all]\nsources = ["awo"]\n\n[playbooks.one]\nsegment = "all"\nenter_within = "30d"\n\n'
        f'[[playbooks.one.steps]]\nname = "{trigger}"\naction = "trigger"\ntrigger = "{trigger}"\n'
        f"params = {params}\n", encoding="utf-8")
    return 'playbook_files = ["playbooks.toml"]\n'


def make_seed(**extra):
    seed = {"subdomain": "school", "keys": {"get": KEYS["get_key"], "set": KEYS["set_key"]},
            "timezone": "Europe/Moscow", "newsletter": [{"id_newsletter": 7, "newsletter": "Не оплатили"}],
            "contact_tags": [8], "funnels": [9]}
    seed.update(extra)
    return seed


def make_connector(emulator, *, name="awo", keys=None, clock=None, retry=None, **settings):
    """A connector on the emulator; no client throttle unless the test sets one."""
    from unpaid_autoweboffice.connector import AutoWebOfficeConnector

    options = {"subdomain": emulator.account.subdomain, "base_url": emulator.base_url, "rate_limit": "10000/1s",
               "recheck_every": "0m", "cancel_comment": True, "group": 7, "tag": 8, "funnel": 9,
               "allow_resend_invoice": True}
    options.update(settings)
    return AutoWebOfficeConnector(name, options, KEYS if keys is None else keys, clock=clock or (lambda: NOW),
                                  retry=retry or RetryPolicy(attempts=1))
