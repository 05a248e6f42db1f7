"""Secrets grep: every command, with known secrets set, never prints one of them (nor a piece of one).

Sources: a GetCourse school on its emulator (the right keys), an AutoWebOffice account on its emulator and a
webhook on a dead port (errors that carry URLs and headers); an SMTP channel whose server refuses the login.
Every command `unpaid --help` lists (and every subcommand of a group) runs as a process with realistic
arguments, plain, with `-v` (tracebacks on errors) and with `--format json`.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from tests.proofs.harness import Shop, Tally
from tests.proofs.mailserver import free_port
from tests.proofs.table import Row, record

gc_emulator = pytest.importorskip("unpaid_getcourse.emulator")
awo_emulator = pytest.importorskip("unpaid_autoweboffice.emulator")
aiosmtpd = pytest.importorskip("aiosmtpd.controller")

MARK = "PROOFSECRET"  # in every secret: a leak of any long enough piece of one shows up
SECRETS = {
    "UNPAID_SECRET_SCHOOL_SECRET_KEY": f"gc-{MARK}-key-4411",
    "UNPAID_SECRET_SCHOOL_DEVELOPER_KEY": f"gc-{MARK}-dev-5522",
    "UNPAID_SECRET_AWO_GET_KEY": f"awo-{MARK}-get-6633",
    "UNPAID_SECRET_AWO_SET_KEY": f"awo-{MARK}-set-7744",
    "UNPAID_SECRET_MAIL_PASSWORD": f"smtp-{MARK}-pw-8855",
    "UNPAID_SECRET_HOOK_TOKEN": f"hook-{MARK}-tok-9966",
    # unpaid keeps its state in SQLite and has no database password; a secret in the environment that no
    # setting asks for must stay out of the output all the same
    "UNPAID_SECRET_DB_PASSWORD": f"db-{MARK}-pw-1077",
}
ORDER = "school:7001"
ARGS = {  # realistic arguments; a command not listed here runs bare (a usage error is output too)
    "auth get": ["school"], "auth set": ["school"], "auth delete": ["awo"], "comment": [ORDER, "called back"],
    "edit": [ORDER, "--phone", "+79990001122"], "init": ["new.toml"], "outcome": [ORDER, "thinking", "--days", "2"],
    "postpone": [ORDER, "--days", "2"], "release": [ORDER],
    "send": [ORDER, "--template", "letter", "--channel", "mail"],
    "show": [ORDER], "status": [ORDER, "cancelled", "--reason", "Too expensive"], "take": [ORDER],
    "doctor": ["--online"], "orders": ["--all"], "playbooks check": ["unpaid.toml"], "demo": ["--help"],
    "events import": ["events.csv"], "review resolve": ["--all", "--as", "unsent", "--dry-run"],
}

EXTRA = [["send", ORDER, "--template", "letter", "--channel", "hook"], ["sync", "awo"], ["sync", "school"]]


def listed(shop: Shop, now: datetime, *group: str) -> list[str]:
    """The command names in the "Commands:" part of ``unpaid GROUP --help``."""
    text = shop.unpaid(now, *group, "--help").stdout
    part = text.split("Commands:", 1)[1] if "Commands:" in text else ""
    return re.findall(r"^  ([a-z][\w-]*)  ", part, re.M)


def every_command(shop: Shop, now: datetime) -> list[list[str]]:
    """Each command and subcommand `--help` lists, as a name: ``["review", "resolve"]``."""
    return [[name, *sub] for name in listed(shop, now) for sub in [[], *([s] for s in listed(shop, now, name))]]


def test_no_command_prints_a_secret(tmp_path):
    from unpaid_getcourse.sample import base_seed

    gc = gc_emulator.start(base_seed(secret_key=SECRETS["UNPAID_SECRET_SCHOOL_SECRET_KEY"], read_only_keys=[],
                                     developer_key=SECRETS["UNPAID_SECRET_SCHOOL_DEVELOPER_KEY"]))
    awo = awo_emulator.start({"subdomain": "awo", "timezone": "Europe/Moscow", "keys": {
        "get": SECRETS["UNPAID_SECRET_AWO_GET_KEY"], "set": SECRETS["UNPAID_SECRET_AWO_SET_KEY"]}})
    smtp = aiosmtpd.Controller(object(), hostname="127.0.0.1", port=free_port(), auth_require_tls=False,
                               authenticator=lambda *args: aiosmtpd.AuthResult(success=False))
    smtp.start()
    gc.account.put_deal({"id": 7001, "number": "501", "email": "buyer@example.com", "name": "Buyer", "cost": 100})
    try:
        school = {"type": "getcourse", "account": "school", "base_url": gc.base_url, "first_wait": "0",
                  "poll_interval": "0.05", "retry_wait": "0.01", "timeout": "2s", "timezone": "Europe/Moscow"}
        shop = Shop(tmp_path, tally=Tally(), env={**SECRETS, "UNPAID_MANAGER": "anna"},
                    tables={"sources.school": school,
                            "sources.awo": {"type": "autoweboffice", "subdomain": "awo", "base_url": awo.base_url},
                            "segments.unpaid": {"sources": ["school", "awo"], "min_age": "1h"},
                            "channels.hook": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook"},
                            "channels.mail": {"type": "smtp", "host": "127.0.0.1", "port": smtp.port,
                                              "security": "none", "sender": "shop@example.com",
                                              "username": "shop", "timeout": 2}},
                    steps=[{"name": "letter", "action": "send", "template": "first"},
                           {"name": "ping", "action": "send", "channel": "hook", "template": "second"}])
        now = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=3)  # the deal is due
        (tmp_path / "templates" / "letter.txt").write_text("Subject: Hi\n\nPay {{ payment_link }}\n")
        (tmp_path / "events.csv").write_text("order_id,kind,at\nschool:7001,open,2026-11-24T10:00:00Z\n")
        names = every_command(shop, now)
        calls = [[*name, *ARGS.get(" ".join(name), [])] for name in names] + EXTRA
        runs = [[*pre, *args] for args in calls for pre in ([], ["-v"], ["--format", "json"])]
        first = [args for name in ("sync", "run") for args in runs if args[-1] == name]  # login and webhook fail
        results = [shop.unpaid(now, *args, timeout=180) for args in first]
        with ThreadPoolExecutor(8) as pool:
            results += pool.map(lambda args: shop.unpaid(now, *args, timeout=180),
                                [args for args in runs if args not in first])
    finally:
        smtp.stop()
        gc.stop()
        awo.stop()
    leaks = [(r.argv, line) for r in results for line in (r.stdout + r.stderr).splitlines() if MARK in line]
    row = record(Row(f"secrets grep: {len(names)} commands x (plain, -v, json)", shop.tally.runs, 0, len(leaks), 0,
                     len(shop.tally.crashes)))
    assert len(names) > 25 and ["review", "resolve"] in names, names  # the listing was read
    assert not leaks, leaks[:5]
    assert row.ok, [(c.argv, (c.stdout + c.stderr)[-600:]) for c in shop.tally.crashes][:3]
