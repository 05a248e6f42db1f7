"""The wire format both the client and the emulator speak."""

import json

import pytest

from unpaid_autoweboffice.wire import decode_objects, encode_objects, is_no_items, parse_xml_items, search_params, xml_body


def test_xml_body_round_trips_items_and_ignores_element_names():
    body = xml_body([{"email": "a@b.ru", "name": "Анна & Co"}, {"email": "c@d.ru"}])
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?><root><item>')
    assert parse_xml_items(body) == [{"email": "a@b.ru", "name": "Анна & Co"}, {"email": "c@d.ru"}]
    other = "<accounts><account><email>x@y.ru</email></account></accounts>".encode()
    assert parse_xml_items(other) == [{"email": "x@y.ru"}]


def test_concatenated_objects_decode_one_by_one():
    assert decode_objects('{"a": "1"}{"b": "2"}\n') == [{"a": "1"}, {"b": "2"}]
    assert decode_objects(encode_objects([{"a": "1"}])) == [{"a": "1"}]
    with pytest.raises(json.JSONDecodeError):
        decode_objects('{"a": "1"}<html>')


def test_search_params_are_php_bracket_pairs_with_zero_based_pages():
    pairs = search_params({"email": "a@b.ru", "id_newsletter_arr": [1, 2]}, page=0, page_size=1000,
                          sort="date_of_order ASC")
    assert pairs == [("search[email]", "a@b.ru"), ("search[id_newsletter_arr][]", "1"),
                     ("search[id_newsletter_arr][]", "2"), ("param[pagesize]", "1000"), ("param[currentpage]", "0"),
                     ("param[sort]", "date_of_order ASC")]


def test_no_items_text_is_recognised():
    assert is_no_items("No items where found for model Accounts.")
    assert not is_no_items('[{"id": "1"}]')
