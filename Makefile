# The two set-up commands are `make render` and `make test`; both bootstrap .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

.PHONY: help render test lint clean

help:
	@echo "make render [STACK=dev]   write build/render/<stack>/{objects,releases}.yaml"
	@echo "make test                 lint and run every test (mocks, schemas, policies, servers)"

# Reinstall whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

render: $(STAMP)
	$(BIN)/python -m offline.render --stack $(STACK)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache .ruff_cache
