# Two commands on a fresh machine: `make demo` and `make test` (README, "Quick start").
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# CI and `make test-postgres` point the suite at the machine's PostgreSQL.
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: venv demo test test-postgres lint crawl bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/mfawatch demo --dir demo

test: venv
	$(BIN)/python -m pytest

test-postgres: venv
	MFAWATCH_TEST_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The real sites of the default sites file (or ./sites.toml): needs the internet.
crawl: venv
	$(BIN)/mfawatch crawl

# Issue 5's benchmark (benchmarks/README.md): 3-5 min on 2 cores, writes benchmarks/results.json.
# urlwatch, the yardstick, gets an environment of its own. BENCH_ARGS=--quick for a small run.
URLWATCH_VENV := benchmarks/.venv-urlwatch

bench: venv $(URLWATCH_VENV)/.installed-stamp
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

$(URLWATCH_VENV)/.installed-stamp:
	$(PYTHON) -m venv $(URLWATCH_VENV)
	$(URLWATCH_VENV)/bin/python -m pip install --quiet urlwatch
	touch $@

clean:
	rm -rf $(VENV) demo build *.egg-info
