"""Orders as JSON records: the documented output contract (docs/json.md).

One function builds the order object, so ``orders``, ``show`` and any later command or channel
that emits orders stay identical. Ids are strings, times ISO-8601 UTC, money minor units + currency.
"""

from __future__ import annotations

import json
from typing import Any

from unpaid.clock import from_iso, to_iso
from unpaid.model import STATUS_LABELS, Money, Order, Status, normalize_email, normalize_phone
from unpaid.output import _FORMULA_START
from unpaid.output import json_row as _json_text  # the encoder render writes JSON rows with


def money_dict(money: Money | None) -> dict[str, Any] | None:
    return {"minor": money.minor, "currency": money.currency} if money is not None else None


def order_dict(order: Order) -> dict[str, Any]:
    """The order object of the JSON contract."""
    c = order.customer
    return {
        "id": order.id,
        "source": order.source,
        "native_id": order.native_id,
        "number": order.number,
        "status": order.status.value,
        "status_label": STATUS_LABELS[order.status],  # English, as in JSON; tables show it translated
        "native_status": order.native_status,
        "created_at": to_iso(order.created_at),
        "updated_at": to_iso(order.updated_at),
        "paid_at": to_iso(order.paid_at),
        "customer": {"email": c.email, "phone": c.phone, "name": c.name, "key": c.key},
        "items": [
            {"product_id": i.product_id, "title": i.title, "quantity": i.quantity, "price": money_dict(i.price)}
            for i in order.items
        ],
        "total": money_dict(order.total),
        "paid": money_dict(order.paid),
        "manager": order.manager,
        "payment_link": order.payment_link,
        "cancel_reason": order.cancel_reason,
        "extra": dict(order.extra),
    }


def flat_order(record: dict[str, Any]) -> dict[str, Any]:
    """An order object flattened for CSV: one column per field, the same columns for every row."""
    out = {k: v for k, v in record.items() if k not in ("customer", "items", "total", "paid")}
    for key in ("email", "phone", "name", "key"):
        out[f"customer_{key}"] = record["customer"][key]
    out["products"] = ", ".join(i["product_id"] for i in record["items"])
    out["items"] = record["items"]
    for key in ("total", "paid"):
        money = record[key] or {}
        out[f"{key}_minor"] = money.get("minor")
        out[f"{key}_currency"] = money.get("currency")
    return out


#: The orders columns :func:`row_record` reads, in its order.
RECORD_COLUMNS = ("source", "native_id", "number", "status", "native_status", "created_at", "updated_at", "paid_at",
                  "email", "phone", "name", "product_key", "product_title", "total_minor", "currency", "paid_minor",
                  "manager", "payment_link", "cancel_reason", "items", "extra")


def row_record(row: tuple) -> dict[str, Any]:
    """``order_dict(from_row(row))`` straight from a tuple of :data:`RECORD_COLUMNS`, for exports of many
    rows: no Order is built on the way (a third of an export's time)."""
    (source, native_id, number, status, native_status, created_at, updated_at, paid_at, email, phone, name,
     product_key, product_title, total_minor, currency, paid_minor, manager, payment_link, cancel_reason,
     items, extra) = row
    state = _STATUS.get(status) or Status(status)
    total = {"minor": total_minor, "currency": currency}
    if items is None and product_key is not None:
        lines = [{"product_id": product_key, "title": product_title or "", "quantity": 1, "price": dict(total)}]
    elif items:
        lines = [{"product_id": pid, "title": title or "", "quantity": qty or 1,
                  "price": {"minor": price, "currency": currency} if price is not None else None}
                 for pid, title, qty, price in json.loads(items)]
    else:
        lines = []
    return {
        "id": f"{source}:{native_id}",
        "source": source,
        "native_id": native_id,
        "number": number,
        "status": state.value,
        "status_label": STATUS_LABELS[state],
        "native_status": native_status,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
        "paid_at": _iso(paid_at),
        "customer": {"email": email, "phone": phone, "name": name,
                     "key": normalize_email(email) or normalize_phone(phone)},
        "items": lines,
        "total": total,
        "paid": {"minor": paid_minor, "currency": currency} if paid_minor is not None else None,
        "manager": manager,
        "payment_link": payment_link,
        "cancel_reason": cancel_reason,
        "extra": json.loads(extra) if extra else {},
    }


def json_select() -> str:
    """One SQL column with an order's record as compact JSON, built by SQLite's ``json_object`` (whose string
    escapes are the encoder's) for the common row: one product or none, no extra, times as the store writes
    them, a known status, a normalized ASCII e-mail (which is then the key; one with a control character,
    escaped in the text, is found by the backslash the text then holds, see :func:`sql_json`). Any other
    row comes as a JSON array of :data:`RECORD_COLUMNS` for :func:`sql_json` to finish in Python. Building
    the texts in Python cost as much as the whole of ``sqlite3 -json``; exports are compact (``,`` and
    ``:``, no spaces) so SQLite can build them."""
    def t(col: str) -> str:  # NULL for an empty time; the condition below sends any other form to Python
        return f"CASE WHEN {col} != '' THEN {col} END"

    labels = " ".join(f"WHEN '{s.value}' THEN '{_sql_text(label)}'" for s, label in STATUS_LABELS.items())
    money = "json_object('minor', {}, 'currency', currency)"
    text = (
        "json_object('id', source || ':' || native_id, 'source', source, 'native_id', native_id, 'number', number,"
        f" 'status', status, 'status_label', CASE status {labels} END, 'native_status', native_status,"
        f" 'created_at', {t('created_at')}, 'updated_at', {t('updated_at')}, 'paid_at', {t('paid_at')},"
        " 'customer', json_object('email', email, 'phone', phone, 'name', name, 'key', email),"
        " 'items', CASE WHEN product_key IS NULL THEN json_array() ELSE json_array(json_object('product_id',"
        f" product_key, 'title', COALESCE(product_title, ''), 'quantity', 1, 'price', {money.format('total_minor')}))"
        f" END, 'total', {money.format('total_minor')}, 'paid', CASE WHEN paid_minor IS NOT NULL THEN"
        f" {money.format('paid_minor')} END, 'manager', manager, 'payment_link', payment_link,"
        " 'cancel_reason', cancel_reason, 'extra', json_object())"
    )
    return f"CASE WHEN {_common()} THEN {text} ELSE json_array({', '.join(RECORD_COLUMNS)}) END"


def _common() -> str:
    """The SQL condition of a row SQLite can write the way Python would: one product or none, no extra,
    times as the store writes them, a known status, an ASCII e-mail that lowering and trimming leave as it
    is (then the key, unless it holds a control character: the texts' check), an integer total."""
    statuses = ", ".join(f"'{s.value}'" for s in STATUS_LABELS)
    return _usual(f"status IN ({statuses}) AND max(source, native_id, COALESCE(number, '')) < x''")


def _usual(texts: str) -> str:
    """The shape every row written in SQL has (one product or none, no extra, the store's times, an e-mail
    that is its key, integer amounts), and ``texts``: the condition on its text columns (a blob sorts above
    any text, so ``max(...) < x''`` says none is one)."""
    return (f"items IS NULL AND (extra IS NULL OR extra = '' OR extra = '{{}}') AND {texts}"
            f" AND {_TIMES} AND {_EMAIL_KEY}"
            " AND typeof(total_minor) = 'integer' AND (paid_minor IS NULL OR typeof(paid_minor) = 'integer')")


# Times as the store writes them (20 characters ending in Z: substr from the 20th is "Z") or none.
_TIMES = " AND ".join(f"(substr({c}, 20) = 'Z' OR {c} = '' OR {c} IS NULL)"
                      for c in ("created_at", "updated_at", "paid_at"))
# The e-mail is the key when it is ASCII (as many characters as bytes), lowering and trimming leave it as
# it is, "@" is not first, and it holds no control character (see where the texts are checked: a row whose
# text holds one, escaped in JSON or raw in CSV, is written in Python).
_EMAIL_KEY = ("email = lower(email) AND instr(email, '@') > 1 AND trim(email) = email"
              " AND length(email) = length(CAST(email AS BLOB))")


#: Text columns a CSV line built in SQL writes as they are: a number or a blob there goes through Python.
_CSV_TEXTS = ("native_status", "phone", "name", "product_key", "product_title", "manager", "payment_link",
              "cancel_reason", "currency")
_Q = '"'


def csv_select() -> str:
    """One SQL column with a row's CSV line (no line end) as :func:`row_csv` and ``csv.writer`` (``,``, ``"``,
    minimal quoting, a line feed ending the line) write it, formula guard included, for the rows
    :func:`json_select` builds in SQL; NULL for any other row (finished in Python). For the usual rows whose
    cells :func:`csv_block` finds need more than its template (a '"', ',' or line feed, a formula start),
    read again by rowid: each cell is quoted and guarded here. Building the cells and writing them in Python
    cost three times as much."""
    guard = ", ".join(_sql_quote(c) for c in _FORMULA_START)

    def cell(x: str) -> str:  # a text cell: '' for NULL, the guard's apostrophe, quoted when csv would
        g = f"CASE WHEN substr({x}, 1, 1) IN ({guard}) THEN '''' || {x} ELSE {x} END"
        return (f"CASE WHEN {x} IS NULL THEN '' WHEN instr({x}, '{_Q}') OR instr({x}, ',') OR instr({x}, char(10))"
                f" THEN {_quoted(g)} ELSE {g} END")

    labels = " ".join(f"WHEN '{s.value}' THEN {_sql_quote(_csv_text(label))}" for s, label in STATUS_LABELS.items())
    # _lines_json's text for one product (json_quote escapes as the encoder does); it holds '"', so quoted.
    line = ("'[{\"product_id\": ' || json_quote(product_key) || ', \"title\": ' || json_quote(COALESCE(product_title,"
            " '')) || ', \"quantity\": 1, \"price\": {\"minor\": ' || json_quote(total_minor) || ', \"currency\": '"
            " || json_quote(currency) || '}}]'")
    items = f"CASE WHEN product_key IS NULL THEN '[]' ELSE {_quoted(line)} END"
    cells = [cell("source || ':' || native_id"), cell("source"), cell("native_id"), cell("number"), cell("status"),
             f"CASE status {labels} END", cell("native_status"), cell("created_at"), cell("updated_at"),
             cell("paid_at"), cell("manager"), cell("payment_link"), cell("cancel_reason"), "'{}'", cell("email"),
             cell("phone"), cell("name"), cell("email"), cell("product_key"), items, "COALESCE(total_minor, '')",
             cell("currency"), "COALESCE(paid_minor, '')",
             f"CASE WHEN paid_minor IS NULL THEN '' ELSE {cell('currency')} END"]
    texts = " AND ".join(f"typeof({c}) IN ('text', 'null')" for c in _CSV_TEXTS)
    comma = " || ',' || "
    # The usual row: no text cell holds '"', ',' or a line feed, none but the phone starts like a formula
    # (checked on all of them at once, each after a unit separator): one printf, no cell looked at alone.
    plain = ("source", "native_id", "number", "native_status", "created_at", "updated_at", "paid_at", "manager",
             "payment_link", "cancel_reason", "email", "name", "product_key", "product_title", "currency")
    joined = f"printf('{chr(31) * len(plain)}%s', {', '.join(plain)}, phone)".replace("\x1f", "\x1f%s", len(plain))
    starts = "".join(c for c in _FORMULA_START if c != "-")
    fast = f"(SELECT instr(j, '{_Q}') = 0 AND instr(j, ',') = 0 AND instr(j, char(10)) = 0" \
           f" AND j NOT GLOB '*{chr(31)}[-{starts}]*' FROM (SELECT {joined} AS j))"
    price = ("printf('\"[{\"\"product_id\"\": %s, \"\"title\"\": %s, \"\"quantity\"\": 1, \"\"price\"\": {\"\"minor\"\": %s,"
             " \"\"currency\"\": %s}}]\"', replace(json_quote(product_key), '\"', '\"\"'),"
             " replace(json_quote(COALESCE(product_title, '')), '\"', '\"\"'), json_quote(total_minor),"
             " replace(json_quote(currency), '\"', '\"\"'))")
    line = (f"printf('%s:%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,{{}},%s,%s,%s,%s,%s,%s,%s,%s,%s,%s',"
            f" source, native_id, source, native_id, number, status, CASE status {labels} END, native_status,"
            f" created_at, updated_at, paid_at, manager, payment_link, cancel_reason, email,"
            f" CASE WHEN substr(phone, 1, 1) IN ({guard}) THEN '''' || phone ELSE phone END, name, email,"
            f" product_key, CASE WHEN product_key IS NULL THEN '[]' ELSE {price} END, total_minor, currency,"
            f" paid_minor, CASE WHEN paid_minor IS NOT NULL THEN currency END)")
    # No control character in the e-mail either (the lines here are not checked again): it is the key.
    return (f"CASE WHEN NOT ({_common()} AND {texts} AND email NOT GLOB '*[^!-~]*') THEN NULL"
            f" WHEN {fast} THEN {line}"
            f" ELSE {comma.join(cells)} END")


def _quoted(x: str) -> str:
    return f"'{_Q}' || replace({x}, '{_Q}', '{_Q}{_Q}') || '{_Q}'"


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _csv_text(text: str) -> str:
    # A constant cell as csv.writer writes it (the labels need no guard: none starts like a formula).
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([text, ""])
    return out.getvalue()[:-2]


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def sql_json(text: str) -> str:
    """The compact JSON text of :func:`row_record` from a :func:`json_select` column: a JSON array of the
    row's columns, or SQLite's record whose text holds a backslash or a DEL (the e-mail may hold a control
    character, which :func:`_common` leaves to this check: its key is found again)."""
    if text[0] != "{":
        return _compact(row_record(json.loads(text)))
    record = json.loads(text)
    customer = record["customer"]
    customer["key"] = normalize_email(customer["email"]) or normalize_phone(customer["phone"])
    return _compact(record)


def _lines_json(product_key: str | None, product_title: str | None, items: str | None, cur: str, total: str) -> str:
    # The JSON text of the record's "items": the stored lines, or the one product of a single-product order.
    if items is None and product_key is not None:
        return (f'[{{"product_id": {_j(product_key)}, "title": {_j(product_title or "")}, "quantity": 1, '
                f'"price": {total}}}]')
    if items:
        return "[" + ", ".join(
            f'{{"product_id": {_j(pid)}, "title": {_j(title or "")}, "quantity": {_j(qty or 1)}, "price": '
            + (f'{{"minor": {_j(price)}, "currency": {cur}}}' if price is not None else "null") + "}"
            for pid, title, qty, price in json.loads(items)) + "]"
    return "[]"


#: The header of :func:`row_csv`'s cells: :func:`flat_order`'s columns.
CSV_HEADER = ("id", "source", "native_id", "number", "status", "status_label", "native_status", "created_at",
              "updated_at", "paid_at", "manager", "payment_link", "cancel_reason", "extra", "customer_email",
              "customer_phone", "customer_name", "customer_key", "products", "items", "total_minor",
              "total_currency", "paid_minor", "paid_currency")


def row_csv(row: tuple) -> list:
    """The CSV cells of ``flat_order(row_record(row))`` (formula guard included) straight from a tuple: no
    record, no flattening, the lines' JSON built as a string; a fifth of the old cost."""
    (source, native_id, number, status, native_status, created_at, updated_at, paid_at, email, phone, name,
     product_key, product_title, total_minor, currency, paid_minor, manager, payment_link, cancel_reason,
     items, extra) = row
    state = _STATUS.get(status) or Status(status)
    if items is None and product_key is not None:
        products = product_key
    elif items:
        products = ", ".join(line[0] for line in json.loads(items))
    else:
        products = ""
    lines = _lines_json(product_key, product_title, items, _j(currency), f'{{"minor": {_j(total_minor)}, '
                        f'"currency": {_j(currency)}}}')
    cells = [f"{source}:{native_id}", source, native_id, number, state.value, STATUS_LABELS[state], native_status,
             _iso(created_at), _iso(updated_at), _iso(paid_at), manager, payment_link, cancel_reason,
             _json_text(json.loads(extra)) if extra else "{}", email, phone, name,
             normalize_email(email) or normalize_phone(phone), products, lines, total_minor, currency,
             paid_minor, currency if paid_minor is not None else None]
    for i, cell in enumerate(cells):
        # Only a string whose first character a spreadsheet reads as a formula gets the apostrophe.
        if type(cell) is str and cell[:1] in _FORMULA_FIRST:
            cells[i] = "'" + cell
    return cells


def _j(value: Any) -> str:
    # What the encoder writes for a value: strings and integers directly, anything else through it.
    if value is None:
        return "null"
    if type(value) is str:
        return _string(value)
    if type(value) is int:
        return int.__repr__(value)
    return _json_text(value)


def _iso(text: str | None) -> str | None:
    # The store writes to_iso's form (20 characters, Z); anything else is read and written again.
    if not text:
        return None
    if len(text) == 20 and text[-1] == "Z":
        return text
    return to_iso(from_iso(text))


_STATUS = {s.value: s for s in Status}
_string = json.encoder.encode_basestring  # the encoder's strings with ensure_ascii=False
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_FORMULA_FIRST = frozenset(_FORMULA_START)  # each is one character: a set look-up of a cell's first one


# The CSV block of the usual rows (:func:`csv_block_select`): the characters SQLite writes in place of the
# line's separators and quotes and at each row's end, which :func:`csv_block` turns into them. The data cannot
# hold one unnoticed: csv_block counts every control character of a block (and each '"', ',', '\\' and DEL)
# against what the rows' template wrote.
_SEP, _COMMA, _QUOTE, _END, _PAD = "\x1f", "\x1c", "\x1d", "\x1e", "\x1a"
_BAD = bytes(range(32)) + b'",\\\x7f'
# A control character (the template's or not) becomes 0, a formula's first character 1 (0xEF begins the
# full-width ones): a 0 then a 1 is a cell that may start like a formula.
_CHECK = bytes.maketrans(_BAD + b"=+-@\xef", b"\0" * len(_BAD) + b"\1" * 5)
_OUT = bytes.maketrans(b"\x1f\x1c\x1d\x1e", b',,"\n')


def _csv_block_sql() -> tuple[str, int]:
    """The SQL line of :func:`csv_block_select` and the marks it holds (separators, quotes, pads, end)."""
    S, C, Q = _SEP, _COMMA, _QUOTE
    guard = ", ".join(_sql_quote(c) for c in _FORMULA_START)
    # A label is written only where csv.writer writes it as it is; any other status gives a control character,
    # which sends its row to the per-row path.
    labels = " ".join(f"WHEN '{s.value}' THEN {_sql_quote(label)}" for s, label in STATUS_LABELS.items()
                      if _csv_text(label) == label and label[:1] not in _FORMULA_FIRST
                      and not any(ord(ch) in _BAD for ch in label))
    # The one product's lines as _lines_json writes them, quoted: for data without '"', '\' or a control
    # character (the block's check), json_quote would only add the quotes.
    items = (f"{Q}[{{{Q}{Q}product_id{Q}{Q}: {Q}{Q}%s{Q}{Q}{C} {Q}{Q}title{Q}{Q}: {Q}{Q}%s{Q}{Q}{C}"
             f" {Q}{Q}quantity{Q}{Q}: 1{C} {Q}{Q}price{Q}{Q}: {{{Q}{Q}minor{Q}{Q}: %s{C}"
             f" {Q}{Q}currency{Q}{Q}: {Q}{Q}%s{Q}{Q}}}}}]{Q}")
    pad = _PAD * sum(items.count(c) for c in (S, C, Q))  # "[]" holds as many marks (dropped on output)
    # Before each cell the mark of a cell to check for a formula start (S), or of one that never starts
    # like one (C: a constant, a number, the lines). One printf for the whole line, the lines' cell in
    # its template: a printf of its own cost a tenth of the export.
    before = (S, S, S, S, C, S, S, S, S, S, S, S, None, S, S, S, S, S, C, C, S, C, S)

    def template(lines: str) -> str:
        return "%s:%s" + "".join(f"{C}{{}}" if b is None else f"{b}{lines}" if i == 18 else f"{b}%s"
                                 for i, b in enumerate(before)) + _END

    marks = sum(template("[]" + pad).count(c) for c in (S, C, Q, _END, _PAD))
    head = (f"source, native_id, source, native_id, number, status, CASE status {labels} ELSE char(1) END,"
            " native_status, created_at, updated_at, paid_at, manager, payment_link, cancel_reason, email,"
            f" CASE WHEN substr(phone, 1, 1) IN ({guard}) THEN '''' || phone ELSE phone END, name, email,"
            " product_key")
    tail = "total_minor, currency, paid_minor, CASE WHEN paid_minor IS NOT NULL THEN currency END"
    line = (f"CASE WHEN product_key IS NULL THEN printf('{template('[]' + pad)}', {head}, {tail})"
            f" ELSE printf('{template(items)}', {head}, product_key, COALESCE(product_title, ''), total_minor,"
            f" currency, {tail}) END")
    return line, marks


def csv_block_select() -> str:
    """One SQL column with a row's CSV line (line end included) as :func:`row_csv` and ``csv.writer`` (``,``,
    ``"``, minimal quoting, a line feed ending the line) write it, formula guard included, as a blob, for the
    usual row, NULL for any other; its separators, quotes and line end are marks that
    :func:`csv_block` checks and turns into them for a whole block of rows at once. The row is usual when
    :func:`_common` holds and no text is a blob (one comparison: a blob sorts above any text); whether a
    cell holds '"', ',', a control character or starts like a formula is left to the block's check, a few
    passes over the block's bytes instead of a look at each cell in SQL."""
    line, _ = _csv_block_sql()
    texts = ", ".join(c if c in _NOT_NULL else f"COALESCE({c}, '')" for c in _BLOCK_TEXTS)
    usual = _usual(f"max({texts}) < x''")
    return f"CASE WHEN {usual} THEN CAST({line} AS BLOB) END"


#: The text columns a block's line writes, and those of them the schema holds NOT NULL (and the e-mail,
#: which the condition has found).
_BLOCK_TEXTS = ("source", "native_id", "number", "status", "native_status", "created_at", "updated_at", "paid_at",
                "email", "phone", "name", "product_key", "product_title", "currency", "manager", "payment_link",
                "cancel_reason")
_NOT_NULL = frozenset({"source", "native_id", "status", "created_at", "currency", "email"})
_CSV_MARKS = _csv_block_sql()[1]


def csv_block(lines: list[bytes]) -> bytes | None:
    """The CSV text of :func:`csv_block_select`'s lines (none NULL), line ends included; None when a cell
    needs more than the template gives it (a '"', ',', '\\', DEL or control character of its own, or a start
    like a formula: the rows then go one by one)."""
    block = b"".join(lines)
    check = block.translate(_CHECK)
    if check.count(0) != _CSV_MARKS * len(lines) or b"\0\1" in check:
        return None
    return block.translate(_OUT, _PAD.encode())

