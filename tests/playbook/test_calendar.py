"""The shop's ``[calendar]`` holds for every playbook's send window: `plan` says so and `run` does it."""

from datetime import timedelta

from tests.playbook.shop import at, order

HOUR = timedelta(hours=1)


def test_a_windowed_step_never_lands_on_a_holiday_or_a_day_off(shop):
    config = shop.root / "unpaid.toml"
    config.write_text(config.read_text() + '\n[calendar]\ndays_off = ["fri"]\nholidays = ["2026-11-25"]\n')
    created = at("2026-11-23T12:00")  # a Monday; the reminder is due on Wednesday, a holiday here
    shop.add(order("awo", "1", created, email="a@example.com"))
    rows = shop.plan(created + HOUR, "--until", "+1w", "--playbook", "awo_reminder")
    steps = [(r["step"], r["kind"], r["at"]) for r in rows if r["order_id"] == "awo:1"]
    assert steps[1:4] == [
        ("reminder", "act later", "2026-11-26T06:00:00Z"),  # Thursday 09:00 in Moscow, after the holiday
        ("offer", "act later", "2026-11-28T06:00:00Z"),  # a day later is Friday, a day off: Saturday
        ("offer_letter", "act later", "2026-11-28T06:00:00Z")]
    reminder = next(r for r in rows if r["step"] == "reminder")
    assert "except fri and 1 holiday" in reminder["reason"]

    sent = {}
    for row in shop.step_until(created + HOUR, created + timedelta(days=6), HOUR, "--playbook", "awo_reminder"):
        if row["result"] == "done" and row["action"] == "send":
            sent[row["step"]] = row["ran_at"]
    assert sent == {"reminder": at("2026-11-26T09:00"), "offer_letter": at("2026-11-28T09:00")}
