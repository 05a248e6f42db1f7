"""Names split for greetings: surname-first exports, customers' own order, patronymics."""

import pytest

from unpaid.names import PersonName, split_name


@pytest.mark.parametrize("full, expected", [
    ("Кузнецов Иван", PersonName("Иван", "", "Кузнецов")),
    ("Иван Кузнецов", PersonName("Иван", "", "Кузнецов")),
    ("Кузнецов Иван Петрович", PersonName("Иван", "Петрович", "Кузнецов")),
    ("Иван Петрович Кузнецов", PersonName("Иван", "Петрович", "Кузнецов")),
    ("Шевченко Олена Василівна", PersonName("Олена", "Василівна", "Шевченко")),
    ("Олена Шевченко", PersonName("Олена", "", "Шевченко")),
    ("Смирнова Ирина", PersonName("Ирина", "", "Смирнова")),  # -ина is a first name here, not a surname
    ("Константин Ильин", PersonName("Константин", "", "Ильин")),
    ("Petrova Anna", PersonName("Petrova", "", "Anna")),  # Latin script: as written, first name first
    ("Anna Petrova", PersonName("Anna", "", "Petrova")),
    ("Кузнецов", PersonName("", "", "Кузнецов")),
    ("Анна", PersonName("Анна", "", "")),
    ("  ", PersonName()),
    (None, PersonName()),
])
def test_auto_order(full, expected):
    assert split_name(full) == expected


def test_the_source_order_wins_over_the_guess():
    assert split_name("Petrova Anna", "last_first") == PersonName("Anna", "", "Petrova")
    assert split_name("Кузнецов Иван", "first_last") == PersonName("Кузнецов", "", "Иван")


def test_the_polite_greeting_uses_the_patronymic_when_known():
    assert split_name("Кузнецов Иван Петрович").greeting == "Иван Петрович"
    assert split_name("Кузнецов Иван").greeting == "Иван"


def test_letters_greet_by_first_name_and_patronymic_as_the_source_writes_names(tmp_path):
    from datetime import datetime, timezone

    from unpaid.model import Customer, LineItem, Money, Order, Status
    from unpaid.templates import context

    created = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    order = Order("shop", "1", Status.NEW, created, Money(1290000, "RUB"), Customer("i@example.com", None,
                  "Кузнецов Иван Петрович"), (LineItem("c", "Курс"),))
    customer = context(order, now=created)["customer"]
    assert (customer["first_name"], customer["middle_name"], customer["last_name"]) == ("Иван", "Петрович", "Кузнецов")
    assert customer["greeting_name"] == "Иван Петрович"
    assert context(order, now=created, name_order="first_last")["customer"]["first_name"] == "Кузнецов"


def test_a_wrong_name_order_is_a_config_error_naming_the_key(tmp_path):
    from unpaid.config import load_config
    from unpaid.errors import ConfigError

    path = tmp_path / "unpaid.toml"
    path.write_text('[sources.shop]\ntype = "csv"\npath = "o.csv"\nname_order = "surname"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(str(path))
    assert "sources.shop.name_order" in str(exc.value) and "last_first" in (exc.value.fix or "")
