from datetime import timedelta
from pathlib import Path

import pytest

from unpaid.config import Config, find_config, load_config, parse_config
from unpaid.errors import ConfigError


def write(tmp_path, text, name="unpaid.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sources_and_defaults(tmp_path):
    cfg = parse_config(write(tmp_path, '''
timezone = "Europe/Moscow"
db = "state/unpaid.db"
[sources.shop]
type = "csv"
path = "orders.csv"
[sources.school-1]
type = "getcourse"
account = "myschool"
'''))
    assert set(cfg.sources) == {"shop", "school-1"}
    assert cfg.sources["shop"].settings == {"path": "orders.csv"}
    assert cfg.db == tmp_path / "state" / "unpaid.db"
    assert cfg.resolve("orders.csv") == tmp_path / "orders.csv"
    assert "Too expensive" in cfg.cancel_reasons
    assert cfg.same_product_within == timedelta(days=30)
    assert parse_config(write(tmp_path, 'same_product_within = "2w"\n')).same_product_within == timedelta(days=14)


@pytest.mark.parametrize("text, fragment", [
    ('[sources.shop]\npath = "x.csv"\n', "`sources.shop.type` is missing"),
    ('[sources.Shop]\ntype = "csv"\n', "`sources.Shop` has an invalid name"),
    ('timezone = "Mars/Base"\n', "`timezone` unknown time zone"),
    ('colour = "red"\n', "`colour` is not a known setting"),
    ('cancel_reasons = []\n', "`cancel_reasons` must be a non-empty list"),
    ('default_country = "ru"\n', "`default_country`"),
    ('same_product_within = "a month"\n', "`same_product_within` not a duration: 'a month'"),
    ('same_product_within = "0d"\n', "`same_product_within` is '0d': a purchase needs a window longer than 0"),
    ('same_product_within = 30\n', "`same_product_within` is 30, not a duration"),
])
def test_errors_name_the_file_and_key(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_config(path)
    assert str(path) in str(info.value) and fragment in str(info.value)
    assert info.value.fix


def test_malformed_toml_names_the_line(tmp_path):
    path = write(tmp_path, 'timezone = "UTC"\n[sources.shop\ntype = "csv"\n')
    with pytest.raises(ConfigError, match=r"invalid TOML.*line 2"):
        parse_config(path)


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "unpaid.toml"
    path.write_bytes('timezone = "Европа"\n'.encode("cp1251"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(path)


def test_lookup_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert find_config(None) is None
    assert load_config(None) == Config()
    local = write(tmp_path, 'timezone = "UTC"\n')
    assert find_config(None) == local
    other = write(tmp_path, 'timezone = "Europe/Kyiv"\n', "other.toml")
    assert load_config(str(other)).timezone == "Europe/Kyiv"
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(str(tmp_path / "missing.toml"))


def test_unknown_source_lists_configured(tmp_path):
    cfg = parse_config(write(tmp_path, '[sources.shop]\ntype = "csv"\n'))
    with pytest.raises(ConfigError, match=r"unknown source 'shpo'.*shop"):
        cfg.source("shpo")
