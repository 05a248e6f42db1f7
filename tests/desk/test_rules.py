"""Outcome rules, pure: outcome + options + earlier calls + now + settings -> plan."""

from datetime import date, datetime, timedelta, timezone

import pytest

from unpaid.desk.rules import CallFacts, OutcomeOptions, canonical, plan_outcome, postpone_limit
from unpaid.desk.settings import parse_desk
from unpaid.errors import ConfigError, InputError
from unpaid.model import Status

UTC = timezone.utc
MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
S = parse_desk({"hours": "09:00-20:00"})
REASONS = ("Too expensive", "Changed mind")


def plan(outcome, opts=OutcomeOptions(), calls=(), now=MON_10, settings=S):
    return plan_outcome(outcome, opts, CallFacts(calls), now, settings, UTC, REASONS)


def test_no_answer_retries_later_today_then_tomorrow_at_another_time_then_gives_up():
    first = plan("no_answer")
    assert first.next_call == MON_10 + timedelta(hours=3) and first.status is None
    second = plan("voicemail", calls=[("no_answer", MON_10)], now=MON_10 + timedelta(hours=3))
    assert (second.outcome, second.detail) == ("no_answer", "voicemail")
    # calls_per_day = 2 reached: tomorrow, shifted by the retry gap (16:00 instead of 13:00)
    assert second.next_call == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    five = [("no_answer", MON_10 + timedelta(days=d)) for d in range(5)]
    last = plan("no_answer", calls=five, now=MON_10 + timedelta(days=5))
    assert last.status is Status.NOT_CONFIRMED and last.send == ("unreachable",) and last.next_call is None
    # a conversation in between starts the count again
    reached = plan("no_answer", calls=five[:4] + [("thinking", MON_10)] + five[:1])
    assert reached.status is None and reached.data["attempt"] == 2


def test_a_late_retry_moves_into_the_next_days_calling_hours():
    evening = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    p = plan("no_answer", now=evening)
    # 21:30 is after hours, and so is 21:30 tomorrow: tomorrow at the start of calling hours
    assert p.next_call == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_callback_needs_a_future_time():
    at = MON_10 + timedelta(hours=8)
    assert plan("callback", OutcomeOptions(at=at)).next_call == at
    with pytest.raises(InputError, match="needs --at"):
        plan("callback")
    with pytest.raises(InputError, match="is in the past"):
        plan("callback", OutcomeOptions(at=MON_10 - timedelta(minutes=1)))


def test_promise_pauses_until_the_day_and_caps_the_follow_up():
    p = plan("promised", OutcomeOptions(on=date(2026, 11, 27)))
    assert p.status is Status.PAYMENT_WAITING
    assert p.pause_until == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert p.next_call == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert p.data["promised_on"] == "2026-11-27"
    late = OutcomeOptions(on=date(2026, 11, 27), call_on=datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    with pytest.raises(InputError, match="more than 3d after the promised day 2026-11-27"):
        plan("promised", late)
    forced = plan("promised", OutcomeOptions(on=late.on, call_on=late.call_on, force=True))
    assert forced.next_call == late.call_on
    with pytest.raises(InputError, match="is in the past"):
        plan("promised", OutcomeOptions(on=date(2026, 11, 22)))
    assert postpone_limit(date(2026, 11, 27), S, UTC) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_thinking_says_paid_and_wrong_number_come_back_in_days():
    assert plan("thinking").next_call == MON_10 + timedelta(days=2)
    assert plan("thinking", OutcomeOptions(days=3)).next_call == MON_10 + timedelta(days=3)
    paid = plan("says_paid")
    assert paid.send == ("ask_proof",) and paid.next_call == MON_10 + timedelta(days=2)
    assert plan("no_phone").send == ("ask_phone",) and plan("no_phone").outcome == "wrong_number"


def test_installments_keep_the_call_open_a_day_on_and_ask_for_their_message():
    wants = plan("installments", OutcomeOptions(comment="3 payments"))
    assert (wants.outcome, wants.status, wants.send) == ("installments", None, ("installments",))
    assert wants.next_call == MON_10 + timedelta(days=1) and wants.summary == "wants installments; next call " \
        "2026-11-24 10:00"
    assert plan("installments", OutcomeOptions(days=4)).next_call == MON_10 + timedelta(days=4)
    assert plan("installments", settings=parse_desk({"installments": "3d"})).next_call == MON_10 + timedelta(days=3)
    late = plan("installments", now=MON_10.replace(hour=20, minute=30))  # a day on is after hours
    assert late.next_call == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    with pytest.raises(InputError, match="--reason does not apply to the outcome installments"):
        plan("installments", OutcomeOptions(reason="Too expensive"))


def test_refusal_needs_a_known_reason_and_duplicates_become_false():
    refused = plan("refused", OutcomeOptions(reason="too EXPENSIVE"))
    assert (refused.status, refused.reason) == (Status.CANCELLED, "Too expensive")
    with pytest.raises(InputError, match="refused needs --reason"):
        plan("refused")
    with pytest.raises(InputError, match="not one of the cancel reasons"):
        plan("refused", OutcomeOptions(reason="bored"))
    assert plan("duplicate").status is Status.FALSE
    assert plan("mistake").reason == "Created by mistake"


def test_unknown_outcomes_and_stray_options_are_refused():
    with pytest.raises(InputError, match="unknown call outcome 'hung_up'.*use one of: no_answer"):
        canonical("hung_up")
    with pytest.raises(InputError, match="--at does not apply to the outcome thinking"):
        plan("thinking", OutcomeOptions(at=MON_10 + timedelta(hours=1)))
    assert canonical("No Answer") == ("no_answer", None)


def test_settings_are_checked():
    assert parse_desk({"attempts": 3, "lease": "30m"}).lease == timedelta(minutes=30)
    for raw, message in [({"lease": "soon"}, "desk.lease"), ({"attempts": 0}, "desk.attempts"),
                         ({"colour": "red"}, "desk.colour` is not a desk setting"),
                         ({"hours": "9-5"}, "desk.hours must look like"),
                         ({"templates": {"bye": "x"}}, "desk.templates.bye")]:
        with pytest.raises(ConfigError, match=message):
            parse_desk(raw)
