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

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline.harness import ProgramRun, available_stacks, read_stack_file, run_program, stack_dir
from offline.schema import SchemaValidator
from tests.stackconfig import FIXTURE_STACKS

STACKS = available_stacks()
_RUNS: dict[str, ProgramRun] = {}


def _run_of(stack: str, folder: Path) -> ProgramRun:
    """One run per distinct config: a fixture stack and a user's stack file that say the
    same (the shipped files, unchanged) share it."""
    config = read_stack_file(stack, folder)
    key = json.dumps([stack, config], sort_keys=True, default=str)
    if key not in _RUNS:
        _RUNS[key] = run_program(stack, config)
    return _RUNS[key]


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


def _runner(folder: Callable[[], Path]) -> Callable[..., ProgramRun]:
    def _run(stack: str, overrides: dict[str, Any] | None = None, **kw: Any) -> ProgramRun:
        return run_program(stack, read_stack_file(stack, folder()), overrides={**(overrides or {}), **kw})

    return _run


@pytest.fixture
def run() -> Callable[..., ProgramRun]:
    """Run a user's stack with config overrides: run("prod", **{"toolhive.rbac_scope": "cluster"})."""
    return _runner(stack_dir)


@pytest.fixture
def run_fixture() -> Callable[..., ProgramRun]:
    """Run a fixture stack with config overrides, as `run` does."""
    return _runner(lambda: FIXTURE_STACKS)


@pytest.fixture(scope="session")
def validators() -> Callable[[str], SchemaValidator]:
    cache: dict[str, SchemaValidator] = {}

    def _get(kubernetes_version: str) -> SchemaValidator:
        if kubernetes_version not in cache:
            cache[kubernetes_version] = SchemaValidator(kubernetes_version)
        return cache[kubernetes_version]

    return _get
