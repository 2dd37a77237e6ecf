"""Shared fixtures: one mocked run of the real program per stack, reused by every test.

Two sets of stacks:
- the user's stack files (`stack_runs`, `dev`, `prod`, `run`): `Pulumi.<stack>.yaml` of the
  project, or of $MCPDS_STACK_DIR (offline/harness.py stack_dir), so the whole suite can
  run on a fork's files (tests/checklist.py). Tests on them check what holds for any valid
  configuration: values are read from the stack's own config, never typed in.
- the fixture stacks in tests/stacks/ (`fixture_runs`, `fixture_dev`, `fixture_prod`,
  `run_fixture`): this project's own configuration, for tests that assert particular
  values (our domain, issuer, registry, sizes).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline.harness import ProgramRun, available_stacks, read_stack_file, run_program, shared_run, stack_dir
from offline.schema import SchemaValidator
from tests.stackconfig import FIXTURE_STACKS

STACKS = available_stacks()


def pytest_configure(config: pytest.Config) -> None:
    """Cyclic garbage collection less often: a mocked run allocates hundreds of thousands
    of objects, and at the default threshold (700) each run triggers hundreds of
    collections that rescan what the run still holds (offline/harness.py shared_run also
    freezes the runs it keeps)."""
    gc.set_threshold(50_000, 20, 10)


# The test files that take longest on one worker (wall seconds, measured with the Makefile's
# `pytest -n 2 --dist loadfile`), longest first. xdist's loadfile hands out whole files in
# collection order when --no-loadscope-reorder is given (the Makefile gives it; otherwise it
# orders them by test count), so starting these first lets both workers finish together
# instead of one running a long file alone at the end.
SLOWEST_FIRST = (
    "test_policies_run.py",
    "test_verify.py",
    "test_edge.py",
    "test_secrets.py",
    "test_image_digests.py",
    "test_bad_input_corpus.py",
    "test_checklist.py",
    "test_client_config.py",
    "test_render.py",
    "test_existing.py",
    "test_mcp_servers.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest files first, each file's tests in their own order, the rest as collected."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def _run_of(stack: str, folder: Path) -> ProgramRun:
    """One run per distinct config (offline/harness.py shared_run): a fixture stack and a
    user's stack file that say the same (the shipped files, unchanged) share it, and so
    does every test that runs the same stack with the same overrides."""
    return shared_run(stack, read_stack_file(stack, folder))


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, ProgramRun]:
    """The user's stacks, run once per test session."""
    return {stack: _run_of(stack, stack_dir()) for stack in STACKS}


@pytest.fixture(scope="session")
def dev(stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs["dev"]


@pytest.fixture(scope="session")
def prod(stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs["prod"]


@pytest.fixture(scope="session")
def fixture_runs() -> dict[str, ProgramRun]:
    """The fixture stacks of tests/stacks/, run once per test session."""
    return {stack: _run_of(stack, FIXTURE_STACKS) for stack in available_stacks(FIXTURE_STACKS)}


@pytest.fixture(scope="session")
def fixture_dev(fixture_runs: dict[str, ProgramRun]) -> ProgramRun:
    return fixture_runs["dev"]


@pytest.fixture(scope="session")
def fixture_prod(fixture_runs: dict[str, ProgramRun]) -> ProgramRun:
    return fixture_runs["prod"]


def _runner(folder: Callable[[], Path], request: pytest.FixtureRequest) -> Callable[..., ProgramRun]:
    # A test that patches (monkeypatch) may patch what the program reads: it gets runs of its own.
    program = run_program if "monkeypatch" in request.fixturenames else shared_run

    def _run(stack: str, overrides: dict[str, Any] | None = None, **kw: Any) -> ProgramRun:
        return program(stack, read_stack_file(stack, folder()), overrides={**(overrides or {}), **kw})

    return _run


@pytest.fixture
def run(request: pytest.FixtureRequest) -> Callable[..., ProgramRun]:
    """Run a user's stack with config overrides: run("prod", **{"toolhive.rbac_scope": "cluster"})."""
    return _runner(stack_dir, request)


@pytest.fixture
def run_fixture(request: pytest.FixtureRequest) -> Callable[..., ProgramRun]:
    """Run a fixture stack with config overrides, as `run` does."""
    return _runner(lambda: FIXTURE_STACKS, request)


@pytest.fixture(scope="session")
def validators() -> Callable[[str], SchemaValidator]:
    cache: dict[str, SchemaValidator] = {}

    def _get(kubernetes_version: str) -> SchemaValidator:
        if kubernetes_version not in cache:
            cache[kubernetes_version] = SchemaValidator(kubernetes_version)
        return cache[kubernetes_version]

    return _get
