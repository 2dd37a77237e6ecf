"""`make bench`: whole-process render time and peak memory per stack.

    python -m offline.bench [--runs 5]

Each figure is a fresh `python -m offline.render` process (interpreter start, imports,
the mocked Pulumi run, schema-free YAML output), timed from outside; the median of
`--runs` runs is printed with the peak RSS of the slowest run. Stacks: dev, prod, and
prod plus 50 user-defined MCP servers (a scaling check of the plan and the components).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from offline.harness import PROJECT, PROJECT_ROOT, read_stack_file

EXTRA_SERVERS = 50


def _measure(args: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(args)} failed: {err}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


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


def _with_extra_servers(root: Path, count: int) -> Path:
    """A project copy whose `bench` stack is prod plus `count` user-defined servers."""
    project = Path(tempfile.mkdtemp(prefix="mcp-bench-"))
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(root / name, project / name)
    shutil.copytree(root / "components", project / "components", ignore=shutil.ignore_patterns("__pycache__"))
    config = scaled_config(count, root=root)
    (project / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    args = parser.parse_args(argv)

    extra = _with_extra_servers(PROJECT_ROOT, EXTRA_SERVERS)
    out = Path(tempfile.mkdtemp(prefix="mcp-bench-out-"))
    cases = [
        ("dev", PROJECT_ROOT, "dev"),
        ("prod", PROJECT_ROOT, "prod"),
        (f"prod + {EXTRA_SERVERS} servers", extra, "bench"),
    ]
    print(f"whole-process `python -m offline.render`, median of {args.runs} runs")
    print(f"{'stack':<22} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13} {'objects':>8}")
    try:
        for label, root, stack in cases:
            cmd = [sys.executable, "-m", "offline.render", "--stack", stack, "--root", str(root), "--out", str(out)]
            times, peaks = [], []
            for _ in range(args.runs):
                elapsed, peak = _measure(cmd, PROJECT_ROOT)
                times.append(elapsed)
                peaks.append(peak)
            objects = sum(1 for _ in yaml.safe_load_all((out / stack / "objects.yaml").read_text()))
            print(
                f"{label:<22} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f} "
                f"{max(peaks):>13.0f} {objects:>8}"
            )
    finally:
        shutil.rmtree(extra, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
