"""The flat baseline of `make bench`: the same resources, registered with no program code.

    python -m offline.flat --input records.json [--out DIR]

Runs `offline/flat_program/__main__.py` under the same harness as `offline.render` over
the records `write_records` saved from a real run, and writes objects.yaml and
releases.yaml the same way, so the two processes differ only in the program.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

from offline.harness import ProgramRun, run_program
from offline.render import write_render

FLAT_PROGRAM = Path(__file__).resolve().parent / "flat_program"


def write_records(run: ProgramRun, path: Path) -> None:
    """What the flat program registers: every resource of `run`, secrets redacted, and
    the stack's name (so that the flat run makes the same URNs)."""
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "custom": r.custom,
            "parent": r.parent,
            "dependencies": r.dependencies,
            "inputs": r.redacted(),
            "version": r.options["version"],
            "aliases": [a["spec"]["type"] for a in r.options["aliases"]],
            "additional_secret_outputs": r.options["additional_secret_outputs"],
        }
        for r in run.resources
    ]
    path.write_text(json.dumps({"stack": run.stack, "resources": resources}))


def run_flat(records: Path) -> ProgramRun:
    stack = json.loads(records.read_text())["stack"]
    return run_program(stack, config={"flat:input": str(records.resolve())}, root=FLAT_PROGRAM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.flat", description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="records written by write_records")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    gc.freeze()  # as offline.render does
    write_render(run_flat(args.input), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
