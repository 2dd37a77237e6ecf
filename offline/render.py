"""`make render STACK=<stack>`: write every object and Helm release of a stack to YAML.

    python -m offline.render --stack dev [--out build/render]

Writes `<out>/<stack>/objects.yaml` (every Kubernetes object, one document each, as
`kubectl apply` would take it: ints as ints, secrets redacted, sorted by kind,
namespace and name), `<out>/<stack>/releases.yaml` (every Helm release with its
chart, repository, version and values) and `<out>/<stack>/outputs.json` (the stack
outputs as `pulumi stack output --json` prints them: secret outputs as "[secret]"),
then prints one line per kind. `python -m mcpds client-config --outputs
<out>/<stack>/outputs.json` works from that file without a cluster.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import yaml

from mcpds.cli import PREFIX, UsageParser, cannot_write
from mcpds.outputs import SECRET_OUTPUT
from offline.harness import PROJECT_ROOT, ProgramRun, StackFileError, run_program
from offline.libyaml import CLoader


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    """Multi-line strings (dashboards, configs) as literal blocks."""
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class PythonDumper(yaml.SafeDumper):
    """The pure-Python writer: the reference the C writer must match byte for byte."""


class CDumper(yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper):  # type: ignore[misc]
    """libyaml's emitter (5x faster), where the PyYAML wheel has it; tests/test_render.py
    proves it writes the same bytes as PythonDumper for every stack."""


def load_all(text: str) -> list[Any]:
    """The documents of a YAML stream (objects.yaml, releases.yaml), read with libyaml."""
    return list(yaml.load_all(text, Loader=CLoader))


for _dumper in (PythonDumper, CDumper):
    _dumper.add_representer(str, _str_presenter)


def dump_all(documents: list[Any], dumper: type[PythonDumper | CDumper] = CDumper) -> str:
    """Block-style YAML documents with nested keys sorted; each document's top-level order is kept."""
    docs = [{k: _sorted(v) for k, v in d.items()} if isinstance(d, dict) else d for d in documents]
    return yaml.dump_all(docs, Dumper=dumper, sort_keys=False, default_flow_style=False, width=120)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def stack_outputs(run: ProgramRun) -> dict[str, Any]:
    """The stack outputs as `pulumi stack output --json` prints them, secrets hidden."""
    return {k: SECRET_OUTPUT if k in run.secret_outputs else v for k, v in sorted(run.outputs.items())}


def write_render(
    run: ProgramRun, out_dir: Path, objects: list[Any] | None = None, releases: list[Any] | None = None
) -> tuple[Path, Path, Path]:
    """Write objects.yaml, releases.yaml and outputs.json for a finished run (its objects()
    and releases(), unless given already); returns the paths.

    Files are written to a temporary name and renamed, so a failed render never leaves
    a half-written file where a good one was.
    """
    target = out_dir / run.stack
    target.mkdir(parents=True, exist_ok=True)
    objects_path = target / "objects.yaml"
    releases_path = target / "releases.yaml"
    outputs_path = target / "outputs.json"
    texts = (
        (objects_path, dump_all(run.objects() if objects is None else objects)),
        (releases_path, dump_all(run.releases() if releases is None else releases)),
        (outputs_path, json.dumps(stack_outputs(run), indent=2) + "\n"),
    )
    for path, text in texts:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return objects_path, releases_path, outputs_path


def summary(objects: list[Any], releases: list[Any]) -> list[str]:
    kinds = Counter(f"{o['apiVersion']} {o['kind']}" for o in objects)
    lines = [f"{count:4d}  {kind}" for kind, count in sorted(kinds.items(), key=lambda kv: kv[0].split()[-1])]
    lines.append(f"{len(releases):4d}  Helm releases")
    return lines


# Pulumi stack names: letters, digits, '-', '_' and '.' (no path separators).
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _argument_problem(args: argparse.Namespace) -> str | None:
    """A one-line problem with the arguments, found before the (slow) program run."""
    if not _STACK_NAME.match(args.stack) or args.stack in (".", ".."):
        return f"--stack {args.stack!r} is not a stack name (letters, digits, '-', '_', '.'; e.g. dev or prod)"
    if args.root is not None and not args.root.is_dir():
        return f"--root {args.root} is not a directory: pass the project directory (the one with Pulumi.yaml)"
    for parent in (args.out, *args.out.parents):
        if parent.exists():
            if not parent.is_dir():
                return f"--out {args.out}: {parent} is a file, not a directory"
            break
    return None


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="python -m offline.render", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "render", help="output directory")
    parser.add_argument(
        "--root", type=Path, help="project directory (default: this repo, stack files from $MCPDS_STACK_DIR if set)"
    )
    args = parser.parse_args(argv)

    problem = _argument_problem(args)
    if problem:
        print(f"{PREFIX}{problem}", file=sys.stderr)
        return 2
    # What is loaded so far (the SDK, the harness) lives until exit: keep the collector
    # from scanning it again on every full collection of this short process.
    gc.freeze()
    try:
        run = run_program(args.stack, root=args.root.resolve() if args.root else None)
    except (StackFileError, pulumi.RunError) as exc:  # RunError: the program's own clean failure
        print(f"{PREFIX}{exc}", file=sys.stderr)
        return 2
    objects, releases = run.objects(), run.releases()
    try:
        paths = write_render(run, args.out, objects, releases)
    except OSError as exc:
        print(PREFIX + cannot_write(exc, exc.filename or args.out, "--out"), file=sys.stderr)
        return 2
    print(f"Stack {args.stack}: {len(objects)} objects, {len(releases)} Helm releases")
    for line in summary(objects, releases):
        print(line)
    for level, message in run.logs:
        if level in ("warning", "error"):
            print(f"{level}: {message}", file=sys.stderr)
    for path in paths:
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
