"""`make bench`: the render against a flat baseline, and what each added server costs.

    python -m offline.bench [--runs 7] [--servers 0,50,100] [--instructions]

Every figure is a whole process timed from outside (interpreter start, imports, the
mocked Pulumi run, the YAML written), in interleaved runs (A, B, A, B, ...) so that a
change in the machine's load hits every variant alike, reported as the median with
min-max. CPU time (user + sys of the child) is the primary figure: on a shared machine
it moves far less than wall time, which is printed beside it.

1. `python -m offline.render --stack prod` against `python -m offline.flat`, which
   registers the very same resources (recorded from one prod run) with no program code,
   under the same harness, and writes the same bytes; their ratio.
2. prod plus n user-defined servers: resources, dependency edges (counted in-process),
   the time of the render and of the flat baseline over the same resources, and the
   marginal cost per server between consecutive n (the flat one is what registering the
   server's resources costs under the harness, whatever the program).

Children write and reuse bytecode (a temporary PYTHONPYCACHEPREFIX) and each command runs
once untimed first, so compiling the sources, which Python caches after any first run,
is not what is measured. `--instructions` also counts executed instructions with
valgrind (cachegrind): one run per variant, minutes each, independent of the load.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mcpds.cli import UsageParser
from offline.flat import write_records
from offline.harness import PROJECT, PROJECT_ROOT, read_stack_file, run_program


def extra_servers(count: int) -> dict[str, dict[str, Any]]:
    """`count` user-defined servers (`mcp.custom_servers`), all published, cycling through
    six kinds: stdio or stateless HTTP (autoscaled), with or without internet egress."""
    return {
        f"extra-{i:03d}": {
            "image": f"registry.example.com/bench/server-{i:03d}:1.0.{i}",
            "transport": "streamable-http" if i % 2 else "stdio",
            "proxy_port": 9000 + i,
            **({"mcp_port": 8080} if i % 2 else {}),
            "stateless": bool(i % 2),
            "path": f"/extra-{i:03d}",
            "egress_hosts": ["api.example.com"] if i % 3 == 0 else [],
            "writable_paths": ["/tmp"],
        }
        for i in range(count)
    }


def scaled_config(count: int, stack: str = "prod", root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The stack file's config plus `count` extra servers (for run_program(config=...))."""
    config = read_stack_file(stack, root)
    mcp = copy.deepcopy(config.get(f"{PROJECT}:mcp", {}))
    mcp["custom_servers"] = extra_servers(count)
    return {**config, f"{PROJECT}:mcp": mcp}


@dataclass
class Samples:
    """Timings of one command over the interleaved runs."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def add(self, cpu: float, wall: float) -> None:
        self.cpu.append(cpu)
        self.wall.append(wall)

    @staticmethod
    def _show(values: list[float]) -> str:
        return f"{statistics.median(values):6.3f} ({min(values):.2f}-{max(values):.2f})"

    def row(self) -> str:
        return f"{self._show(self.cpu)}  {self._show(self.wall)}"


HEADER = "CPU s (min-max)         wall s (min-max)"


def _child_env(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _measure(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one child process. (Not its peak RSS: Linux carries the
    parent's high-water mark across fork and exec into the child's ru_maxrss.)"""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} failed: {err}")
    return usage.ru_utime + usage.ru_stime, wall


def interleaved(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, Samples]:
    """Run every command once untimed, then `runs` rounds of all of them in turn."""
    for cmd in commands.values():
        _measure(cmd, env)
    samples = {name: Samples() for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            samples[name].add(*_measure(cmd, env))
    return samples


def instructions(cmd: Sequence[str], env: dict[str, str]) -> int:
    """Instructions the command executes, counted by valgrind's cachegrind."""
    run = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *cmd],
        cwd=PROJECT_ROOT,
        env={**env, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {run.stderr[-500:]}")
    return int(match.group(1).replace(",", ""))


def _scaled_project(root: Path, counts: Sequence[int]) -> Path:
    """A copy of the program with a stack `bench-<n>` per count: prod plus n servers."""
    project = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(root / name, project / name)
    shutil.copytree(root / "components", project / "components", ignore=shutil.ignore_patterns("__pycache__"))
    for n in counts:
        config = scaled_config(n, root=root)
        (project / f"Pulumi.bench-{n}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return project


def _counts(text: str) -> list[int]:
    counts = sorted({int(part) for part in text.split(",")})
    if len(counts) < 2 or counts[0] < 0:
        raise argparse.ArgumentTypeError("give two or more server counts, e.g. 0,50,100")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="python -m offline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "7")))
    parser.add_argument("--servers", type=_counts, default=[0, 50, 100], help="extra server counts (default 0,50,100)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with valgrind (slow)")
    args = parser.parse_args(argv)
    if args.instructions and shutil.which("valgrind") is None:
        print("bench: --instructions needs valgrind on PATH (apt-get install valgrind)", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="mcp-bench-out-"))
    project = _scaled_project(PROJECT_ROOT, args.servers)
    env = _child_env(scratch / "pycache")
    python = sys.executable
    try:
        prod = run_program("prod")
        records = scratch / "prod-records.json"
        write_records(prod, records)
        baseline = {
            "offline.render": [python, "-m", "offline.render", "--stack", "prod", "--out", str(scratch / "render")],
            "offline.flat": [python, "-m", "offline.flat", "--input", str(records), "--out", str(scratch / "flat")],
        }
        print(f"1. render against its flat baseline: prod, {len(prod.resources)} resources, the same bytes written")
        print(f"   medians of {args.runs} interleaved runs after one warm-up each")
        print(f"   {'':<16}{HEADER}")
        timed = interleaved(baseline, args.runs, env)
        for name, samples in timed.items():
            print(f"   {name:<16}{samples.row()}")
        render, flat = timed["offline.render"], timed["offline.flat"]
        pairs = [r / f for r, f in zip(render.cpu, flat.cpu, strict=True)]
        print(
            f"   ratio render/flat: CPU {statistics.median(render.cpu) / statistics.median(flat.cpu):.2f} "
            f"(per-round ratios {min(pairs):.2f}-{max(pairs):.2f}), "
            f"wall {statistics.median(render.wall) / statistics.median(flat.wall):.2f}  (target <= 1.5)"
        )
        if args.instructions:
            counted = {name: instructions(cmd, env) for name, cmd in baseline.items()}
            ratio = counted["offline.render"] / counted["offline.flat"]
            shown = ", ".join(f"{name} {count / 1e9:.3f} G" for name, count in counted.items())
            print(f"   instructions (valgrind): {shown}; ratio {ratio:.3f}")

        print()
        print(f"2. per-server cost: prod + n user-defined servers, whole processes, {args.runs} interleaved runs")
        print("   render = python -m offline.render; flat = the flat baseline over the same resources")
        edges = {}
        resources = {}
        commands: dict[str, list[str]] = {}
        for n in args.servers:
            run = run_program("prod", config=scaled_config(n))
            resources[n] = len(run.resources)
            edges[n] = sum(len(r.dependencies) for r in run.resources)
            write_records(run, scratch / f"records-{n}.json")
            commands[f"render {n}"] = [
                *(python, "-m", "offline.render", "--stack", f"bench-{n}"),
                *("--root", str(project), "--out", str(scratch / "render")),
            ]
            commands[f"flat {n}"] = [
                *(python, "-m", "offline.flat", "--input", str(scratch / f"records-{n}.json")),
                *("--out", str(scratch / "flat")),
            ]
        timed = interleaved(commands, args.runs, env)
        print(f"   {'':<7}{'n':>5} {'resources':>10} {'edges':>7}  {HEADER}")
        for n in args.servers:
            for kind in ("render", "flat"):
                print(f"   {kind:<7}{n:>5} {resources[n]:>10} {edges[n]:>7}  {timed[f'{kind} {n}'].row()}")
        steps = list(zip(args.servers, args.servers[1:], strict=False))
        if len(steps) > 1:
            steps.append((args.servers[0], args.servers[-1]))
        for a, b in steps:
            per = {
                kind: (statistics.median(timed[f"{kind} {b}"].cpu) - statistics.median(timed[f"{kind} {a}"].cpu))
                / (b - a)
                * 1000
                for kind in ("render", "flat")
            }
            print(
                f"   n {a:>3} -> {b:<3}: render {per['render']:5.1f} ms CPU per server (flat {per['flat']:5.1f}), "
                f"{(edges[b] - edges[a]) / (b - a):4.1f} edges and {(resources[b] - resources[a]) / (b - a):3.1f} "
                "resources per server"
            )
        print("   (linear: the same figures at every step; target <= 5 ms per server)")
        if args.instructions:
            low, high = args.servers[0], args.servers[-1]
            for kind in ("render", "flat"):
                counts = {n: instructions(commands[f"{kind} {n}"], env) for n in (low, high)}
                per_server = (counts[high] - counts[low]) / (high - low) / 1e6
                print(
                    f"   instructions (valgrind), {kind}: n={low} {counts[low] / 1e9:.3f} G, "
                    f"n={high} {counts[high] / 1e9:.3f} G, {per_server:.1f} M per server"
                )
    finally:
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
