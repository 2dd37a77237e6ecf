"""Shared fixtures: one mocked run of the real program per stack file, reused by every test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from offline.harness import ProgramRun, available_stacks, run_program
from offline.schema import SchemaValidator

STACKS = available_stacks()


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, ProgramRun]:
    """The shipped stacks, run once per test session."""
    return {stack: run_program(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def dev(stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs["dev"]


@pytest.fixture(scope="session")
def prod(stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs["prod"]


@pytest.fixture
def run() -> Callable[..., ProgramRun]:
    """Run a stack with config overrides: run("prod", **{"toolhive.rbac_scope": "cluster"})."""

    def _run(stack: str, overrides: dict[str, Any] | None = None, **kw: Any) -> ProgramRun:
        return run_program(stack, overrides={**(overrides or {}), **kw})

    return _run


@pytest.fixture(scope="session")
def validators() -> Callable[[str], SchemaValidator]:
    cache: dict[str, SchemaValidator] = {}

    def _get(kubernetes_version: str) -> SchemaValidator:
        if kubernetes_version not in cache:
            cache[kubernetes_version] = SchemaValidator(kubernetes_version)
        return cache[kubernetes_version]

    return _get
