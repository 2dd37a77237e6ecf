"""One stack, live: the control plane, the stack's objects applied, the real controllers
reconciling them. `live_stack` is what the e2e tests use; `cluster` is the reusable part
(a control plane with the CRDs and the stack's controllers) for other e2e runs, such as
the Pulumi engine's, that create the stack's objects themselves.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components import plan
from e2e import controllers, pki
from e2e.controlplane import ControlPlane, control_plane
from e2e.kube import Kube
from e2e.stack import ApplyReport, SealedCredential, apply_all, crd_documents, releases_of, render, seal_credentials

# What the run needs from e2e.build
PROGRAMS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "thv-operator",
    "thv-proxyrunner",
    "sealed-secrets-controller",
)
SEALING_KEY_SECRET = "mcp-datascience-e2e-sealing-key"
RECONCILE_TIMEOUT = 180.0


@dataclass
class Cluster:
    """A running control plane with the CRDs and the stack's controllers."""

    plane: ControlPlane
    report: ApplyReport
    sealing_key: pki.KeyPair
    operator: controllers.ToolHiveOperatorSetup | None = None
    sealed_secrets: controllers.SealedSecretsSetup | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def kube(self) -> Kube:
        return self.plane.admin

    @property
    def kubeconfig(self) -> Path:
        return self.plane.admin_kubeconfig

    def start_controllers(self, binaries: Mapping[str, Path], releases: Mapping[str, Mapping[str, Any]]) -> None:
        """Install what the controllers' charts install (identity, RBAC, the sealing key)
        and start them. The watched namespaces must exist (the chart binds into them)."""
        started = time.monotonic()
        sealed = releases.get("sealed-secrets")
        if sealed is not None:
            self.sealed_secrets = controllers.sealed_secrets(sealed)
            setup = self.sealed_secrets
            controllers.install(self.kube, setup.objects)
            self.kube.apply(
                controllers.sealing_key_secret(
                    setup.namespace, SEALING_KEY_SECRET, self.sealing_key.cert, self.sealing_key.key
                )
            )
            controllers.start_sealed_secrets(self.plane, binaries["sealed-secrets-controller"], setup)
        operator = releases.get("toolhive-operator")
        if operator is not None:
            self.operator = controllers.toolhive_operator(operator)
            controllers.install(self.kube, self.operator.objects)
            controllers.start_toolhive_operator(self.plane, binaries["thv-operator"], self.operator)
        self.timings["controllers ready"] = time.monotonic() - started


@contextlib.contextmanager
def cluster(binaries: Mapping[str, Path], folder: Path) -> Iterator[Cluster]:
    """A control plane in `folder` with every CRD of ../shared/crds established."""
    with control_plane(binaries, folder) as plane:
        report = ApplyReport()
        apply_all(plane.admin, crd_documents(), report)
        key = pki.self_signed_rsa(plane.folder / "pki", "sealing", "sealed-secret", "sealed-secret")
        live = Cluster(plane, report, key, timings=dict(plane.timings))
        live.timings["CRDs established"] = report.seconds
        yield live


@dataclass
class LiveStack:
    stack: str
    cluster: Cluster
    objects: list[dict[str, Any]]  # the stack's rendered objects, as applied
    releases: dict[str, dict[str, Any]]
    sealed: list[SealedCredential]
    report: ApplyReport  # the stack's objects (CRDs are in cluster.report)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def kube(self) -> Kube:
        return self.cluster.kube

    def rendered(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]


@contextlib.contextmanager
def live_stack(stack: str, binaries: Mapping[str, Path], folder: Path) -> Iterator[LiveStack]:
    """The stack rendered with freshly sealed credentials, applied, and reconciled."""
    folder.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with cluster(binaries, folder / "cluster") as live:
        started = time.monotonic()
        sealed = seal_credentials(stack, folder / "project", live.sealing_key.cert)
        run = render(stack, folder / "project")
        objects, releases = run.objects(), releases_of(run)
        (folder / "objects.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
        timings["seal and render"] = time.monotonic() - started

        report = ApplyReport()
        apply_all(live.kube, [o for o in objects if o["kind"] == "Namespace"], report)
        live.start_controllers(binaries, releases)
        apply_all(live.kube, [o for o in objects if o["kind"] != "Namespace"], report)
        timings["apply"] = report.seconds

        started = time.monotonic()
        result = LiveStack(stack, live, objects, releases, sealed, report, timings)
        wait_reconciled(result)
        timings["operator reconciled"] = time.monotonic() - started
        started = time.monotonic()
        run_proxy_pods(result, binaries["thv-proxyrunner"])
        timings["proxy runners reconciled"] = time.monotonic() - started
        yield result


def wait_for(check: Callable[[], Sequence[str]], timeout: float, what: str) -> None:
    """Poll `check` (it returns what is still missing) until it returns nothing."""
    deadline = time.monotonic() + timeout
    missing: Sequence[str] = ()
    while time.monotonic() < deadline:
        missing = check()
        if not missing:
            return
        time.sleep(1.0)
    raise TimeoutError(f"after {timeout:.0f} s still no {what}: {', '.join(missing)}")


def wait_reconciled(live: LiveStack) -> None:
    """Until every controller has made its objects (the controllers' own, read back live)."""
    wait_operator(live.kube, live.rendered("MCPServer"), live.rendered("VirtualMCPServer"), live.sealed)


def wait_operator(
    kube: Kube,
    servers: Sequence[Mapping[str, Any]],
    vmcps: Sequence[Mapping[str, Any]] = (),
    sealed: Sequence[SealedCredential] = (),
) -> None:
    """Until the operator has made each server's and vMCP's Deployment and Service, the
    controller-manager their ReplicaSets, and Sealed Secrets each sealed Secret."""

    def missing() -> list[str]:
        out = []
        made = [(s, plan.proxy_service) for s in servers] + [(v, plan.vmcp_service) for v in vmcps]
        for owner, service in made:
            ns, name = owner["metadata"]["namespace"], owner["metadata"]["name"]
            if kube.get_or_none("apps/v1", "Deployment", name, ns) is None:
                out.append(f"Deployment {ns}/{name}")
            if kube.get_or_none("v1", "Service", service(name), ns) is None:
                out.append(f"Service {ns}/{service(name)}")
        for credential in sealed:
            if kube.get_or_none("v1", "Secret", credential.name, credential.namespace) is None:
                out.append(f"Secret {credential.namespace}/{credential.name}")
        for deployment in kube.list("apps/v1", "Deployment"):
            status = deployment.get("status", {})
            if status.get("observedGeneration", 0) < deployment["metadata"]["generation"] or (
                status.get("replicas", 0) < (deployment["spec"].get("replicas") or 0)
            ):
                meta = deployment["metadata"]
                out.append(f"ReplicaSet of {meta['namespace']}/{meta['name']}")
        return out

    wait_for(missing, RECONCILE_TIMEOUT, "reconciled objects")


def run_proxy_pods(live: LiveStack, binary: Path) -> None:
    """Run what each MCPServer's proxy pod runs (there is no kubelet)."""
    start_proxy_pods(live.cluster.plane, binary, live.rendered("MCPServer"))


def start_proxy_pods(plane: ControlPlane, binary: Path, servers: Sequence[Mapping[str, Any]]) -> None:
    """Start the proxy runner of each MCPServer's proxy Deployment (what its pod runs):
    the real runner makes the backend StatefulSet (and, for HTTP backends, its Service)."""
    for server in servers:
        meta = server["metadata"]
        deployment = plane.admin.get("apps/v1", "Deployment", meta["name"], meta["namespace"])
        controllers.start_proxy_runner(plane, binary, deployment)

    def missing() -> list[str]:
        return [
            f"StatefulSet {s['metadata']['namespace']}/{s['metadata']['name']}"
            for s in servers
            if plane.admin.get_or_none("apps/v1", "StatefulSet", s["metadata"]["name"], s["metadata"]["namespace"])
            is None
        ]

    wait_for(missing, RECONCILE_TIMEOUT, "backend StatefulSets")
