"""Wire format: params survive form encoding; the streaming export reader equals a plain load."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from unpaid_getcourse import wire


def test_params_survive_form_encoding_with_plus_slash_and_equals():
    params = {"user": {"email": "a+b@x.ru", "first_name": "Ёж?>>"}, "deal": {"deal_comment": "ÿÿÿ"}}
    encoded = wire.encode_params(params)
    assert set("+/=") & set(encoded)  # the characters that break unencoded forms are there
    body = urlencode({"params": encoded})
    assert wire.decode_params(dict(parse_qsl(body))["params"]) == params


def test_garbled_params_are_refused():
    with pytest.raises(ValueError):
        wire.decode_params("not base64!")


def test_streaming_reader_matches_json_load_on_a_large_answer():
    rows = [[str(i), "Новый", "12\u00a0000,00", 'кавычки "и" \\ слеш'] for i in range(40_000)]
    text = json.dumps({"success": True, "info": {"fields": ["ID заказа", "Статус", "Стоимость", "x"],
                                                 "items": rows}}, ensure_ascii=False)
    assert len(text) > 1 << 21
    events = list(wire.read_export(io.StringIO(text)))
    assert events[0] == ("meta", {"success": True})
    assert events[1] == ("fields", ["ID заказа", "Статус", "Стоимость", "x"])
    assert [v for k, v in events[2:]] == rows


def test_reader_reports_errors_and_truncation():
    events = list(wire.read_export(io.StringIO(json.dumps(wire.error(wire.NOT_READY)))))
    assert events == [("meta", wire.error(wire.NOT_READY))]
    big = '{"success":true,"info":{"fields":["a"],"items":[' + ",".join(['["x"]'] * 300_000)
    with pytest.raises(ValueError):
        list(wire.read_export(io.StringIO(big)))
