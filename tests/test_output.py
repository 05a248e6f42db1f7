import csv
import io
import json

from unpaid.output import Column, csv_safe, render, render_one

ROWS = [{"id": "shop:1", "name": "=HYPERLINK(\"http://evil\")", "total": 1500, "tags": ["a", "b"]},
        {"id": "shop:2", "name": "Анна", "total": -5, "tags": []}]


def test_json_is_a_streamed_array_of_the_full_rows():
    out = io.StringIO()
    assert render(iter(ROWS), "json", out) == 2
    assert json.loads(out.getvalue()) == ROWS


def test_empty_json_is_an_empty_array():
    out = io.StringIO()
    render([], "json", out)
    assert json.loads(out.getvalue()) == []


def test_jsonl_one_object_per_line():
    out = io.StringIO()
    render(ROWS, "jsonl", out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == ROWS


def test_csv_neutralizes_formulas_but_keeps_numbers():
    out = io.StringIO()
    render(ROWS, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["name"].startswith("'=")
    assert rows[1]["total"] == "-5"
    assert rows[0]["tags"] == '["a", "b"]'
    for bad in ("+1+2", "-1+cmd", "@SUM(A1)", "\tx", "＝1"):
        assert csv_safe(bad).startswith("'")
    assert csv_safe("Anna") == "Anna"
    out = io.StringIO()
    render([{"v": bad} for bad in ("+1+2", "-1+cmd", "@SUM(A1)", "\tx", "＝1", "Anna")], "csv", out)
    assert [r["v"] for r in csv.DictReader(io.StringIO(out.getvalue()))] == [
        csv_safe(v) for v in ("+1+2", "-1+cmd", "@SUM(A1)", "\tx", "＝1", "Anna")]


def test_table_uses_chosen_columns_and_formatters():
    out = io.StringIO()
    render(ROWS, "table", out, [Column("id", "ID"), Column("total", "Sum", lambda v: f"{v / 100:.2f}")])
    text = out.getvalue()
    assert "ID" in text and "15.00" in text and "HYPERLINK" not in text


def test_render_one_as_json_and_lines():
    out = io.StringIO()
    render_one({"id": "shop:1", "paid": False}, "json", out)
    assert json.loads(out.getvalue()) == {"id": "shop:1", "paid": False}
    out = io.StringIO()
    render_one({"id": "shop:1", "paid": False}, "table", out)
    assert "paid  no" in out.getvalue()


def test_rows_read_before_a_failure_are_written_before_it_propagates():
    import io

    import pytest

    from unpaid.output import render

    def rows():
        yield {"a": 1}
        yield {"a": 2}
        raise RuntimeError("the source broke")

    for fmt, expected in (("jsonl", '{"a": 1}\n{"a": 2}\n'), ("json", '[\n  {"a": 1},\n  {"a": 2}')):
        out = io.StringIO()
        with pytest.raises(RuntimeError):
            render(rows(), fmt, out)
        assert out.getvalue() == expected
