"""What differs between SQLite and PostgreSQL, in one place: the store's SQL is written for SQLite and
rewritten here for PostgreSQL, so the queries stay one text that both backends run.

The rewrite is textual and cached per statement: ``?`` placeholders become ``%s`` (outside string
literals), ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``, PRAGMAs and SQLite's planner
hints (``NOT INDEXED``, ``CROSS JOIN ... ON``) are dropped, ``LIMIT -1`` becomes ``LIMIT ALL``, ``char(N)`` becomes ``chr(N)``, and
schema statements get PostgreSQL's types and trigger functions. SQLite's scalar functions that the
queries use (``julianday``, ``json_extract``, ``json_patch``, two-argument ``MAX``/``MIN`` and ``round``,
``group_concat``) are created as functions in the PostgreSQL database (:data:`PG_FUNCTIONS`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from unpaid.store.schema import ORDER_CALL, ORDER_CALL_MARKED

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: object) -> bool:
    """True when a --db / UNPAID_DB / ``db`` value names a PostgreSQL database rather than a file."""
    return isinstance(target, str) and target.lower().startswith(POSTGRES_SCHEMES)


# A scheme and a colon before a slash ("postgresq://", "sqlite:///", "postgresql:/host"), or a value that begins
# like PostgreSQL's scheme ("postgresql//host/db"), after any blanks pasted before it. Two letters at least:
# "C:/" is a Windows drive.
_URL_SHAPED = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]+:/|postgres)", re.I)


def is_misspelt_url(target: object) -> bool:
    """True when a --db / UNPAID_DB / ``db`` value reads as a URL but not one unpaid opens: taken for a file name,
    it would create an empty SQLite store under a folder such as ``postgresq:`` and answer from it."""
    return isinstance(target, str) and not is_postgres(target) and bool(_URL_SHAPED.match(target))


def refuse_misspelt_url(target: object, where: str) -> None:
    """Raise the StoreError naming ``where`` (the option or key it came from) when :func:`is_misspelt_url`."""
    if is_misspelt_url(target):
        from unpaid.store.postgres import misspelt_url

        raise misspelt_url(str(target), where)


_WORD_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+", re.I)
_AUTOINCREMENT = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.I)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID", re.I)
_TRIGGER = re.compile(r"^\s*CREATE\s+TRIGGER\s+(\w+)", re.I)
_DROP_TRIGGER = re.compile(r"^\s*DROP\s+TRIGGER\s+(\w+)\s*;?\s*$", re.I)
# SQLite's planner hint "CROSS JOIN t ON ..." (keep this join order) is an inner join to PostgreSQL.
_CROSS_JOIN_ON = re.compile(r"\bCROSS\s+JOIN\s+(\w+(?:\s+(?!ON\b)\w+)?)\s+ON\b", re.I)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+QUERY\s+PLAN\b", re.I)
# SQLite's "FROM t NOT INDEXED" (scan, use no index) is a hint PostgreSQL has no syntax for.
_NOT_INDEXED = re.compile(r"\s+NOT\s+INDEXED\b", re.I)
# SQLite's "LIMIT -1" (no limit: what lets a subquery keep its ORDER BY or stay unflattened).
_NO_LIMIT = re.compile(r"\bLIMIT\s+-1\b", re.I)
# SQLite's char(31) (the character of that code) is chr(31); PostgreSQL reads char(31) as a type.
_CHAR = re.compile(r"(?<![\w.])char\((\d+)\)", re.I)


@lru_cache(maxsize=2048)
def translate(sql: str) -> str | None:
    """The PostgreSQL text of one SQLite statement; None for a statement PostgreSQL has no use for."""
    head = sql.lstrip()[:16].upper()
    if head.startswith("PRAGMA"):
        return None
    if head.startswith("BEGIN"):
        return "BEGIN"
    if _WORD_OR_IGNORE.match(sql):
        sql = _WORD_OR_IGNORE.sub("INSERT ", sql, count=1).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    sql = _CROSS_JOIN_ON.sub(r"JOIN \1 ON", sql)
    sql = _EXPLAIN.sub("EXPLAIN", sql)
    sql = _NOT_INDEXED.sub("", sql)
    sql = _NO_LIMIT.sub("LIMIT ALL", sql)
    sql = _CHAR.sub(r"chr(\1)", sql)
    return _placeholders(sql)


def _placeholders(sql: str) -> str:
    """``?`` -> ``%s`` outside quotes; every literal ``%`` doubled, as psycopg reads ``%`` everywhere."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if ch == "%":
            out.append("%%")
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append(ch)
    return "".join(out)


def schema_statement(sql: str) -> list[str]:
    """The PostgreSQL statements for one schema statement of :mod:`unpaid.store.schema`."""
    trigger = _TRIGGER.match(sql)
    if trigger:
        return list(PG_TRIGGERS[trigger.group(1)])
    dropped = _DROP_TRIGGER.match(sql)
    if dropped:  # PostgreSQL names the trigger's table too: its twin's CREATE TRIGGER says which
        table = re.search(r"\bON\s+(\w+)\s+FOR\s+EACH\s+ROW", PG_TRIGGERS[dropped.group(1)][-1]).group(1)
        return [f"DROP TRIGGER {dropped.group(1)} ON {table}"]
    sql = _AUTOINCREMENT.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    sql = _WITHOUT_ROWID.sub(")", sql)
    return [sql]


def _hold_triggers(function: str, table: str, key: str, names: tuple[str, str, str]) -> dict[str, tuple[str, str]]:
    """The claims' insert, update and delete triggers (``names``, in that order) that copy the claim's lease end
    to ``table``'s ``held_until``, as one function."""
    body = f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE {table} SET held_until = NULL WHERE {key} = OLD.order_id AND held_until IS NOT NULL;
    ELSE
        UPDATE {table} SET held_until = NEW.lease_until
            WHERE {key} = NEW.order_id AND held_until IS DISTINCT FROM NEW.lease_until;
    END IF;
    RETURN NULL;
END $$"""
    return {name: (body, f"CREATE TRIGGER {name} AFTER {event} ON claims FOR EACH ROW EXECUTE FUNCTION {function}()")
            for name, event in zip(names, ("INSERT", "UPDATE", "DELETE"))}


# The start of the tasks triggers' functions: the changed order's own call (ORDER_CALL) into ``due`` and ``who``;
# ``marked`` (schema 16: ORDER_CALL_MARKED) also whether it was arranged ahead of its due time, into ``later``.
def _order_call_into(marked: bool) -> str:
    query, into = (ORDER_CALL_MARKED, "due, who, later") if marked else (ORDER_CALL, "due, who")
    return """DECLARE
    changed text := CASE WHEN TG_OP = 'DELETE' THEN OLD.order_id ELSE NEW.order_id END;
    due text;
    who text;
""" + "    later integer;\n" * marked + """BEGIN
    """ + query.format("changed").replace(" FROM tasks t", f" INTO {into} FROM tasks t", 1) + ";"


_ORDER_CALL_INTO = _order_call_into(marked=False)


def _call_triggers(function: str, names: tuple[str, str, str], marked: bool = False) -> dict[str, tuple[str, str]]:
    """The tasks' insert, update and delete triggers (``names``, in that order) that keep the order's
    desk_queue row, as one function; ``marked`` (schema 16) also keeps its ``due_later`` mark."""
    start = _order_call_into(marked)
    column = ",\n                                     due_later" if marked else ""
    value = ", later" if marked else ""
    update = ",\n                due_later = excluded.due_later" if marked else ""
    body = f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
{start}
    IF due IS NULL THEN
        DELETE FROM desk_queue WHERE order_id = changed;
    ELSE
        INSERT INTO desk_queue AS q (order_id, status, created_at, total_minor, call_due, call_manager, held_until{column})
            SELECT o.id, o.status, o.created_at, o.total_minor, due, who,
                   (SELECT c.lease_until FROM claims c WHERE c.order_id = o.id){value}
            FROM orders o WHERE o.id = changed
            ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, call_due = excluded.call_due,
                call_manager = excluded.call_manager{update}
            WHERE (q.status, q.call_due, q.call_manager)
                IS DISTINCT FROM (excluded.status, excluded.call_due, excluded.call_manager);
    END IF;
    RETURN NULL;
END $$"""
    events = ("INSERT", "UPDATE OF state, due_at, manager, order_status", "DELETE")
    return {name: (body, f"CREATE TRIGGER {name} AFTER {event} ON tasks FOR EACH ROW EXECUTE FUNCTION {function}()")
            for name, event in zip(names, events)}


# SQLite triggers, as PostgreSQL trigger functions. Keyed by the trigger's name in schema.py: a new
# trigger there needs its PostgreSQL twin here (a KeyError on migrating says so).
_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION unpaid_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'history is append-only'; END $$"""
PG_TRIGGERS: dict[str, tuple[str, ...]] = {
    "history_no_update": (_APPEND_ONLY, "CREATE TRIGGER history_no_update BEFORE UPDATE ON history"
                                        " FOR EACH ROW EXECUTE FUNCTION unpaid_history_append_only()"),
    "history_no_delete": (_APPEND_ONLY, "CREATE TRIGGER history_no_delete BEFORE DELETE ON history"
                                        " FOR EACH ROW EXECUTE FUNCTION unpaid_history_append_only()"),
    # SQLite updates the new row after the insert; PostgreSQL sets the column before it.
    "tasks_order_status": (
        """CREATE OR REPLACE FUNCTION unpaid_tasks_order_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.order_status := (SELECT status FROM orders WHERE id = NEW.order_id); RETURN NEW; END $$""",
        "CREATE TRIGGER tasks_order_status BEFORE INSERT ON tasks"
        " FOR EACH ROW EXECUTE FUNCTION unpaid_tasks_order_status()",
    ),
    # One function keeps orders.held_until for the three claims triggers of SQLite.
    **_hold_triggers("unpaid_claims_hold", "orders", "id", ("claims_hold", "claims_rehold", "claims_unhold")),
    # And one keeps orders.call_due and call_manager for the three tasks triggers.
    **{name: (
        """CREATE OR REPLACE FUNCTION unpaid_tasks_call() RETURNS trigger LANGUAGE plpgsql AS $$
""" + _ORDER_CALL_INTO + """
    UPDATE orders SET call_due = due, call_manager = who
        WHERE id = changed AND (call_due, call_manager) IS DISTINCT FROM (due, who);
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {name} AFTER {event} ON tasks FOR EACH ROW EXECUTE FUNCTION unpaid_tasks_call()",
    ) for name, event in (("tasks_call_new", "INSERT"),
                          ("tasks_call_changed", "UPDATE OF state, due_at, manager, order_status"),
                          ("tasks_call_gone", "DELETE"))},
    # Schema 15: the same copies in desk_queue, one row per order with an open call.
    **_hold_triggers("unpaid_queue_hold", "desk_queue", "order_id", ("queue_hold", "queue_rehold", "queue_unhold")),
    **_call_triggers("unpaid_queue_call", ("queue_call_new", "queue_call_changed", "queue_call_gone")),
    # Schema 16: the same, and the row is marked due_later when its call was arranged ahead of its due time.
    **_call_triggers("unpaid_desk_call", ("desk_call_new", "desk_call_changed", "desk_call_gone"), marked=True),
    "queue_order": (
        """CREATE OR REPLACE FUNCTION unpaid_queue_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE desk_queue SET status = NEW.status, created_at = NEW.created_at, total_minor = NEW.total_minor
        WHERE order_id = NEW.id;
    RETURN NULL;
END $$""",
        "CREATE TRIGGER queue_order AFTER UPDATE OF status, created_at, total_minor ON orders FOR EACH ROW"
        " WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.created_at IS DISTINCT FROM OLD.created_at"
        " OR NEW.total_minor IS DISTINCT FROM OLD.total_minor) EXECUTE FUNCTION unpaid_queue_order()",
    ),
}

# SQLite's functions that the store's queries call, with SQLite's results. Created (or replaced) on
# every migration check, before the schema: they hold no data.
PG_FUNCTIONS: tuple[str, ...] = (
    # Julian day of an ISO-8601 UTC text, as SQLite computes it (days, fractional).
    """CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
SELECT extract(epoch FROM (t::timestamptz)) / 86400.0 + 2440587.5 $$""",
    # json_extract(doc, '$.a.b'): the value as text (numbers and strings alike), NULL when absent.
    """CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN doc IS NULL THEN NULL
            ELSE (doc::jsonb) #>> string_to_array(regexp_replace(path, '^\\$\\.?', ''), '.') END $$""",
    # RFC 7396 merge, top level: what the store patches (a note beside a send's result).
    """CREATE OR REPLACE FUNCTION json_patch(doc text, patch text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT jsonb_strip_nulls((doc::jsonb) || (patch::jsonb))::text $$""",
    # json_set(doc, '$.key', value): a top-level text value set, as the desk writes an address.
    """CREATE OR REPLACE FUNCTION json_set(doc text, path text, value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT jsonb_set(doc::jsonb, string_to_array(regexp_replace(path, '^\\$\\.?', ''), '.'), to_jsonb(value),
                 true)::text $$""",
    # round(x, digits) of a float, as SQLite has it (PostgreSQL's takes a numeric).
    """CREATE OR REPLACE FUNCTION round(x double precision, digits integer) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT round(x::numeric, digits)::double precision $$""",
    """CREATE OR REPLACE FUNCTION max(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
SELECT GREATEST(a, b) $$""",
    """CREATE OR REPLACE FUNCTION min(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
SELECT LEAST(a, b) $$""",
    """CREATE OR REPLACE FUNCTION max(a text, b text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT GREATEST(a, b) $$""",
    """CREATE OR REPLACE FUNCTION min(a text, b text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT LEAST(a, b) $$""",
    """CREATE OR REPLACE FUNCTION unpaid_concat_step(acc text, value text, sep text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN value IS NULL THEN acc WHEN acc IS NULL THEN value
ELSE acc || sep || value END $$""",
    """CREATE OR REPLACE FUNCTION unpaid_concat_step(acc text, value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT unpaid_concat_step(acc, value, ',') $$""",
    """CREATE OR REPLACE AGGREGATE group_concat(text, text) (SFUNC = unpaid_concat_step, STYPE = text)""",
    """CREATE OR REPLACE AGGREGATE group_concat(text) (SFUNC = unpaid_concat_step, STYPE = text)""",
    # SQLite's group_concat of numbers joins their texts.
    """CREATE OR REPLACE FUNCTION unpaid_concat_step(acc text, value double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT unpaid_concat_step(acc, value::text, ',') $$""",
    """CREATE OR REPLACE AGGREGATE group_concat(double precision) (SFUNC = unpaid_concat_step, STYPE = text)""",
    # SQLite's comparisons are 0/1 integers, and the queries count with SUM(status = 'paid').
    """CREATE OR REPLACE FUNCTION unpaid_sum_bool(acc bigint, value boolean) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN value IS NULL THEN acc ELSE COALESCE(acc, 0) + value::int END $$""",
    """CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = unpaid_sum_bool, STYPE = bigint)""",
)
