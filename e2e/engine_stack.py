"""The `e2e` stack through the real Pulumi engine: its project folder, the policy pack's
virtualenv, and the cluster side of bring-your-own (what a platform team installed before
the stack's first `pulumi up`).

The stack file (e2e/tests/Pulumi.e2e.yaml) installs no chart: every controller it relies
on is one the control plane of `make e2e` runs (the ToolHive operator, Sealed Secrets) or
stands in for with the objects the stack reads (namespaces, the IngressClass, the
collector Service; the CRDs of ../shared/crds are already applied by `e2e.live.cluster`).
The controllers run as the stack would install them: their chart values come from the
same config rendered with the installs switched on.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.config import PROJECT, StackConfig
from components.existing import NIC_CONTROLLER
from components.monitoring import OTLP_HTTP_PORT
from e2e.engine import python_project
from e2e.stack import SealedCredential, releases_of, seal_credentials
from offline import policy_run
from offline.harness import PROJECT_ROOT, read_stack_file, run_program, with_overrides

STACK = "e2e"
STACK_DIR = Path(__file__).resolve().parent / "tests"  # holds Pulumi.e2e.yaml
POLICY_PACK = PROJECT_ROOT / "policies"
# An IngressClass of another controller (kubernetes/ingress-nginx's), for the check that
# the edge refuses to write F5 annotations for it.
FOREIGN_INGRESS_CLASS = ("ingress-nginx", "k8s.io/ingress-nginx")

PROGRAM = f"""\
# The e2e stack's program: the repository's __main__.py with the skip-await transform
# (e2e/engine_program.py). Written by e2e/engine_stack.py.
import sys
from pathlib import Path

sys.path.insert(0, {str(PROJECT_ROOT)!r})
from e2e.engine_program import main

main(Path({str(PROJECT_ROOT)!r}))
"""


def stack_config() -> dict[str, Any]:
    """Pulumi.e2e.yaml as Pulumi reads it (full keys)."""
    return read_stack_file(STACK, STACK_DIR)


def validated() -> StackConfig:
    """Pulumi.e2e.yaml as the program reads it, validated."""
    return policy_run.stack_config(STACK, root=STACK_DIR)


def write_project(folder: Path, sealing_cert: Path) -> tuple[Path, list[SealedCredential]]:
    """The project folder: Pulumi.yaml (this project's name, so `--stack e2e` names the
    same stack from the repository root), the program, and Pulumi.e2e.yaml with every
    credential sealed for the run's key by `python -m mcpds seal --write`."""
    project = python_project(folder, PROJECT, PROGRAM)
    sealed = seal_credentials(STACK, project, sealing_cert, source=STACK_DIR)
    return project, sealed


def platform_objects(config: StackConfig) -> list[dict[str, Any]]:
    """What the stack relies on besides the CRDs and the running controllers."""
    mon, edge = config.monitoring, config.edge
    namespaces = {config.toolhive.namespace, edge.cert_manager_namespace, edge.namespace, mon.namespace}
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": _by_platform()}}
        for n in sorted(namespaces)
    ]
    for name, controller in ((edge.ingress_class, NIC_CONTROLLER), FOREIGN_INGRESS_CLASS):
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": name, "labels": _by_platform()},
                "spec": {"controller": controller},
            }
        )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": mon.existing_collector_service, "namespace": mon.namespace, "labels": _by_platform()},
            "spec": {
                "selector": {"app.kubernetes.io/name": "opentelemetry-collector"},
                "ports": [{"name": "otlp-http", "port": OTLP_HTTP_PORT, "targetPort": OTLP_HTTP_PORT}],
            },
        }
    )
    return out


def _by_platform() -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "e2e-platform"}


def controller_releases(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The chart releases of the controllers the stack brings its own of, as this very
    config would install them (rendered with the installs switched on)."""
    installing = with_overrides(
        config,
        {"toolhive.install_operator": True, "secrets.sealed.install_controller": True, "secrets.allow_missing": True},
    )
    return releases_of(run_program(STACK, config=installing))


def policy_virtualenv(pack: Path = POLICY_PACK) -> Path:
    """The pack's own virtualenv (PulumiPolicy.yaml runtime `virtualenv: venv`) from its
    requirements.txt, as a user makes it; remade when the requirements change."""
    venv = pack / "venv"
    requirements = pack / "requirements.txt"
    stamp = venv / ".requirements-sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest and (venv / "bin" / "python").is_file():
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
         str(requirements)],
        check=True,
    )  # fmt: skip
    stamp.write_text(digest)
    return venv
