"""Plans and runs in Russian and Ukrainian: reasons, local times, counted words; JSON stays English."""

from __future__ import annotations

import re

import pytest

from tests.cli.test_events import CONFIG as EVENTS_CONFIG
from unpaid.i18n import activate, speaking
from unpaid.playbook.summary import summary_line

#: The two-letter playbook of the events tests, with a send window and no condition.
CONFIG = EVENTS_CONFIG.format(events="").replace('cap = false', 'cap = false\nwindow = { hours = "09:00-21:00" }') \
    .replace('when = ["not opened"]\n', "")
#: 22:00 in Moscow: the send window is closed, so the letters wait for 09:00 the next morning.
LATE = ["--now", "2026-11-24T22:00+03:00"]
MORNING = ["--now", "2026-11-25T09:30+03:00"]
UTC_STAMP = re.compile(r"\d{2}:\d{2}(:\d{2})?Z")


@pytest.fixture(autouse=True)
def _english_afterwards():
    """A command run in Russian leaves the process speaking it: later tests read English again."""
    yield
    activate("en")


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A CSV shop of ``n`` new orders and a two-letter playbook with a send window."""
    pytest.importorskip("unpaid_csv")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPay: {{ payment_link }}\n")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")

    def make(n: int = 2):
        rows = "".join(f"{i},2026-11-24T10:00:00+03:00,new,c{i}@example.com,c1,Course,1000\n" for i in range(1, n + 1))
        (tmp_path / "orders.csv").write_text("id,created_at,status,email,product_id,product,amount\n" + rows,
                                             encoding="utf-8")
        return tmp_path

    return make


@pytest.mark.parametrize("language, phrases", [
    ("ru", ["Почему", "Когда", "перенесено на окно отправки 09:00-21:00 каждый день",
            "отправить letter через email", "подходит под сегмент (1 ч после создания)",
            "через 1 д после предыдущего шага", "План: 4 действия, 2 входа в сценарий, 2 завершения"]),
    ("uk", ["Чому", "Коли", "перенесено на вікно надсилання 09:00-21:00 щодня",
            "надіслати letter через email", "відповідає сегменту (1 год після створення)",
            "через 1 д після попереднього кроку", "План: 4 дії, 2 входи в сценарій, 2 завершення"]),
])
def test_a_plan_reads_in_the_shops_language_with_local_times(cli, shop, language, phrases):
    shop(2)
    env = {"UNPAID_LANG": language}
    assert cli([*LATE, "sync"], env=env).exit_code == 0
    result = cli([*LATE, "plan", "--until", "+2d"], env=env)
    assert result.exit_code == 0, result.output
    said = result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in said, (phrase, said)
    # times for people are the shop's (Moscow), never UTC stamps
    assert "2026-11-25 09:00" in result.stdout and "2026-11-24 11:00" in result.stdout
    assert not UTC_STAMP.search(said), said


def test_plan_as_json_stays_english_whatever_the_language(cli, shop):
    shop(2)
    env = {"UNPAID_LANG": "ru"}
    assert cli([*LATE, "sync"], env=env).exit_code == 0
    rows = cli([*LATE, "plan", "--format", "json"], env=env).json()
    english = cli([*LATE, "plan", "--format", "json"], env={"UNPAID_LANG": "en"}).json()
    assert rows == english
    reasons = [r["reason"] for r in rows]
    assert "matches the segment (1h after creation)" in reasons
    assert any(r.startswith("send letter via email: at entry; deferred to the send window 09:00-21:00 every day")
               for r in reasons), reasons
    assert {r["kind"] for r in rows} == {"enter", "act later"}


@pytest.mark.parametrize("n, ru, uk", [
    (1, "1 действие к выполнению: выполнено: 1; 1 заказ вошёл в сценарий",
     "1 дія до виконання: виконано: 1; 1 замовлення увійшло в сценарій"),
    (2, "2 действия к выполнению: выполнено: 2; 2 заказа вошли в сценарий",
     "2 дії до виконання: виконано: 2; 2 замовлення увійшли в сценарій"),
    (5, "5 действий к выполнению: выполнено: 5; 5 заказов вошли в сценарий",
     "5 дій до виконання: виконано: 5; 5 замовлень увійшли в сценарій"),
    (21, "21 действие к выполнению: выполнено: 21; 21 заказ вошёл в сценарий",
     "21 дія до виконання: виконано: 21; 21 замовлення увійшло в сценарій"),
])
def test_the_run_summary_counts_in_the_right_plural_form(n, ru, uk):
    counts = {"done": n, "entered": n}
    with speaking("ru"):
        assert summary_line(counts) == ru
    with speaking("uk"):
        assert summary_line(counts) == uk
    assert summary_line(counts) == f"{n} action{'s' if n != 1 else ''} due: {n} done; " \
                                   f"{n} order{'s' if n != 1 else ''} entered"


@pytest.mark.parametrize("n, ru, uk", [
    (1, "1 действие к выполнению: выполнено: 1; 1 заказ вошёл в сценарий",
     "1 дія до виконання: виконано: 1; 1 замовлення увійшло в сценарій"),
    (5, "5 действий к выполнению: выполнено: 5; 5 заказов вошли в сценарий",
     "5 дій до виконання: виконано: 5; 5 замовлень увійшли в сценарій"),
])
@pytest.mark.parametrize("language", ["ru", "uk"])
def test_a_run_reports_in_russian_and_ukrainian(cli, shop, n, ru, uk, language):
    shop(n)
    summary, sent, headers = {
        "ru": (ru, "Отправлено 'letter' на c1@example.com через email", ("Пора", "Выполнено", "Подробности")),
        "uk": (uk, "Надіслано 'letter' на c1@example.com через email", ("Час", "Виконано", "Подробиці")),
    }[language]
    env = {"UNPAID_LANG": language}
    assert cli([*MORNING, "sync"], env=env).exit_code == 0
    result = cli([*MORNING, "run"], env=env)
    assert result.exit_code == 0, result.output
    assert summary in result.stderr, result.stderr
    assert sent in result.stdout and all(h in result.stdout for h in headers), result.stdout
    assert "2026-11-25 09:30" in result.stdout and not UTC_STAMP.search(result.stdout + result.stderr)
    # the next run has nothing due; the store keeps English for history and JSON
    assert cli([*MORNING, "run"], env=env).stderr.strip().endswith(
        {"ru": "ничего не было к выполнению.", "uk": "нічого не було до виконання."}[language])


def test_run_as_json_stays_english(cli, shop):
    shop(2)
    env = {"UNPAID_LANG": "uk"}
    assert cli([*MORNING, "sync"], env=env).exit_code == 0
    rows = cli([*MORNING, "run", "--format", "json"], env=env).json()
    assert {r["result"] for r in rows} == {"entered", "done"}
    assert "Sent 'letter' to c1@example.com via email" in [r["detail"] for r in rows]


def test_plan_summary_and_check_count_in_plural_forms(cli, shop):
    folder = shop(21)
    (folder / "playbooks.toml").write_text(CONFIG[CONFIG.index("[playbooks.mailing]"):], encoding="utf-8")
    env = {"UNPAID_LANG": "ru"}
    assert cli([*LATE, "sync"], env=env).exit_code == 0
    assert "План: 21 действие, 21 вход в сценарий" in cli([*LATE, "plan"], env=env).stderr
    checked = cli(["playbooks", "check", "playbooks.toml"], env={"UNPAID_LANG": "uk"})
    assert "ok  mailing: 2 кроки" in checked.stdout, checked.output
    assert "ok  канал email" in checked.stdout


def test_the_store_keeps_english_and_a_plan_shows_it_in_the_shops_language(cli, shop):
    shop(1)
    env = {"UNPAID_LANG": "ru"}
    assert cli([*MORNING, "sync"], env=env).exit_code == 0
    for day in ("2026-11-25T09:30+03:00", "2026-11-26T09:30+03:00"):
        assert cli(["--now", day, "run"], env=env).exit_code == 0
    later = ["--now", "2026-11-27T10:00+03:00", "plan", "--order", "shop:1"]
    assert "вышел из сценария: все шаги выполнены" in cli(later, env=env).stdout
    [row] = cli([*later, "--format", "json"], env=env).json()
    assert row["reason"] == "left the playbook: all steps done"
