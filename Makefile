# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# pytest-xdist workers (one per CPU; `make test WORKERS=0` runs in one process); on
# PostgreSQL each worker gets its own database beside $(PG_TEST_URL)'s (tests/conftest.py)
WORKERS ?= auto

.PHONY: demo test test-pg lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

EXAMPLE = examples/inspect-plugin-template

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml $(EXAMPLE)/pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet -e $(EXAMPLE)
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/inspect-core db upgrade
	$(BIN)/inspect-core demo load
	$(BIN)/inspect-core serve --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest -q -n $(WORKERS)
	cd $(EXAMPLE) && $(abspath $(BIN))/pytest -q

test-pg: install
	INSPECT_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -n $(WORKERS) -m db

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/bench_registry_load.py
	$(BIN)/python bench/bench_draw.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_chicago.py
	$(BIN)/python bench/bench_inspector_net.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_results_export.py

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache .hypothesis
