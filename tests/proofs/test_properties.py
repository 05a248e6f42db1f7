"""Property-based proofs (hypothesis): arbitrary input gives a result or a clear error, never a crash.

Durations and dates are called directly (they raise ValueError by contract). Config, playbooks, templates and
CSV files go through the CLI in-process (`unpaid.testing.fixtures.run_cli`), where a crash is the catch-all
"unexpected X ... report it" message: every other failure must be a named UnpaidError with its exit code.
"""

from __future__ import annotations

import re
import tempfile
from datetime import timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import HealthCheck, strategies as st

from tests.proofs.harness import T0, base_env, crashed, seed, size, toml_table
from tests.proofs.table import Row, record
from unpaid.clock import parse_duration, parse_when
from unpaid.testing.fixtures import run_cli

UNITS = ["s", "sec", "min", "m", "h", "d", "w", "x", "", " "]
WORDS = ["hours", "days", "messages", "per", "after", "09:00-21:00", "mon", "1h", "lots", "klingon", "Europe/Moscow",
         "UTC", "csv", "smtp", "outbox", "webhook", "99999999999w",
         "0", "-1", "1e9", "%d.%m.%Y", ";", ",", "\t", "utf-8", "cp1251", "none", "ssl", "starttls", "send", "call",
         "cancel", "goto", "first", "letter", "mail", "shop", "unpaid", "new", "paid", "Expired", "20%", "\r\n"]
SCALARS = st.one_of(st.booleans(), st.integers(-(2**64), 2**64), st.floats(), st.text(max_size=12),
                    st.sampled_from(WORDS))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.sampled_from(WORDS), SCALARS,
                                                                           max_size=3))


def fields(known: list[str], **fixed) -> st.SearchStrategy[dict]:
    """A table with some of the ``known`` keys (and now and then an unknown one) holding arbitrary values."""
    keys = st.one_of(st.sampled_from(known), st.sampled_from(WORDS))
    return st.dictionaries(keys, VALUES, max_size=len(known)).map(lambda d: {**d, **fixed})


def prove(case: str, strategy: st.SearchStrategy, check, examples: tuple[int, int]) -> None:
    """Run ``check`` on ``examples`` (ci, full) seeded draws; add the case's row to the table; re-raise a find."""
    runs = [0]

    @hypothesis.seed(seed())
    @hypothesis.settings(max_examples=size(*examples), deadline=None, database=None, print_blob=True,
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(strategy)
    def prop(value):
        runs[0] += 1
        check(value)

    try:
        prop()
    except BaseException:
        record(Row(f"property: {case}", runs[0], 0, 0, 0, 1))
        raise
    record(Row(f"property: {case}", runs[0], 0, 0, 0, 0))


# ---- durations and dates: ValueError or a value ----

DURATIONS = st.one_of(
    st.text(max_size=20),
    st.lists(st.tuples(st.integers(0, 10**22).map(str), st.sampled_from(UNITS)), min_size=1, max_size=4)
    .map(lambda parts: " ".join(n + u for n, u in parts)),
)
ZONES = st.sampled_from([timezone.utc, ZoneInfo("Europe/Moscow"), ZoneInfo("Pacific/Kiritimati"),
                         ZoneInfo("America/Adak")])
DATES = st.one_of(
    st.text(max_size=25),
    DURATIONS.map(lambda d: "+" + d), DURATIONS.map(lambda d: "-" + d),
    st.datetimes().map(lambda d: d.isoformat()),
    st.tuples(st.integers(0, 99999), st.integers(0, 99), st.integers(0, 99), st.sampled_from(["-", ".", "/", " "]))
    .map(lambda t: t[3].join(str(x) for x in t[:3])),
    st.sampled_from(["today", "tomorrow", "now", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00+05:00",
                     "31.02.2026", "24.11.2026 10:00"]),
)


def duration_or_value_error(text: str) -> None:
    try:
        parse_duration(text)
    except ValueError:
        pass


def date_or_value_error(case) -> None:
    text, zone = case
    try:
        parse_when(text, zone, T0)
    except ValueError:
        pass


def test_durations():
    prove("durations (parse_duration)", DURATIONS, duration_or_value_error, (1000, 20000))


def test_dates():
    prove("dates (parse_when)", st.tuples(DATES, ZONES), date_or_value_error, (1000, 20000))


# ---- config, playbooks, templates, CSV: through the CLI ----

CSV_SETTINGS = ["path", "columns", "statuses", "currency", "page_size", "encoding", "delimiter", "date_format",
                "decimal", "extra", "max_rejected", "missing_after"]
SMTP_SETTINGS = ["host", "port", "security", "sender", "username", "reply_to", "timeout", "verify_tls"]
TOP = ["timezone", "default_country", "db", "cancel_reasons", "desk", "optout", "templates_dir", "playbook_files"]
STEP = ["name", "action", "after", "at", "when", "channel", "template", "trigger", "params", "kind", "percent",
        "valid", "status", "reason", "script", "to", "fallback", "window", "title"]
PLAYBOOK = ["title", "segment", "channel", "window", "cap", "enter_within", "end", "templates", "enabled"]
GOOD_CSV = "id,number,created_at,status,name,email,amount\n1,N1,2026-11-24T07:00:00Z,new,Anna,anna@example.com,4990\n"
TABLES = ("sources.shop", "channels.mail", "playbooks.p")
TEMPLATE_BITS = ["{{", "}}", "{%", "%}", "{#", "#}", " order.number ", " order ", ".", "customer", " | ", "upper",
                 "default(", ")", "(", "'x'", "1", " + ", " * ", " if ", " endif ", " for x in ", "range(3)",
                 " endfor ", " offer ", "payment_link", "[0]", " ~ ", "/", "-", "__class__", " loop ", " set ",
                 "=", "\n", "Subject: ", "é", "\x00"]


def commands(config: dict, files: dict[str, str | bytes], *commands: list[str]) -> None:
    """Write unpaid.toml (and ``files``) into a fresh folder; run each command; fail on a crash."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "templates").mkdir()
        for name, content in {"templates/letter.txt": "Subject: Hi\n\nPay {{ payment_link }}\n", **files}.items():
            (root / name).write_bytes(content.encode() if isinstance(content, str) else content)
        tables = {k: v for k, v in config.items() if k in TABLES}
        top = {k: v for k, v in config.items() if k not in tables and k != "_steps"}
        text = toml_table(top) + "".join(f"\n[{k}]\n{toml_table(v)}\n" for k, v in tables.items())
        text += "".join(f"\n[[playbooks.p.steps]]\n{toml_table(s)}\n" for s in config.get("_steps", []))
        (root / "unpaid.toml").write_text(text, encoding="utf-8")
        env = base_env(root, UNPAID_LOAD_PLUGINS="unpaid-csv")
        for args in commands:
            result = run_cli(["--config", str(root / "unpaid.toml"), "--db", str(root / "unpaid.db"), "--now",
                              T0.isoformat(), *args], env=env)
            assert not crashed(result.output), (args, text, result.output)


def config_crashes(config: dict) -> None:
    commands(config, {"orders.csv": GOOD_CSV}, ["playbooks"], ["sync"], ["doctor"], ["plan"])


def playbook_crashes(config: dict) -> None:
    commands(config, {"orders.csv": GOOD_CSV}, ["playbooks"], ["sync"], ["plan"], ["run"])


def template_crashes(source: str) -> None:
    config = {"sources.shop": {"type": "csv", "path": "orders.csv"}, "channels.mail": {"type": "outbox"},
              "playbooks.p": {"segment": {"sources": ["shop"]}, "channel": "mail"},
              "_steps": [{"name": "a", "action": "send", "template": "t"}]}
    commands(config, {"orders.csv": GOOD_CSV, "templates/t.txt": "Subject: " + source}, ["playbooks"])


def csv_crashes(case) -> None:
    content, settings = case
    config = {"sources.shop": {"type": "csv", "path": "orders.csv", **settings}}
    commands(config, {"orders.csv": content}, ["sync"], ["--format", "json", "orders"])


CONFIGS = st.fixed_dictionaries({
    "top": fields(TOP),
    "sources.shop": fields(CSV_SETTINGS, type="csv", path="orders.csv"),
    "channels.mail": st.one_of(fields(SMTP_SETTINGS, type="smtp"), fields(["path", "address"], type="outbox")),
    "desk": fields(["page_size", "lease", "promise_cap", "postpone", "call_hours", "timezone"]),
}).map(lambda c: {**c.pop("top"), **c})
STEPS = [{"name": "a", "action": "send", "template": "letter"}, {"name": "b", "action": "call", "after": "1h"},
         {"name": "c", "action": "offer", "percent": 10, "valid": "2d"}, {"name": "d", "action": "goto", "to": "a",
                                                                          "after": "1d"},
         {"name": "e", "action": "status", "status": "in_work"}, {"name": "f", "action": "cancel", "reason": "x"}]


def mutated(base: dict, known: list[str]) -> st.SearchStrategy[dict]:
    """``base`` (a sound table) with up to two of its keys, or others it may hold, set to arbitrary values."""
    return st.dictionaries(st.sampled_from(known), VALUES, max_size=2).map(lambda over: {**base, **over})


PLAYBOOKS = st.tuples(mutated({}, PLAYBOOK), st.lists(st.one_of([mutated(s, STEP) for s in STEPS]), min_size=1,
                                                      max_size=3)).map(lambda pb: {
    "sources.shop": {"type": "csv", "path": "orders.csv"}, "channels.mail": {"type": "outbox"},
    "playbooks.p": {"segment": {"sources": ["shop"]}, "channel": "mail", **pb[0]}, "_steps": pb[1]})
TEMPLATES = st.lists(st.one_of(st.sampled_from(TEMPLATE_BITS), st.text(max_size=4)), max_size=20).map("".join)
CSV_ROWS = st.lists(st.lists(st.one_of(st.text(max_size=10), st.sampled_from(
    ["1", "N1", "new", "paid", "2026-11-24", "24.11.2026 10:00", "4 990,00", "1.990", "a@b.c", "+79991234567",
     '"', '""', ";", ",", "\r", "\n", "\ufeff"])), max_size=8), max_size=6)
CSV_FILES = st.tuples(
    st.one_of(st.binary(max_size=200),
              CSV_ROWS.map(lambda rows: GOOD_CSV + "\n".join(",".join(r) for r in rows)),
              CSV_ROWS.map(lambda rows: ";".join(["Номер заказа", "Статус", "Почта"]) + "\r\n"
                           + "\r\n".join(";".join(r) for r in rows)).map(lambda s: s.encode("cp1251", "replace"))),
    fields(CSV_SETTINGS[2:]),
)


def test_config_loader():
    prove("config loader (playbooks, sync, doctor, plan)", CONFIGS, config_crashes, (150, 1500))


def test_playbook_loader():
    prove("playbook loader (playbooks, sync, plan, run)", PLAYBOOKS, playbook_crashes, (200, 2000))


def test_templates():
    prove("templates (playbooks check renders them)", TEMPLATES, template_crashes, (200, 2000))


def test_csv_reader():
    prove("CSV reader (sync of an arbitrary file)", CSV_FILES, csv_crashes, (200, 2000))


# ---- runaway templates: refused quickly by the rendering limits (issue 10, "Limits") ----

RUNAWAY = {
    "nested-range": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "huge-string": "{{ 'x' * 10**10 }}",
}


def _memory_cap() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # 2 GB: the example fails fast, not the machine


@pytest.mark.parametrize("body", RUNAWAY.values(), ids=RUNAWAY.keys())
def test_a_runaway_template_is_refused_quickly(tmp_path, body):
    import subprocess

    from tests.proofs.harness import Shop

    shop = Shop(tmp_path, steps=[{"name": "a", "action": "send", "template": "t"}])
    (tmp_path / "templates" / "t.txt").write_text(f"Subject: Hi\n\n{body}\n", encoding="utf-8")
    try:
        done = subprocess.run(shop.args(T0, "playbooks"), cwd=tmp_path, env=shop.env, capture_output=True,
                              text=True, timeout=30, preexec_fn=_memory_cap)
    except subprocess.TimeoutExpired:
        pytest.fail("`unpaid playbooks` was still rendering after 30 s (the limit is 2 s of CPU)")
    # a 2 GB cap, so that a template that slipped past the limits fails fast instead of taking the machine
    assert done.returncode == 2 and "t.txt" in done.stderr and not crashed(done.stderr), done.stderr
    assert not re.search(r"cannot render:\s+—", done.stderr), done.stderr
