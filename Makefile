# Two entry points (see README): `make demo` runs the service locally, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench lock

$(BIN)/vitally-sync: pyproject.toml devkit/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./devkit
	@touch $@

install: $(BIN)/vitally-sync

demo: install
	$(BIN)/python -m demo

# Two processes (the machines here have two cores), a file at a time each: a file's tests
# share its fixtures and run in order, and two files' broker scenarios run side by side.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Strict checks over every package, tests and development tools included.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

# The image's locked runtime dependencies (hashes for --require-hashes), from pyproject's
# [project].dependencies, for Python 3.11 (the image's and CI's). Run after changing them:
# tests/unit/test_dependencies.py fails until the lock matches.
lock: install
	$(BIN)/pip install --quiet "pip-tools>=7.4"
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-find-links --no-emit-index-url --no-emit-trusted-host \
		--output-file requirements.lock pyproject.toml
