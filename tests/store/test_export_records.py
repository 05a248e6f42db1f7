"""The export path builds each JSON record straight from the row; it must equal the record of the order."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.output import render
from unpaid.records import RECORD_COLUMNS, order_dict, row_record
from unpaid.store.orders import OrderQuery

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def generate(rng: random.Random, n: int) -> list[Order]:
    out = []
    for i in range(n):
        items = rng.choice([
            (), (LineItem("course", "Курс"),), (LineItem("course", "", 1, Money(1000, "USD")),),
            (LineItem("a", "A", 2, Money(500)), LineItem("b", "", 1, None)), (LineItem("c", "C", 3),),
        ])
        total = Money(rng.choice([0, 1000, 4990_00]), rng.choice(["RUB", "USD"]))
        out.append(Order(
            rng.choice(["shop", "gc"]), str(i), rng.choice(list(Status)), T0 + timedelta(seconds=rng.randrange(10**7)),
            total, Customer(rng.choice([None, "", " Anna@Example.com ", "bad"]), rng.choice([None, "8 999 123-45-67"]),
                            rng.choice([None, "Анна"])),
            items, number=rng.choice([None, f"N{i}"]), native_status=rng.choice([None, "pending"]),
            paid=rng.choice([None, Money(100, total.currency)]),
            updated_at=rng.choice([None, T0]), paid_at=rng.choice([None, T0 + timedelta(days=1)]),
            manager=rng.choice([None, "olga"]), payment_link=rng.choice([None, "https://pay/1"]),
            cancel_reason=rng.choice([None, "=2+2"]), extra=rng.choice([{}, {"utm": "x", "note": "ü"}])))
    return out


def test_export_records_equal_the_orders_records(tmp_store):
    with tmp_store.transaction():
        tmp_store.orders.upsert(generate(random.Random(7), 300), T0)
    # An older store's time written with an offset is read the same way as through an order.
    tmp_store.conn.execute("UPDATE orders SET updated_at = '2026-11-01T13:00:00+03:00' WHERE native_id = '5'")
    for query in (OrderQuery(statuses=None), OrderQuery(sort="amount"), OrderQuery(statuses=None, sort="oldest")):
        fast = list(tmp_store.orders.records(query))
        assert fast == [order_dict(o) for o in tmp_store.orders.query(query)]
        assert fast
    assert list(tmp_store.orders.records(OrderQuery(statuses=None), limit=5, offset=3)) == \
        [order_dict(o) for o in tmp_store.orders.query(OrderQuery(statuses=None), limit=5, offset=3)]


def test_export_json_texts_equal_the_records_encoded_compact(tmp_store):
    import io
    import json

    with tmp_store.transaction():
        tmp_store.orders.upsert(generate(random.Random(11), 300), T0)
    # Rows SQLite cannot build (lines, extra, an older time, a raw e-mail) are finished in Python, the same way.
    tmp_store.conn.execute("UPDATE orders SET extra = ?, items = ? WHERE native_id = '3'",
                           (json.dumps({"n": 1.5, "list": [1, 'a"b'], "x": None}),
                            json.dumps([["p", None, 2.0, 7], ["q", "Q\n\u0001", None, None]])))
    tmp_store.conn.execute("UPDATE orders SET name = 'Ann \"\\ \u0007 \u2028 Ёж', email = 'a@b.c' WHERE native_id = '4'")
    tmp_store.conn.execute("UPDATE orders SET updated_at = '2026-11-01T13:00:00+03:00' WHERE native_id = '5'")
    query = OrderQuery(statuses=None)
    texts = _texts(tmp_store.orders.export(query, "json"))
    records = list(tmp_store.orders.records(query))
    assert len(texts) == 300 and [json.loads(t) for t in texts] == records
    assert texts == [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    assert sum(t.count('"extra":{}') for t in texts) > 100  # most came from SQLite, the rest from Python
    for fmt in ("json", "jsonl"):
        out = io.StringIO()
        render(iter(texts), fmt, out, encoded=True)
        assert json.loads(out.getvalue()) if fmt == "json" else [json.loads(x) for x in out.getvalue().split("\n")[:-1]]


def test_export_csv_cells_equal_the_flattened_records(tmp_store):
    import io
    import json

    from unpaid.records import CSV_HEADER, flat_order, row_csv
    from unpaid.output import write_csv

    with tmp_store.transaction():
        tmp_store.orders.upsert(generate(random.Random(13), 300), T0)
    tmp_store.conn.execute("UPDATE orders SET extra = ?, items = ?, name = '@SUM(A1)', manager = '\uff1dx' "
                           "WHERE native_id = '3'", (json.dumps({"n": 1.5}), json.dumps([["-p", None, 2, 7]])))
    rows = [tuple(r) for r in tmp_store.conn.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM orders")]
    fast, slow = io.StringIO(), io.StringIO()
    assert write_csv(CSV_HEADER, map(row_csv, rows), fast) == len(rows)
    render((flat_order(row_record(r)) for r in rows), "csv", slow)
    assert fast.getvalue() and fast.getvalue() == slow.getvalue()
    assert "'@SUM(A1)" in fast.getvalue() and "'\uff1dx" in fast.getvalue() and "'+7" in fast.getvalue()
    empty = io.StringIO()
    assert write_csv(CSV_HEADER, iter(()), empty) == 0 and empty.getvalue() == ""


def _texts(blocks, fmt="json") -> list[str]:
    """The JSON texts of an export's blocks (a JSON text holds no line feed: only their separators do)."""
    out = []
    for block, rows in blocks:
        text = block.decode() if type(block) is bytes else block
        if fmt == "jsonl":
            assert text.endswith("\n")
            text = text[:-1]
        out += text.split(",\n  " if fmt == "json" else "\n")
        assert text.count("\n") == rows - 1
    return out


def _block_text(blocks) -> str:
    """An export's blocks as one text (CSV lines may hold a line feed of their own)."""
    return "".join(block.decode() if type(block) is bytes else block for block, _ in blocks)


def _python_texts(store, fmt) -> list[str]:
    """What the export wrote before SQLite built its texts: each row's record or CSV cells, in Python."""
    import csv
    import io
    import json

    from unpaid.records import row_csv

    rows = [tuple(r) for r in store.conn.execute(
        f"SELECT {', '.join(RECORD_COLUMNS)} FROM orders ORDER BY created_at DESC, id DESC").fetchall()]
    out = []
    for row in rows:
        if fmt == "csv":
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(row_csv(row))
            out.append(buf.getvalue()[:-1])
        else:
            out.append(json.dumps(row_record(row), ensure_ascii=False, separators=(",", ":")))
    return out


def test_export_texts_equal_pythons_across_chunk_edges(tmp_store, monkeypatch):
    """SQL-built and Python-built rows interleave across chunk edges and keep their order; cells with a quote,
    a comma, a line feed, a carriage return, a leading formula character, Cyrillic and NULLs come out as the
    csv and json modules write them."""
    import csv
    import io
    import json

    import unpaid.store.orders as orders_module

    rng = random.Random(5)
    orders = []
    for i in range(60):
        orders.append(Order(
            "shop", str(i), rng.choice([Status.NEW, Status.PAID, Status.PAYMENT_WAITING, Status.CANCELLED]),
            T0 + timedelta(minutes=i // 2), Money(rng.choice([0, 1000, 4990_00]), "RUB"),
            Customer(f"c{i}@example.com", rng.choice([None, "+79991234567"]), rng.choice([None, "Анна", "Ann"])),
            rng.choice([(), (LineItem("course", "Курс"),)]) if i % 7 else
            (LineItem("a", "A", 2, Money(500)), LineItem("b", "", 1, None)),
            number=rng.choice([None, f"N{i}"]), paid=rng.choice([None, Money(100)]),
            updated_at=rng.choice([None, T0]), manager=rng.choice([None, "olga"])))
    with tmp_store.transaction():
        tmp_store.orders.upsert(orders, T0)
    specials = {"1": ("name", 'Ann "the" Smith'), "2": ("name", "Smith, Ann"), "3": ("cancel_reason", "line\nbreak"),
                "4": ("manager", "=cmd|' /C calc'!A0"), "5": ("name", "ca\rret"), "6": ("product_title", 'Курс "A"'),
                "8": ("payment_link", "@SUM(A1)"), "9": ("native_status", "-x"), "10": ("phone", "\uff0b7999"),
                "11": ("name", "\tTab"), "12": ("currency", "R,B"), "13": ("email", "Upper@Example.com"),
                "15": ("number", "+1"), "16": ("product_key", 'p"k\\'), "17": ("manager", "\u0007bell"),
                # The characters SQLite's block writes for its separators, quotes and pads, in the data itself.
                "18": ("name", "a\x1fb"), "19": ("manager", "x\x1ay"), "22": ("cancel_reason", "r\x1e"),
                "23": ("product_title", "\x1dT\x1c"), "24": ("payment_link", "https://pay/?a=1&b=-2"),
                "25": ("total_minor", -500), "26": ("name", "\uff20x"), "27": ("name", "Ёлка \\ ёж"),
                # E-mails that are not their key (a control character, a DEL, a space around, not ASCII), and
                # one that is (a space inside).
                "28": ("email", "a\x01b@x.com"), "29": ("email", "d\x7f@x.com"), "30": ("email", "a b@x.com"),
                "31": ("email", "a@x.com "), "32": ("email", "ёж@x.com"), "33": ("email", "\ta@x.com")}
    with tmp_store.transaction():
        for native_id, (column, value) in specials.items():
            tmp_store.conn.execute(f"UPDATE orders SET {column} = ? WHERE native_id = ?", (value, native_id))
        tmp_store.conn.execute("UPDATE orders SET extra = ? WHERE native_id = '20'", (json.dumps({"utm": "x"}),))
        tmp_store.conn.execute("UPDATE orders SET updated_at = '2026-11-01T13:00:00+03:00' WHERE native_id = '21'")
    query = OrderQuery(statuses=None)
    if not tmp_store.postgres:  # all kinds are there: lines SQLite wrote whole, lines its block check refused,
        # rows Python finished
        from unpaid.records import csv_block, csv_block_select

        built = [line and csv_block([line]) for (line,) in tmp_store.conn.execute(
            f"SELECT {csv_block_select()} FROM orders")]
        assert sum(1 for b in built if b) > 10 and built.count(None) >= 10
    for chunk in (1, 3, 7, 2000):
        monkeypatch.setattr(orders_module, "_EXPORT_CHUNK", chunk)
        for fmt in ("csv", "jsonl", "json"):
            blocks = list(tmp_store.orders.export(query, fmt))
            assert sum(rows for _, rows in blocks) == 60 and len(blocks) == -(-60 // chunk)
            if fmt == "csv":
                assert _block_text(blocks) == "".join(t + "\n" for t in _python_texts(tmp_store, fmt)), chunk
            else:
                assert _texts(blocks, fmt) == _python_texts(tmp_store, fmt), (fmt, chunk)
        assert _block_text(tmp_store.orders.export(query, "csv", limit=5, offset=4)) == \
            "".join(t + "\n" for t in _python_texts(tmp_store, "csv")[4:9])
    lines = _python_texts(tmp_store, "csv")
    assert any(line.startswith("shop:") and "\"Ann \"\"the\"\" Smith\"" in line for line in lines)
    assert any("'=cmd" in line for line in lines) and any("'@SUM(A1)" in line for line in lines)
    assert any("'\t" in line for line in lines) and any("Курс" in line for line in lines)
    # The writer puts the header first and the lines as they are (a lone CR stays unquoted, as csv writes it).
    from unpaid.output import write_texts
    from unpaid.records import CSV_HEADER

    out = io.StringIO()
    assert write_texts(tmp_store.orders.export(query, "csv"), "csv", out, CSV_HEADER) == 60
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(CSV_HEADER)
    assert out.getvalue() == header.getvalue() + "".join(line + "\n" for line in lines)
    for fmt in ("json", "jsonl"):
        out = io.StringIO()
        render(iter(_python_texts(tmp_store, fmt)), fmt, out, encoded=True)
        again = io.StringIO()
        assert write_texts(tmp_store.orders.export(query, fmt), fmt, again) == 60
        assert again.getvalue() == out.getvalue()
    # A text stream over bytes gets the blocks' bytes under it, after what it holds; another encoding, text.
    expected = {"csv": header.getvalue() + "".join(line + "\n" for line in lines)}
    for fmt in ("json", "jsonl"):
        expected[fmt] = io.StringIO()
        render(iter(_python_texts(tmp_store, fmt)), fmt, expected[fmt], encoded=True)
        expected[fmt] = expected[fmt].getvalue()
    for encoding in ("utf-8", "utf-16"):
        for fmt, text in expected.items():
            raw = io.BytesIO()
            stream = io.TextIOWrapper(raw, encoding=encoding, newline="\n")
            stream.write("before\n")
            assert write_texts(tmp_store.orders.export(query, fmt, limit=20), fmt, stream, CSV_HEADER) == 20
            stream.write("after\n")
            stream.flush()
            first = "".join(line + "\n" for line in lines[:20]) if fmt == "csv" else None
            got = raw.getvalue().decode(encoding)
            assert got.startswith("before\n") and got.endswith("after\n"), (encoding, fmt)
            if first is not None:
                assert got == "before\n" + header.getvalue() + first + "after\n", encoding
            elif fmt == "jsonl":
                assert got == "before\n" + "".join(t + "\n" for t in _python_texts(tmp_store, fmt)[:20]) + "after\n"
            else:
                assert json.loads(got[7:-6]) == [json.loads(t) for t in _python_texts(tmp_store, fmt)[:20]]
    # A text that is not UTF-8 (the store never writes one) fails the export, as reading it in Python does.
    if not tmp_store.postgres:
        import pytest

        tmp_store.conn.execute("UPDATE orders SET name = CAST(X'FF41' AS TEXT) WHERE native_id = '40'")
        for fmt in ("csv", "json"):
            with pytest.raises((UnicodeDecodeError, ValueError)):
                write_texts(tmp_store.orders.export(query, fmt), fmt,
                            io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n"), CSV_HEADER)
    empty = io.StringIO()
    assert write_texts(iter(()), "json", empty) == 0 and empty.getvalue() == "[]\n"
