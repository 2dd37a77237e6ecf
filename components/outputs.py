"""The outputs sidecar: the files an MCP server writes for its users, served read-only at
`https://<domain><route>/outputs/<name>` (docs/components.md, Outputs users can open).

How the files get to a URL, given how ToolHive v0.44.0 runs a server:

- The operator hands the MCPServer's `podTemplateSpec` to the proxy runner
  (`--k8s-pod-patch`, cmd/thv-operator/controllers/mcpserver_controller.go), which copies
  its pod spec into the backend StatefulSet and configures only the container named `mcp`
  (pkg/container/kubernetes/client.go applyPodTemplatePatch, configureMCPContainer). A
  second container and its volumes reach the pod as written; the runner attaches to a
  stdio server and reads logs by that container name (AttachToWorkload, GetWorkloadLogs).
- The runner's backend Services carry the MCP port only and exist for HTTP transports
  alone (createMCPService); the stdio proxy serves MCP and nothing else. So a server's
  files cannot reach the edge through ToolHive: the sidecar gets a Service of ours,
  selecting the backend pods by the runner's labels (plan.backend_selector, checked
  against the live StatefulSet in e2e/tests/test_operator_facts.py).

The sidecar shares one emptyDir with the `mcp` container (mounted where the server
writes), runs `outputs_server.py` from the data exploration image this project already
builds (standard library only), serves only names of at least 128 random bits with
headers that keep an HTML chart to its own scripts, and deletes files by age and size.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from components import netpol
from components.contracts import OutputsBackend
from components.k8s import container_security_context
from components.quantities import parse_quantity
from components.server_spec import Outputs

CONTAINER = "outputs"
VOLUME = "outputs"
PORT = 8090
PORT_NAME = "outputs"
MOUNT = "/outputs"  # the outputs volume inside the sidecar
# The SERVER_IMAGES entry whose image carries the server, and where (images/mcp-server-ds/Dockerfile).
IMAGE_KEY = "data-exploration"
COMMAND = ("/opt/venv/bin/python", "-I", "/opt/mcpds/outputs_server.py")
# Python's http.server with one thread per request, files streamed in 64 KiB chunks
# (idle RSS measured in tests/live/test_outputs.py).
RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "96Mi"}}
# Retention keeps the files within this share of the volume's sizeLimit, so a burst
# between two sweeps never reaches the limit at which the kubelet evicts the pod.
FILL = Decimal("0.8")
SWEEP_SECONDS = 60


def service_name(server: str) -> str:
    """Our Service for a server's sidecar. The operator and runner name theirs mcp-<n>-proxy,
    mcp-<n> and mcp-<n>-headless, so no server name makes one of theirs collide with this."""
    return f"outputs-{server}"


@dataclass(frozen=True)
class OutputsPlan:
    """One server's outputs as this stack runs them."""

    server: str
    spec: Outputs  # the catalog's facts: directory, file types, script sources
    image: str  # the sidecar's image reference (before digest pins)
    size: str  # sizeLimit of the outputs volume
    max_age_seconds: int
    base_url: str | None  # https://<host><route>/outputs; None while the server is not published

    @property
    def max_bytes(self) -> int:
        return int(parse_quantity(self.size) * FILL)

    @property
    def backend(self) -> OutputsBackend:
        return OutputsBackend(service=service_name(self.server), port=PORT)


def volume(outputs: OutputsPlan) -> dict[str, Any]:
    return {"name": VOLUME, "emptyDir": {"sizeLimit": outputs.size}}


def server_mount(outputs: OutputsPlan) -> dict[str, Any]:
    """The `mcp` container writes its outputs here."""
    return {"name": VOLUME, "mountPath": outputs.spec.directory}


def container(outputs: OutputsPlan, image: str, uid: int) -> dict[str, Any]:
    """The sidecar container, hardened like every container of the pod; `image` is the
    reference with its digest where the stack pins one."""
    probe = {"httpGet": {"path": "/healthz", "port": PORT_NAME}, "timeoutSeconds": 2, "failureThreshold": 3}
    env = {
        "OUTPUTS_DIR": MOUNT,
        "OUTPUTS_PORT": str(PORT),
        "OUTPUTS_EXTENSIONS": ",".join(outputs.spec.extensions),
        "OUTPUTS_SCRIPT_SOURCES": " ".join(outputs.spec.script_sources),
        "OUTPUTS_MAX_AGE_SECONDS": str(outputs.max_age_seconds),
        "OUTPUTS_MAX_BYTES": str(outputs.max_bytes),
        "OUTPUTS_SWEEP_SECONDS": str(SWEEP_SECONDS),
    }
    return {
        "name": CONTAINER,
        "image": image,
        "command": list(COMMAND),
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "volumeMounts": [{"name": VOLUME, "mountPath": MOUNT}],
        "resources": RESOURCES,
        "securityContext": container_security_context(uid=uid),
        "readinessProbe": {**probe, "periodSeconds": 10},
        "livenessProbe": {**probe, "periodSeconds": 30, "initialDelaySeconds": 5},
    }


def service_spec(backend_selector: dict[str, str]) -> dict[str, Any]:
    """ClusterIP, the sidecar's port only: nothing of the `mcp` container is behind it."""
    return {
        "type": "ClusterIP",
        "selector": dict(backend_selector),
        "ports": [{"name": PORT_NAME, "port": PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
    }


def network_policy(backend_selector: dict[str, str], edge_namespace: str) -> dict[str, Any]:
    """The edge, and nothing else, reaches the sidecar's port of the backend pod (the
    backend's own policy keeps everything else out, and its egress as it is)."""
    return {
        "podSelector": {"matchLabels": dict(backend_selector)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [netpol.namespace_peer(edge_namespace)], "ports": netpol.ports([PORT])}],
    }
