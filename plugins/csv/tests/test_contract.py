"""The CSV connector passes the conformance suite, on the demo format and on a Russian Excel export."""

from __future__ import annotations

import pytest

from unpaid.testing.contract import ConnectorContract

from .conftest import FLAVORS, build, write_csv


class CsvFaults:
    """A file can only be unreadable: garbage is a file that switches encoding midway, or one bad row."""

    def __init__(self, path, flavor):
        self.path, self.flavor = path, FLAVORS[flavor]

    def unreadable(self, native_id):
        """The row's creation date becomes text no reader takes; the seed's next rewrite repairs it."""
        import csv
        import io

        text = self.path.read_bytes().decode(self.flavor["encoding"])
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=self.flavor["delimiter"]))
        for row in rows[1:]:
            if row and row[0] == native_id:
                row[2] = "not a date"
        write_csv(self.path, rows[0], rows[1:], self.flavor["encoding"], self.flavor["delimiter"],
                  self.flavor["newline"])

    def garbage(self):
        data = self.path.read_bytes()
        self.path.write_bytes(data + "1999,x,2025-01-01,new,Ёжик,a@b.c,,,,1.00\n".encode("cp1251")
                              + "2000,x,2025-01-01,new,Ёжик,a@b.c,,,,1.00\n".encode("utf-8"))


class TestCsvConnector(ConnectorContract):
    flavor = "demo"

    @pytest.fixture
    def path(self, tmp_path):
        return tmp_path / "orders.csv"

    @pytest.fixture
    def reopen(self, path):
        settings = {"page_size": 2}
        if self.flavor == "ru":
            settings["_timezone"] = "Europe/Moscow"
        return lambda: build(path, **settings)

    @pytest.fixture
    def connector(self, reopen):
        return reopen()

    @pytest.fixture
    def seed(self, path):
        """Keep the seeded orders by id and rewrite the whole file, as a shop's re-export would."""
        flavor = FLAVORS[self.flavor]
        rows: dict[str, list[str]] = {}

        def seed(orders):
            for o in orders:
                rows[o.native_id] = flavor["row"](o)
            write_csv(path, flavor["header"], rows.values(), flavor["encoding"], flavor["delimiter"],
                      flavor["newline"])

        return seed

    @pytest.fixture
    def faults(self, path):
        return CsvFaults(path, self.flavor)


class TestCsvConnectorRussianExcel(TestCsvConnector):
    """Windows-1251, ``;``, CRLF, Russian headers and labels, local times, ``4 990,00``."""

    flavor = "ru"
