"""What `make test` costs: each of its steps alone, then the whole, in wall and CPU seconds.

    python -m offline.test_times [--steps-only]

Run by `make bench` (docs/benchmarks.md). CPU seconds are those of the step's processes
(user + system, from the kernel's accounting of waited-for children): on a shared machine
other people's load stretches the wall time much more than the CPU time, so both are
printed, with the load averages before and after each.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

from offline.harness import PROJECT_ROOT

# The steps of `make test` (Makefile: prereqs, then test-steps side by side).
STEPS = ("prereqs", "lint", "penrose-test", "pytest", "policies")


@dataclass
class Timing:
    target: str
    wall: float
    cpu: float
    load_before: float
    load_after: float
    ok: bool

    def row(self) -> str:
        status = "" if self.ok else "  FAILED"
        return (
            f"{self.target:<14} {self.wall:8.1f} {self.cpu:8.1f} {self.load_before:8.2f} {self.load_after:8.2f}{status}"
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(target: str) -> tuple[Timing, str]:
    """`make <target>` in the project, its timing and its output."""
    load_before = os.getloadavg()[0]
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    timing = Timing(target, wall, cpu, load_before, os.getloadavg()[0], done.returncode == 0)
    return timing, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.test_times", description=__doc__.splitlines()[0])
    parser.add_argument("--steps-only", action="store_true", help="time each step, not the whole `make test` after")
    args = parser.parse_args(argv)
    targets = [*STEPS] if args.steps_only else [*STEPS, "test"]
    print(f"make test, step by step, then whole ({os.cpu_count()} CPUs)")
    print(f"{'target':<14} {'wall s':>8} {'CPU s':>8} {'load 1m':>8} {'after':>8}")
    failed = False
    for target in targets:
        timing, output = timed(target)
        print(timing.row(), flush=True)
        if not timing.ok:
            failed = True
            print(output[-4000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
