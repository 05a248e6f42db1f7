"""``unpaid report``: what working unpaid orders earns (docs/reports.md).

Pure computations over facts the store gathers (:mod:`unpaid.store.reporting`); :mod:`unpaid.reports.build`
is the one module that reads the store.
"""

#: Report names in the order ``unpaid report --help`` lists them.
NAMES = ("recovery", "reasons", "managers", "steps", "offers", "funnel", "lift", "forecast")
