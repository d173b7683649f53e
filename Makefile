# lead-mcp: `make run` and `make test` work on a fresh clone (see README).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
TEST_EXTRAS := test,easyocr
PYTEST_ARGS ?=

.PHONY: install run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[$(TEST_EXTRAS)]'
	@touch $@ $(VENV)/.installed

## install: venv, package, system parts (Tesseract's Latin model), migrated store
install: $(VENV)/.installed
	@scripts/system-deps.sh
	@$(BIN)/lead-mcp db upgrade

## run: install, then serve MCP at http://127.0.0.1:8765/mcp with the embedded SQLite store
run: install
	$(BIN)/lead-mcp serve

## test: install with test extras, then the whole suite (SQLite and PostgreSQL)
test: $(VENV)/.installed-test
	@scripts/system-deps.sh --test
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## bench: the core benchmarks (see benchmarks/README.md)
bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.core

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
