"""A manager's desk session in Russian and Ukrainian: queue, take/next cards, outcomes, postpone and review.

The shop works in Moscow time (UTC+3); money is roubles (Russian) or hryvnias (Ukrainian). Machine output (``--format json``) stays English.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.desk.conftest import make_order
from unpaid.model import Money
from unpaid.testing.fakes import BACKENDS, MemoryPlugin, backend

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)  # 12:00 in Moscow, a Tuesday
CONFIG = """
timezone = "Europe/Moscow"
default_country = "7"
cancel_reasons = ["Дорого", "Передумал"]

[sources.shop]
type = "memory"

[channels.email]
type = "outbox"
path = "outbox"
"""


class Session:
    """The CLI in one language against a real store and the memory source ``shop``."""

    def __init__(self, root, cli, language: str, db: str):
        self.root, self.cli, self.language, self.db = root, cli, language, db

    def add(self, count: int = 1, start: int = 1) -> list[str]:
        from unpaid.store import Store
        from unpaid.store.tasks import Tasks

        orders = [make_order(str(n), name="Иван Петров", phone="+79161234567", email="ivan@example.com",
                             age=timedelta(days=1, minutes=n))
                  for n in range(start, start + count)]
        currency = "RUB" if self.language == "ru" else "UAH"  # a Russian school, a Ukrainian pharmacy
        orders = [o.__class__(**{**o.__dict__, "total": Money(1290000, currency)}) for o in orders]
        with Store.open(self.db) as store:
            with store.transaction():
                store.orders.upsert(orders, NOW)
            for o in orders:
                Tasks(store).create(f"{o.id}|pb|call|0", order_id=o.id, playbook="pb", step="call",
                                    due_at=NOW - timedelta(hours=1), script="Поздороваться", attempts=1,
                                    now=NOW - timedelta(hours=1))
        for o in orders:
            backend("shop").put(o)
        return [o.id for o in orders]

    def __call__(self, args: str, now: datetime = NOW, code: int = 0, fmt: str | None = None):
        import shlex

        argv = ["--now", now.isoformat()] + (["--format", fmt] if fmt else []) + shlex.split(args)
        result = self.cli(argv, env={"UNPAID_LANG": self.language})
        assert result.exit_code == code, (args, result.output)
        return result

    def hold(self, count: int, attempts: int = 0) -> None:
        """``count`` actions held for review: of unknown outcome, or (``attempts``) given up after that many."""
        from unpaid.playbook.planner import GAVE_UP
        from unpaid.store import Store
        from unpaid.store.ledger import FAILED, UNCERTAIN

        with Store.open(self.db) as store:
            for n in range(count):
                key = f"shop:1|pb|letter|{n}"
                for attempt in range(max(attempts, 1)):
                    run = f"run{n}x{attempt}"
                    at = NOW - timedelta(hours=2) + timedelta(seconds=attempt)
                    assert store.ledger.claim(key, order_id="shop:1", playbook="pb", step="letter", repeat=n,
                                              action="send", due_at=at, run_id=run, now=at,
                                              lease_until=at + timedelta(minutes=15))
                    if not attempts:
                        store.ledger.finish(key, run, UNCERTAIN, at, error="timeout")
                    else:
                        last = attempt == attempts - 1
                        store.ledger.finish(key, run, FAILED, at, error="550 mailbox full",
                                            next_try_at=GAVE_UP if last else None)


@pytest.fixture(params=["ru", "uk"])
def session(request, tmp_path, cli, cli_db, register_plugin, monkeypatch):
    BACKENDS.clear()
    register_plugin(MemoryPlugin, name="memory")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "templates").mkdir()
    monkeypatch.setenv("UNPAID_CONFIG", str(tmp_path / "unpaid.toml"))
    yield Session(tmp_path, cli, request.param, cli_db)
    BACKENDS.clear()


def said(session: Session, ru: str, uk: str) -> str:
    return ru if session.language == "ru" else uk


@pytest.mark.parametrize("count, ru, uk", [
    (1, "Сегодня: 1 заказ для звонка", "Сьогодні: 1 замовлення для дзвінка"),
    (2, "Сегодня: 2 заказа для звонка", "Сьогодні: 2 замовлення для дзвінка"),
    (5, "Сегодня: 5 заказов для звонка", "Сьогодні: 5 замовлень для дзвінка"),
    (21, "Сегодня: 21 заказ для звонка", "Сьогодні: 21 замовлення для дзвінка"),
])
def test_the_queue_counts_orders_in_the_language_s_plural_forms(session, count, ru, uk):
    session.add(count)
    result = session("queue -m anna --limit 3")
    assert said(session, ru, uk) in result.stderr
    assert said(session, "показаны 1–", "показано 1–") in result.stderr
    assert said(session, "12 900,00 ₽", "12 900,00 грн") in result.stdout
    assert said(session, "клиент", "клієнт") in result.stdout
    assert said(session, "сумма", "сума") in result.stdout
    assert said(session, "попытки", "спроби") in result.stdout
    # Created 2026-11-23 09:00 UTC less a minute or so: in Moscow time.
    assert "2026-11-23 11:5" in result.stdout
    assert "RUB" not in result.stdout and "UAH" not in result.stdout and "Today" not in result.stderr


def test_the_take_card_and_the_next_card_speak_the_language(session):
    first, second = session.add(2)
    card = session(f"take {first} -m anna").stdout
    assert said(session, "закреплён за", "закріплено за") in card
    # The lease (2h) ends at 14:00 Moscow time, never a UTC stamp.
    assert said(session, "anna до 2026-11-24 14:00", "anna до 2026-11-24 14:00") in card
    assert said(session, "12 900,00 ₽", "12 900,00 грн") in card
    assert said(session, "предложение  нет", "пропозиція  немає").split()[0] in card
    assert said(session, "звонков было", "дзвінків було") in card
    assert said(session, "менеджер заказа здесь и в источнике", "менеджер замовлення тут і в джерелі") in card \
        or said(session, "менеджер заказа только в unpaid", "менеджер замовлення лише в unpaid") in card
    assert "held by" not in card and "until" not in card
    nxt = session("next -m boris").stdout
    assert second in nxt and said(session, "boris до 2026-11-24 14:00", "boris до 2026-11-24 14:00") in nxt
    taken = session(f"take {first} -m boris", code=1)
    assert said(session, f"{first} закреплён за anna до 2026-11-24 14:00",
                f"{first} закріплено за anna до 2026-11-24 14:00") in taken.stderr


def test_a_promise_a_refusal_and_a_postponement_in_the_language(session):
    promised, refused, later = session.add(3)
    out = session(f"outcome {promised} promised --on 2026-11-27 -m anna").stdout
    assert said(session, "обещание оплатить 2026-11-27; сценарии приостановлены до этого дня; следующий звонок "
                "2026-11-28 09:00", "обіцянка оплатити 2026-11-27; сценарії призупинено до цього дня; наступний "
                "дзвінок 2026-11-28 09:00") in out
    out = session(f"outcome {refused} refused --reason дорого -m anna").stdout
    assert said(session, "отказ: Дорого", "відмова: Дорого") in out
    again = session(f"outcome {refused} refused -m anna", code=2).stderr  # the order is cancelled now
    assert said(session, "по нему больше ничего делать не нужно", "з ним більше нічого робити не треба") in again
    missing = session(f"outcome {later} refused -m anna", code=2).stderr
    assert said(session, "для refused нужен --reason", "для refused потрібен --reason") in missing
    assert "Дорого, Передумал" in missing
    out = session(f"postpone {later} --days 2 -m anna").stdout
    assert said(session, f"{later}: следующий звонок 2026-11-26 12:00",
                f"{later}: наступний дзвінок 2026-11-26 12:00") in out
    # The history keeps English, whatever the manager reads.
    from unpaid.store import Store

    with Store.open(session.db) as store:
        summaries = [e.summary for e in store.history.for_order(promised)]
    assert any(s.startswith("call: promised to pay on 2026-11-27") for s in summaries), summaries
    assert any(s.startswith("status: New → Waiting for payment") for s in summaries), summaries


@pytest.mark.parametrize("attempt, ru, uk", [
    (1, "не дозвонились (1 попытка подряд)", "не додзвонилися (1 спроба поспіль)"),
    (2, "не дозвонились (2 попытки подряд)", "не додзвонилися (2 спроби поспіль)"),
    (5, "не дозвонились (5 попыток подряд)", "не додзвонилися (5 спроб поспіль)"),
])
def test_unanswered_calls_are_counted_in_the_language(session, attempt, ru, uk):
    [order] = session.add(1)
    config = session.root / "unpaid.toml"
    config.write_text(config.read_text() + "\n[desk]\nattempts = 30\ncalls_per_day = 30\nretry_gap = \"5m\"\n")
    for n in range(attempt):
        out = session(f"outcome {order} no_answer -m anna", now=NOW + timedelta(minutes=10 * n)).stdout
    assert said(session, ru, uk) in out
    assert said(session, "следующий звонок", "наступний дзвінок") in out


def test_ages_are_written_in_the_language():
    from unpaid.desk.rules import age
    from unpaid.i18n import speaking

    delta = timedelta(days=2, hours=3)
    with speaking("en"):
        assert age(delta) == "2d 3h"
    with speaking("ru"):
        assert age(delta) == "2 д 3 ч"
    with speaking("uk"):
        assert age(delta) == "2 д 3 год"


@pytest.mark.parametrize("count, ru, uk", [
    (1, "1 действие отложено на проверку.", "1 дію відкладено на перевірку."),
    (2, "2 действия отложено на проверку.", "2 дії відкладено на перевірку."),
    (5, "5 действий отложено на проверку.", "5 дій відкладено на перевірку."),
    (21, "21 действие отложено на проверку.", "21 дію відкладено на перевірку."),
])
def test_the_review_list_counts_held_actions(session, count, ru, uk):
    session.add(1)
    session.hold(count)
    result = session("review")
    assert said(session, ru, uk) in result.stderr
    assert said(session, "Отложено с", "Відкладено з") in result.stdout
    assert "2026-11-24 10:00" in result.stdout  # held at 07:00 UTC: 10:00 in Moscow
    settled = session("review resolve --all --as unsent")
    assert said(session, f"Закрыто: не отправлено: {count}.", f"Закрито: не надіслано: {count}.") in settled.stderr


@pytest.mark.parametrize("attempts, ru, uk", [
    (1, "прекращено после 1 попытки", "припинено після 1 спроби"),
    (2, "прекращено после 2 попыток", "припинено після 2 спроб"),
    (5, "прекращено после 5 попыток", "припинено після 5 спроб"),
    (21, "прекращено после 21 попытки", "припинено після 21 спроби"),
])
def test_a_given_up_action_says_after_how_many_attempts(session, attempts, ru, uk):
    session.add(1)
    session.hold(1, attempts=attempts)
    result = session("review")
    assert said(session, ru, uk) in result.stdout.replace("\n", " ")


def test_machine_output_stays_english(session):
    first, second = session.add(2)
    rows = json.loads(session("queue -m anna", fmt="json").stdout)
    assert rows[0]["total"]["minor"] == 1290000 and rows[0]["total"]["currency"] in ("RUB", "UAH")
    assert rows[0]["status_label"] == "New"
    card = json.loads(session(f"take {first} -m anna", fmt="json").stdout)
    assert card["status_label"] == "In work" and card["notes"][0].startswith("anna is the order's manager")
    done = json.loads(session(f"outcome {first} promised --on 2026-11-27 -m anna", fmt="json").stdout)
    assert done["summary"].startswith("promised to pay on 2026-11-27; playbooks paused until then")
    done = json.loads(session(f"outcome {second} refused --reason Дорого -m anna", fmt="json").stdout)
    assert done["summary"] == "refused: Дорого"
    session.hold(2)
    held = json.loads(session("review", fmt="json").stdout)
    assert [h["why"] for h in held] == ["timeout", "timeout"]
