"""`make e2e`: every shipped stack, live on a control plane of its own, with the real
controllers. One LiveStack per stack for the whole session; the summary at the end says
what was applied, warned and checked, and how long each step took."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from e2e import build
from e2e.live import PROGRAMS, LiveStack, live_stack
from offline.harness import available_stacks

STACKS = available_stacks()
_SUMMARY: dict[str, dict[str, object]] = {}


@pytest.fixture(scope="session")
def say(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Write a line to the terminal, captured output or not (build steps, engine timings)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        with capture.global_and_fixture_disabled():
            print(line, flush=True)

    return write


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    return build.ensure(PROGRAMS, report=lambda line: print(f"\n{line}", end=""))


@pytest.fixture(scope="session")
def run_folder() -> Iterator[Path]:
    """Everything of the run: kept with E2E_KEEP=1 (its path is printed), else removed."""
    folder = Path(tempfile.mkdtemp(prefix="mcpds-e2e-"))
    yield folder
    if os.environ.get("E2E_KEEP"):
        print(f"\ne2e run folder kept: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", params=STACKS)
def live(request, binaries, run_folder) -> Iterator[LiveStack]:
    stack = request.param
    started = time.monotonic()
    with live_stack(stack, binaries, run_folder / stack) as running:
        running.checked = set()  # type: ignore[attr-defined] - live objects the tests asserted on
        yield running
        _SUMMARY[stack] = {
            "applied": len(running.cluster.report.applied) + len(running.report.applied),
            "warnings": len(running.cluster.report.warnings) + len(running.report.warnings),
            "checked": len(running.checked),  # type: ignore[attr-defined]
            "timings": {**running.cluster.timings, **running.timings, "total": time.monotonic() - started},
        }


def checked(live: LiveStack, *names: str) -> None:
    """Count live objects a test asserted on (for the summary)."""
    live.checked.update(names)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter) -> None:
    if not _SUMMARY:
        return
    write = terminalreporter.write_line
    write("")
    write("e2e summary (objects applied incl. CRDs, API-server warnings, live controller objects checked):")
    for stack, row in _SUMMARY.items():
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in row["timings"].items())  # type: ignore[union-attr]
        write(f"  {stack}: {row['applied']} applied, {row['warnings']} warnings, {row['checked']} checked; {timings}")
