"""What components hand each other: plain, typed facts, never secret values.

Components are built in dependency order by `__main__.py`. Where two components need
facts about each other (the edge routes to MCP Services, Prometheus scrapes them, the
MCP servers send traces to the collector), the facts are computed from config by pure
functions and passed as these records, so no component reads another's config and no
construction-order cycle appears.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SecretRef:
    """Where a credential lives: a Kubernetes Secret's name and key, never its value."""

    namespace: str
    name: str
    key: str


# Where a route publishes the files its server writes for users: `<route>/outputs/<name>`,
# served by the server itself (Penrose, an extra path) or by the outputs sidecar.
OUTPUTS_PATH = "/outputs/"


@dataclass(frozen=True)
class OutputsBackend:
    """The Service of a server's outputs sidecar (components/outputs.py), in the route's
    namespace: the edge sends `<route>/outputs/<name>` there as `/<name>`."""

    service: str
    port: int


@dataclass(frozen=True)
class Route:
    """One published MCP endpoint: the edge maps `path` (and `host`, if set) to a Service.

    The edge strips `path` before the request reaches the Service, so `/huggingface/mcp`
    arrives at the ToolHive proxy as `/mcp`.
    """

    name: str  # server or group name, e.g. "huggingface", "gov-data"
    path: str  # public path prefix on the domain, e.g. "/huggingface"
    namespace: str
    service: str  # e.g. "mcp-huggingface-proxy" (ToolHive) or the vMCP Service
    port: int
    mcp_path: str = "/mcp"  # the MCP endpoint on the Service
    # Further sub-paths of the Service that clients need, relative to its root,
    # e.g. ("/outputs/",) for Penrose SVGs. Never "/metrics".
    extra_paths: tuple[str, ...] = ()
    health_path: str | None = "/health"  # published only if the edge config asks
    host: str | None = None  # optional dedicated host, e.g. "huggingface.finetunings.ai"
    requires_auth: bool = False  # OIDC in front: OAuth protected-resource metadata is published
    executes_code: bool = False  # runs caller-supplied code (policy: never public without auth)
    outputs: OutputsBackend | None = None  # the outputs sidecar, published at <path>/outputs/


@dataclass(frozen=True)
class WebRoute:
    """A browser UI published on its own host (Grafana, Jaeger): never public without
    the edge allowlist or authentication."""

    name: str
    host: str
    namespace: str
    service: str
    port: int


@dataclass(frozen=True)
class ScrapeTarget:
    """A Service Prometheus scrapes through a ServiceMonitor."""

    name: str  # ServiceMonitor name
    namespace: str  # the Service's namespace
    selector: dict[str, str] = field(hash=False)  # the Service's labels to match
    port: str = "http"  # Service port *name*
    path: str = "/metrics"
    interval: str = "30s"


@dataclass(frozen=True)
class CredentialSpec:
    """A credential some component needs as a Kubernetes Secret.

    The component that consumes it declares it (from config, by a pure function); the
    SecretsLayer materialises every declared spec with the configured backend and hands
    back SecretRefs. Names and keys never depend on the backend, so switching backend
    changes no consumer's objects.
    """

    id: str  # stable id, the key under which values/ciphertexts are configured, e.g. "hf-token"
    namespace: str
    secret_name: str
    keys: tuple[str, ...]  # keys inside the Secret, e.g. ("token",)
    purpose: str  # one line for docs and error messages
    required: bool = True  # False: the consumer runs without it (e.g. anonymous HF access)

    def ref(self, key: str | None = None) -> SecretRef:
        """The reference to one key (the only key when there is one)."""
        if key is None:
            if len(self.keys) != 1:
                raise ValueError(f"credential {self.id} has keys {self.keys}: name one")
            key = self.keys[0]
        if key not in self.keys:
            raise ValueError(f"credential {self.id} has no key {key!r} (keys: {', '.join(self.keys)})")
        return SecretRef(self.namespace, self.secret_name, key)


@dataclass(frozen=True)
class TelemetryTarget:
    """Where MCP proxies send OpenTelemetry data (MCPTelemetryConfig.spec.openTelemetry).

    ToolHive exports OTLP over HTTP and strips any scheme from the endpoint
    (stacklok/toolhive spectoconfig/telemetry.go), so this is `host:port`, port 4318.
    """

    otlp_http_endpoint: str  # e.g. "otel-collector.monitoring.svc.cluster.local:4318"
    sampling_rate: str  # a decimal string 0..1, as the CRD wants it, e.g. "0.05"
    insecure: bool = True  # in-cluster plaintext OTLP; NetworkPolicies confine it
