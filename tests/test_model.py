from datetime import datetime, timezone

import pytest

from unpaid.model import ACTUAL, Customer, Money, Status, normalize_email, normalize_phone, split_order_id


@pytest.mark.parametrize("text, minor", [
    ("12 000,00", 1_200_000),
    ("12\u00a0000,50", 1_200_050),
    ("990.00", 99_000),
    ("1,234.50", 123_450),
    ("1.234,50", 123_450),
    ("4990", 499_000),
    ("4 990 ₽", 499_000),
    ("0,5", 50),
    ("", 0),
])
def test_money_parses_russian_and_plain_formats(text, minor):
    assert Money.parse(text, "RUB").minor == minor


@pytest.mark.parametrize("text", ["abc", "12-34", "nan", "1e"])
def test_money_rejects_garbage_with_the_text(text):
    with pytest.raises(ValueError, match="not an amount"):
        Money.parse(text)


def test_money_is_integer_minor_units():
    assert Money.parse(19.99).minor == 1999
    assert str(Money(1_200_050, "RUB")) == "12 000.50 RUB"


def test_actual_excludes_finished_statuses():
    assert ACTUAL == {Status.NEW, Status.IN_WORK, Status.PAYMENT_WAITING, Status.NOT_CONFIRMED, Status.PART_PAID}
    assert not Status.PAID.is_actual and Status.PART_PAID.is_actual


@pytest.mark.parametrize("text, status", [
    ("new", Status.NEW), ("Completed", Status.PAID), ("In work", Status.IN_WORK),
    ("waiting for payment", Status.PAYMENT_WAITING), ("canceled", Status.CANCELLED), ("FALSE", Status.FALSE),
])
def test_status_parse_accepts_codes_and_labels(text, status):
    assert Status.parse(text) is status


def test_status_parse_lists_choices():
    with pytest.raises(ValueError, match="use one of: new, in_work"):
        Status.parse("shipped")


@pytest.mark.parametrize("raw, country, expected", [
    ("8 (999) 123-45-67", "7", "+79991234567"),
    ("+7 999 123 45 67", "7", "+79991234567"),
    ("9991234567", "7", "+79991234567"),
    ("067 123 45 67", "380", "+380671234567"),
    ("380671234567", "380", "+380671234567"),
    ("0044 20 7946 0958", "7", "+442079460958"),
    ("12-34", "7", None),
    ("", "7", None),
])
def test_normalize_phone_to_e164(raw, country, expected):
    assert normalize_phone(raw, country) == expected


def test_customer_key_prefers_email_then_phone():
    assert Customer(email=" Anna@Example.COM ", phone="+79991234567").key == "anna@example.com"
    assert Customer(email="not-an-email", phone="8 999 123 45 67").key == "+79991234567"
    assert Customer().key is None
    assert normalize_email("@x") is None


def test_order_id_splits_on_first_colon():
    assert split_order_id("gc:123:4") == ("gc", "123:4")
    with pytest.raises(ValueError, match="SOURCE:NATIVE_ID"):
        split_order_id("123")
