# The two set-up commands are `make render` and `make test`; both bootstrap .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

PENROSE := servers/penrose-mcp

.PHONY: help render clients policy policies test lint lint-images penrose-test bench soak clean

help:
	@echo "make render [STACK=dev]   write build/render/<stack>/{objects,releases.yaml,outputs.json}"
	@echo "make clients [STACK=dev]  render, then MCP client configs in build/clients/<environment>/"
	@echo "make policy [STACK=dev]   run the CrossGuard pack offline over a stack (exit 1 on a mandatory violation)"
	@echo "make test                 lint and run every test (mocks, schemas, policies, servers, policy runs)"
	@echo "make bench                render against its flat baseline, per-server cost, Penrose render times"
	@echo "make soak                 Penrose server memory over 1,000 renders (about 10 minutes)"

# Reinstall whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

render: $(STAMP)
	$(BIN)/python -m offline.render --stack $(STACK)

# Client configs from the offline render's outputs.json (no cluster, no Pulumi CLI).
clients: render
	$(BIN)/python -m mcpds client-config --outputs build/render/$(STACK)/outputs.json

# The policy pack over a stack's resources, with policies/config/<stack>.json.
policy: $(STAMP)
	$(BIN)/python -m offline.policy_run --stack $(STACK)

# Every shipped stack (part of `make test`).
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
policies: $(STAMP)
	@for stack in $(STACKS); do $(MAKE) --no-print-directory policy STACK=$$stack || exit $$?; done

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

# penrose-test runs `npm ci` first: tests/test_verify.py starts the Penrose server from
# its node_modules (and Debian's nginx, which .ci/run installs). npm test runs its test
# files in parallel.
test: lint penrose-test
	$(BIN)/pytest -n 2 --dist loadfile
	@$(MAKE) --no-print-directory policies

bench: $(STAMP) $(PENROSE)/node_modules/.package-lock.json
	$(BIN)/python -m offline.bench
	cd $(PENROSE) && npm run bench

soak: $(PENROSE)/node_modules/.package-lock.json
	cd $(PENROSE) && npm run soak

clean:
	rm -rf build .pytest_cache .ruff_cache
