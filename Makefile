# The two commands: `make run` and `make test`. Both set themselves up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstalled when a pinned set (runtime: requirements.txt; dev: requirements-dev.txt) or the
# package's layout (pyproject.toml) changes.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)
export PYTHONPATH := $(CURDIR)/include:$(CURDIR)/tools$(if $(PYTHONPATH),:$(PYTHONPATH))


.PHONY: demo install run test test-fast test-e2e lint bench drills-table lake ingest-file inspect-file catalog-doc clean-state

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# The domain package, editable: importable from any venv python (analysts' notebooks too).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)
	@mkdir -p .state data/lake

run: install
	exec $(BIN)/python -m sintegre_dev.devstack

# Whole suite, end-to-end included (one real Airflow per session). Exit code 5 (no tests) fails.
# The junit XML feeds BENCHMARKS.md's drills table (`make drills-table`, and `make bench`).
test: install
	@mkdir -p .state
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=900 --junitxml=.state/junit.xml

# The inner loop: no Airflow, none of the slow drills.
test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e and not container" --timeout=300

test-e2e: install
	$(BIN)/python -m pytest -q -m e2e --timeout=900

# Style, the layers' contracts, then the type checker (strict on include/sintegre: pyproject.toml).
lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# With `SINTEGRE_DEMO=1 make run` up in another terminal.
demo: install
	$(BIN)/python -m sintegre_dev.demo

# Every benchmark against its own same-run baseline (~30 min): bench/results/latest.json and
# BENCHMARKS.md (with the drills table of the last `make test`). `wrk` is used when installed.
bench: install
	PYTHONPATH=$(CURDIR)/tests:$(CURDIR)/tests/e2e $(BIN)/python -m bench

# Rewrite BENCHMARKS.md from the last results and the last `make test`'s .state/junit.xml.
drills-table: install
	$(BIN)/python -m bench.report

# DuckDB views over the lake: `make lake Q="SELECT * FROM datasets"`; without Q, interactive.
lake: install
	$(BIN)/python -m sintegre.cli.lake $(if $(Q),"$$Q")

# Land a file downloaded by hand from the portal:
# make ingest-file F=ACOMPH.xls ARGS='--nome "Acomph" --macro-processo "Programação da Operação" --periodicidade 2025-04-29'
ingest-file: install
	@test -n "$$F" || { echo "usage: make ingest-file F=path ARGS='--nome ... --macro-processo ... --periodicidade YYYY-MM-DD'" >&2; exit 2; }
	$(BIN)/python -m sintegre.cli.ingest_file "$$F" $(ARGS)

# How a file would be read (product, tables, columns, units, first rows, layout checks, drift),
# landing nothing: make inspect-file F=ACOMPH_29.04.2025.xls [PRODUCT=230]
inspect-file: install
	@test -n "$$F" || { echo "usage: make inspect-file F=path [PRODUCT=id]" >&2; exit 2; }
	$(BIN)/python -m sintegre.cli.inspect_file "$$F" $(if $(PRODUCT),--product $(PRODUCT))

# Regenerate the README's product table and the catalog's index (the dataset list the DAG
# files' parse reads instead of the catalog) from the catalog; tests check both are current.
catalog-doc: install
	$(BIN)/python -m sintegre_dev.catalog_doc README.md
	$(BIN)/python -m sintegre.catalog.index

clean-state:
	rm -rf .state data/lake
