"""A stack as rendered, with credentials sealed by `python -m mcpds seal`, applied to the
control plane by server-side apply in dependency order, every API-server warning kept.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from e2e.kube import Kube, describe
from offline.harness import PROJECT_ROOT, ProgramRun, read_stack_file, run_program, stack_dir
from offline.schema import crd_dir

SCOPES = ("strict", "namespace-wide", "cluster-wide")  # mcpds.seal.SCOPES, each used in turn


@dataclass(frozen=True)
class SealedCredential:
    """One credential the run sealed: where its Secret must appear and what it must hold."""

    id: str
    namespace: str
    name: str
    scope: str
    values: Mapping[str, str]


@dataclass
class ApplyReport:
    applied: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (object, warning)
    seconds: float = 0.0


# Apply order: what others need first. Namespaces and CRDs come before everything; the
# objects that ToolHive resources reference (configs, groups) before the resources; the
# policies and routes that select workloads last. Unlisted kinds sit in the middle.
_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "PriorityClass",
    "ServiceAccount",
    "ClusterRole",
    "Role",
    "ClusterRoleBinding",
    "RoleBinding",
    "SealedSecret",
    "Secret",
    "ConfigMap",
    "Service",
    "MCPTelemetryConfig",
    "MCPOIDCConfig",
    "MCPToolConfig",
    "MCPGroup",
    "MCPServer",
    "VirtualMCPServer",
)
_LAST = ("NetworkPolicy", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "Ingress")


def apply_rank(obj: Mapping[str, Any]) -> tuple[int, str, str, str]:
    kind = obj.get("kind", "")
    if kind in _ORDER:
        rank = _ORDER.index(kind)
    elif kind in _LAST:
        rank = len(_ORDER) + 1 + _LAST.index(kind)
    else:
        rank = len(_ORDER)
    meta = obj.get("metadata", {})
    return (rank, kind, meta.get("namespace", ""), meta.get("name", ""))


def crd_documents(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the CRD folder (../shared/crds or $CRD_SCHEMA_DIR)."""
    folder = directory or crd_dir()
    out = []
    for path in sorted(folder.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                out.append(doc)
    if not out:
        raise FileNotFoundError(f"no CRDs under {folder}: set CRD_SCHEMA_DIR or put shared/crds beside the repo")
    return out


def apply_all(kube: Kube, objects: Iterable[Mapping[str, Any]], report: ApplyReport, *, dry_run: bool = False) -> None:
    """Server-side apply each object in dependency order; a refusal raises ApiError with the
    API server's message, warnings go to `report`. `dry_run`: admitted and validated, not stored."""
    started = time.monotonic()
    pending: list[str] = []  # CRDs applied, not yet waited for
    for obj in sorted(objects, key=apply_rank):
        if obj["kind"] != "CustomResourceDefinition" and pending:
            for name in pending:
                wait_established(kube, name)
            pending.clear()
            kube.forget_discovery()  # their kinds are served now
        response = kube.apply(obj, dry_run=dry_run)
        name = describe(obj)
        report.applied.append(name)
        report.warnings += [(name, w) for w in response.warnings]
        if obj["kind"] == "CustomResourceDefinition" and not dry_run:
            pending.append(obj["metadata"]["name"])
    for name in pending:
        wait_established(kube, name)
    kube.forget_discovery()
    report.seconds += time.monotonic() - started


def wait_established(kube: Kube, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
        if conditions.get("Established") == "True":
            return
        time.sleep(0.1)
    raise TimeoutError(f"CRD {name} is not Established after {timeout:.0f} s")


# -- the stack's credentials, sealed with the real command line ---------------------------


def seal_credentials(stack: str, project: Path, cert: Path, source: Path | None = None) -> list[SealedCredential]:
    """Copy Pulumi.<stack>.yaml from `source` (default: stack_dir()) into `project`, then seal a fresh random
    value for every key of every credential the stack declares with `python -m mcpds seal
    --write`, the scopes taken in turn so that each scope is exercised."""
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy2((source or stack_dir()) / f"Pulumi.{stack}.yaml", project / f"Pulumi.{stack}.yaml")
    from mcpds.seal import declared_credentials  # the list `seal --write` checks against

    specs = declared_credentials(read_stack_file(stack, project), stack)
    if specs is None:
        raise ValueError(f"Pulumi.{stack}.yaml does not load as a stack config")
    sealed = []
    for index, spec in enumerate(sorted(specs.values(), key=lambda s: s.id)):
        scope = SCOPES[index % len(SCOPES)]
        values = {key: f"e2e-{spec.id}-{key}-{secrets.token_hex(8)}" for key in spec.keys}
        for key, value in values.items():
            _seal(
                stack,
                project,
                cert,
                namespace=spec.namespace,
                name=spec.secret_name,
                key=key,
                credential=spec.id,
                scope=scope,
                value=value,
            )
        sealed.append(SealedCredential(spec.id, spec.namespace, spec.secret_name, scope, values))
    return sealed


def _seal(
    stack: str,
    project: Path,
    cert: Path,
    *,
    namespace: str,
    name: str,
    key: str,
    credential: str,
    scope: str,
    value: str,
) -> None:
    argv = [
        sys.executable, "-m", "mcpds", "seal", "--cert", str(cert), "--namespace", namespace, "--name", name,
        "--key", key, "--id", credential, "--scope", scope, "--from-env", "E2E_SEAL_VALUE",
        "--stack", stack, "--write", "--project-dir", str(project),
    ]  # fmt: skip
    done = subprocess.run(
        argv,
        cwd=PROJECT_ROOT,
        env=os.environ | {"E2E_SEAL_VALUE": value},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mcpds seal {credential}/{key} failed: {done.stderr.strip()}")


def render(stack: str, project: Path) -> ProgramRun:
    """The program under mocks with the stack file from `project` (its sealed values)."""
    return run_program(stack, config=read_stack_file(stack, project))


def releases_of(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run.releases()}


def by_kind(objects: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]
