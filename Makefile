# The README's commands call these targets; .ci/run calls `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := plugins/csv plugins/getcourse plugins/autoweboffice

.PHONY: install demo test proofs bench bench-foundation bench-csv dist clean

$(BIN)/unpaid: pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]' $(addprefix -e ,$(PLUGINS))
	@touch $@

install: $(BIN)/unpaid

demo: install
	$(BIN)/unpaid demo

# The suite on SQLite (the tests written for both stores run on PostgreSQL in it too), then again on
# PostgreSQL every test whose store follows UNPAID_TEST_STORE (the `cli` fixture's: the CLI, desk, playbook,
# reports, i18n and plugins' tests); tests about the SQLite file itself skip there, with the reason. Both
# passes start a throw-away PostgreSQL server of their own; without its binaries those tests SKIP, the
# reason printed (-rs). The proofs' PostgreSQL runs are `make proofs`.
test: install
	$(BIN)/python -m pytest
	UNPAID_TEST_STORE=postgres $(BIN)/python -m pytest -rs --ignore=tests/proofs

# The long proofs run (docs/proofs.md); `make test` runs their fast part. Seed: UNPAID_PROOFS_SEED=N.
proofs: install
	UNPAID_PROOFS=full $(BIN)/python -m pytest tests/proofs

# One table: every command at 10k, 100k and 1M orders against anchors timed in the same run (minutes at 1M);
# `make bench SIZES=10000,100000` for a quick one. Start-up and sync figures: `make bench-foundation`.
SIZES ?= 10000,100000,1000000
bench: install
	$(BIN)/python benchmarks/table.py --sizes $(SIZES)

bench-foundation: install
	$(BIN)/python benchmarks/run.py

# The CSV sync against anchors timed in the same run; `make bench-csv ROWS=100000` for a quick one.
ROWS ?= 1000000
bench-csv: install
	$(BIN)/python benchmarks/csv_bench.py --rows $(ROWS)

# Wheels of the core and of each plugin in dist/: `pip install dist/*.whl` (or `unpaid install dist/*.whl`)
# installs unpaid where there is no checkout; the docs are in the core's wheel (share/doc/unpaid).
dist: install
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist . $(PLUGINS)
	@ls dist

clean:
	rm -rf $(VENV) build *.egg-info plugins/*/*.egg-info
