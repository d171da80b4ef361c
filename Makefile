# Two entry points (see README): `make demo` runs the service locally, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench

$(BIN)/vitally-sync: pyproject.toml devkit/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./devkit
	@touch $@

install: $(BIN)/vitally-sync

demo: install
	$(BIN)/python -m demo

test: install
	$(BIN)/python -m pytest

# Strict checks over every package, tests and development tools included.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench
