"""The benchmarks' realistic export: deterministic, Russian Excel's format, and broken the ways real files are."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not an installed package

from benchmarks.realistic_export import (  # noqa: E402
    BROKEN_KINDS, HEADER, ID, LABELS, STATUS, change_statuses, write_export)

ROWS = 5000


def records(path: Path, encoding: str = "cp1251", delimiter: str = ";") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def lines(path: Path) -> list[list[str]]:
    """Physical lines split at every ";" (quotes ignored)."""
    return [line.split(";") for line in path.read_bytes().decode("cp1251").split("\r\n")]


def test_the_same_arguments_write_the_same_bytes_in_windows_1251_with_semicolons(tmp_path):
    first, again = tmp_path / "a.csv", tmp_path / "b.csv"
    stats = write_export(first, ROWS)
    write_export(again, ROWS)
    data = first.read_bytes()
    assert data == again.read_bytes()
    assert data.startswith(";".join(HEADER).encode("cp1251") + b"\r\n")
    assert stats.rows == data.count(b"\r\n") - 1


def test_about_3_percent_are_broken_in_every_way_and_about_1_percent_repeat_an_id(tmp_path):
    path = tmp_path / "orders.csv"
    stats = write_export(path, 20_000)
    assert set(stats.broken) == set(BROKEN_KINDS)
    assert 0.025 < stats.ideal_rejected / stats.rows < 0.035 and 0.007 < stats.duplicates / stats.rows < 0.013
    text = path.read_bytes().decode("cp1251")
    assert "\r\n;" in text and "abc;RUB" in text and "Ждём звонка" in text and '"Интенсив по маркетингу; 3 дня"' in text
    rows = records(path)
    assert Counter(len(r) for r in rows)[len(HEADER) + 1] >= stats.broken["extra delimiter"] // 2
    by_id: dict[str, list[str]] = {}
    repeats = [(by_id[r[ID]], r[STATUS]) for r in rows[1:] if r[ID] and by_id.setdefault(r[ID], r[STATUS]) != r[STATUS]]
    assert repeats and all(later in ("Завершен", "Отменен") for _, later in repeats)


def test_the_utf8_variant_quotes_fields_holding_a_comma(tmp_path):
    path = tmp_path / "orders.csv"
    write_export(path, ROWS, encoding="utf-8", delimiter=",")
    rows = records(path, "utf-8", ",")
    assert rows[0] == list(HEADER)
    assert any(r[7] == "Excel для аналитиков, продвинутый уровень" for r in rows)
    assert '"Excel для аналитиков, продвинутый уровень"' in path.read_text(encoding="utf-8")


def test_statuses_change_in_place_and_appended_rows_continue_the_ids(tmp_path):
    path = tmp_path / "orders.csv"
    stats = write_export(path, ROWS)
    before, inode = lines(path), path.stat().st_ino
    changed = change_statuses(path, 0.01)
    after = lines(path)
    differ = [(a, b) for a, b in zip(before, after) if a != b]
    assert path.stat().st_ino != inode and len(before) == len(after)
    assert 0.008 * ROWS <= changed == len(differ) <= 0.01 * ROWS
    assert all(a[:STATUS] + a[STATUS + 1:] == b[:STATUS] + b[STATUS + 1:] and b[STATUS] in LABELS for a, b in differ)
    count = len(records(path))
    write_export(path, 100, seed=2, append=True, first_id=stats.next_id)
    appended = records(path)[count:]
    assert len(appended) == 100 and min(int(r[ID]) for r in appended if r[ID].isdigit()) >= stats.next_id
