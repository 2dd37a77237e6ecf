"""The system tools `make test` needs, checked before anything runs (standard library only:
it runs before `.venv` exists).

    python3 -m offline.prereqs

Prints each missing one with its install command and exits 2; prints nothing and exits 0
when all are there. `tests/test_verify.py` runs MCP servers behind a real nginx with an
openssl-made certificate; `tests/test_image_digests.py` runs the deploy's digest script,
which reads JSON with jq; `make penrose-test` needs Node.js and npm; the schema tests need
the CRD schemas, the chart tests the charts' values contracts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MIN = (20, 19)
# Debian/Ubuntu first (what CI runs), then macOS.
INSTALL = {
    "nginx": "apt-get install nginx (macOS: brew install nginx)",
    "openssl": "apt-get install openssl (macOS: brew install openssl)",
    "jq": "apt-get install jq (macOS: brew install jq)",
    "node": f"Node.js {NODE_MIN[0]}.{NODE_MIN[1]} or newer with npm: apt-get install nodejs npm, or nodejs.org",
    "npm": "apt-get install npm (it comes with the nodejs.org installers)",
}


def _which(tool: str, environ: Mapping[str, str]) -> str | None:
    found = shutil.which(tool, path=environ.get("PATH"))
    if found is None and tool == "nginx" and os.access("/usr/sbin/nginx", os.X_OK):
        return "/usr/sbin/nginx"  # Debian's nginx is outside a non-root PATH
    return found


def node_version(node: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except OSError:
        return None
    match = re.match(r"v?(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def crd_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Where offline/schema.py looks for CRD schemas, in its order."""
    dirs = [Path(environ["CRD_SCHEMA_DIR"])] if environ.get("CRD_SCHEMA_DIR") else []
    return [*dirs, ROOT.parent / "shared" / "crds", ROOT / "build" / "crds"]


def chart_contract_dir(environ: Mapping[str, str]) -> Path:
    """Where offline/chart_contract.py looks for the pinned charts' values contracts."""
    return Path(environ.get("CHART_CONTRACT_DIR") or ROOT.parent / "shared" / "charts")


def missing(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per missing prerequisite: what, and how to install it."""
    env = os.environ if environ is None else environ
    problems = [f"{tool}: {INSTALL[tool]}" for tool in ("nginx", "openssl", "jq") if _which(tool, env) is None]
    node = _which("node", env)
    version = node_version(node) if node else None
    if version is None or version < NODE_MIN:
        found = f" (found {version[0]}.{version[1]})" if version else ""
        problems.append(f"node{found}: {INSTALL['node']}")
    elif _which("npm", env) is None:
        problems.append(f"npm: {INSTALL['npm']}")
    if not any(d.is_dir() for d in crd_dirs(env)):
        problems.append("CRD schemas: run `make crds` (extracts them from the pinned charts), or set CRD_SCHEMA_DIR")
    if not chart_contract_dir(env).is_dir():
        problems.append(
            "chart values contracts: set CHART_CONTRACT_DIR to a directory of <chart>-<version>/ folders holding "
            "each pinned chart's Chart.yaml, values.yaml and values.schema.json (docs/verification.md)"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    extra = sys.argv[1:] if argv is None else argv
    if extra:  # the usage contract of mcpds.cli, without importing it (this runs before .venv exists)
        print(
            f"mcpds: error: unexpected argument {extra[0]!r}: python -m offline.prereqs takes no arguments",
            file=sys.stderr,
        )
        return 2
    problems = missing()
    for line in problems:
        print(f"mcpds: error: make test needs {line}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
