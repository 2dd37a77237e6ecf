# The two set-up commands are `make render` and `make test`; both bootstrap .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

PENROSE := servers/penrose-mcp

.PHONY: help render test lint lint-images penrose-test bench clean

help:
	@echo "make render [STACK=dev]   write build/render/<stack>/{objects,releases}.yaml"
	@echo "make test                 lint and run every test (mocks, schemas, policies, servers)"
	@echo "make bench                render timings and the Penrose render benchmark"

# Reinstall whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

render: $(STAMP)
	$(BIN)/python -m offline.render --stack $(STACK)

lint: $(STAMP) lint-images
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every Dockerfile of the project (images/*/ and the Penrose server), rules in .hadolint.yaml.
lint-images: $(STAMP)
	$(BIN)/hadolint --config .hadolint.yaml images/*/Dockerfile $(PENROSE)/Dockerfile

# The Penrose MCP server this project owns (Node.js): exact lockfile install.
$(PENROSE)/node_modules/.package-lock.json: $(PENROSE)/package-lock.json
	cd $(PENROSE) && npm ci --no-audit --no-fund

penrose-test: $(PENROSE)/node_modules/.package-lock.json
	cd $(PENROSE) && npm test

test: lint penrose-test
	$(BIN)/pytest

bench: $(STAMP) $(PENROSE)/node_modules/.package-lock.json
	$(BIN)/python -m offline.bench
	cd $(PENROSE) && npm run bench

clean:
	rm -rf build .pytest_cache .ruff_cache
