"""Registers the ``csv`` connector type; hookimpls only, the connector is imported when built."""

from __future__ import annotations

from typing import Any, Mapping

from unpaid import hookimpl
from unpaid.connector import Capability, ConnectorSpec, Setting

from unpaid_csv.i18n import N_


def _factory(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]):
    # Imported here: listing plugins or `unpaid --help` must not load the connector code.
    from unpaid_csv.connector import CsvConnector

    return CsvConnector(name, settings, SPEC)


SPEC = ConnectorSpec(
    name="csv",
    title=N_("Order export in a CSV file (any shop; UTF-8 or Windows-1251)"),
    capabilities=frozenset({Capability.FETCH, Capability.FETCH_ONE, Capability.PUSH_STATUS,
                            Capability.UPDATE_CONTACT, Capability.SET_MANAGER}),
    factory=_factory,
    settings=(
        Setting("path", N_("the CSV file, relative to the config file"), required=True),
        Setting("columns", N_("header of each field when the defaults do not match, e.g. id = \"Номер заказа\"")),
        Setting("statuses", N_("native status -> canonical code, e.g. \"Ждём звонка\" = \"in_work\"")),
        Setting("currency", N_("currency of amounts when the file has no currency column"), default="RUB"),
        Setting("page_size", N_("orders per page (each page is stored in one transaction)"), default=10000),
        Setting("encoding", N_("force the encoding (utf-8, cp1251); detected when unset")),
        Setting("delimiter", N_("force the delimiter (, ; | or a tab); detected when unset")),
        Setting("date_format", N_("strptime format of dates, e.g. %m/%d/%Y; common formats are detected")),
        Setting("decimal", N_("the decimal separator of amounts, \".\" or \",\", when 1.990 must be read one way")),
        Setting("extra", N_("names for other columns kept with the order, e.g. payment_method = \"Способ оплаты\"")),
        Setting("max_rejected", N_("share of rejected rows above which nothing of the file is stored"), default="20%"),
        Setting("missing_after", N_("how long an order may be missing from the file before it is marked cancelled"),
                default="3d"),
    ),
)


@hookimpl
def register_connectors(register):
    register(SPEC)
