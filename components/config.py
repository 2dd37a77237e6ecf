"""The stack configuration: typed, validated once, before any resource exists.

Every key lives under the project namespace in `Pulumi.<stack>.yaml`, for example

    config:
      mcp-datascience:environment: prod
      mcp-datascience:toolhive:
        rbac_scope: namespace

Each top-level field of `StackConfig` is one Pulumi config key; sections are objects.
Models forbid unknown keys, so a typo fails loudly instead of being ignored. Reading
the config from Pulumi and the checks that need the MCP plan too live in
`stack_config.py`; a bad value raises `ConfigError` (`config_errors.py`), a
`pulumi.RunError`: Pulumi prints its message without a traceback, and the offline
tools print it and exit 2.

To extend the config for a new component, add a `Section` subclass and one field on
`StackConfig`; loading, error messages and the key table of docs/configuration.md need nothing else.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from components import versions
from components.catalog import CATALOG, GROUPS
from components.config_errors import ConfigError, did_you_mean
from components.config_types import (
    ChartVersion,
    Count,
    CpuMemory,
    DigestKey,
    DnsLabel,
    Domain,
    HttpsUrl,
    ImageDigest,
    ImageRegistry,
    KubernetesVersion,
    Number,
    Quantity,
    Resources,
    SamplingRate,
    Section,
    matching,
)
from components.quantities import parse_quantity
from components.server_spec import (
    Autoscale,
    Cidr,
    CustomServer,
    EgressRule,
    Port,
    ServerName,
    ServerOverride,
    SizeClass,
)

PROJECT = "mcp-datascience"
ENVIRONMENTS = ("dev", "staging", "prod")

# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


class ToolHiveConfig(Section):
    """`toolhive`: the ToolHive operator (two Helm charts, CRDs first)."""

    namespace: DnsLabel = "toolhive-system"
    # false: an operator someone else installed runs the MCP servers (it serves the
    # toolhive.stacklok.dev/v1beta1 API, chart 0.44.0 or later, and watches mcp.namespace);
    # the stack installs nothing in `namespace` and checks the API is served
    # (components/existing.py).
    install_operator: bool = True
    chart_version: ChartVersion = versions.TOOLHIVE_OPERATOR.version
    # Namespace scope is the production-safe default: the operator gets a RoleBinding
    # only in the namespaces it manages instead of cluster-wide rights.
    rbac_scope: Literal["cluster", "namespace"] = "namespace"
    # Empty means "the MCP namespace" (`mcp.namespace`). Used only with namespace scope.
    watched_namespaces: tuple[DnsLabel, ...] = ()
    # Chart 0.44.0 defaults (deploy/charts/operator/values.yaml).
    resources: Resources = Resources(
        requests=CpuMemory(cpu="10m", memory="64Mi"),
        limits=CpuMemory(cpu="500m", memory="128Mi"),
    )


def _sizes(small: tuple[str, str, str, str], medium: tuple[str, str, str, str], large: tuple[str, str, str, str]):
    def res(cpu_req: str, mem_req: str, cpu_lim: str, mem_lim: str) -> Resources:
        return Resources(requests=CpuMemory(cpu=cpu_req, memory=mem_req), limits=CpuMemory(cpu=cpu_lim, memory=mem_lim))

    return {"small": res(*small), "medium": res(*medium), "large": res(*large)}


# Production sizes of the MCP containers: the seed's range (2-8 GiB memory, 1-4 CPU),
# scaled by class. Pulumi.dev.yaml sets smaller ones.
PROD_SIZES = _sizes(("1", "2Gi", "2", "4Gi"), ("1", "2Gi", "3", "6Gi"), ("2", "4Gi", "4", "8Gi"))


class OidcConfig(Section):
    """An OpenID Connect issuer whose access tokens the ToolHive proxies accept."""

    issuer: HttpsUrl
    audience: str  # the `aud` the tokens must carry
    jwks_url: HttpsUrl | None = None  # discovered from the issuer when unset
    scopes: tuple[str, ...] = ("openid",)


class GroupOverride(Section):
    """`mcp.groups.<name>`: how a server group is published."""

    # true: one VirtualMCPServer at the group's path aggregates the members' tools;
    # false: each member is published on its own at <group path>/<member>.
    aggregate: bool = True
    # Unset: OIDC when a member runs caller-supplied code and mcp.oidc is set, else none.
    auth: Literal["none", "oidc"] | None = None


class OutputsConfig(Section):
    """`mcp.outputs`: the volume that holds the files servers write for users, and how long
    they stay (docs/components.md, Outputs users can open)."""

    # sizeLimit of each server's outputs emptyDir; the sidecar keeps the files within
    # OUTPUTS_FILL of it, deleting the oldest first, so the kubelet never evicts the pod.
    size: Quantity = "512Mi"
    # Files older than this are deleted.
    max_age_hours: Annotated[Count, Field(ge=1, le=24 * 30)] = 24

    @field_validator("size")
    @classmethod
    def _room(cls, value: str) -> str:
        if parse_quantity(value) < 16 * 2**20:
            raise ValueError("must be at least 16Mi (a chart or figure is up to a few MiB)")
        return value


class McpConfig(Section):
    """`mcp`: where and how the MCP servers run."""

    namespace: DnsLabel = "data-science"
    # Per-server changes to catalog servers, keyed by catalog name.
    servers: dict[str, ServerOverride] = Field(default_factory=dict)
    # Servers this stack adds, with the catalog schema.
    custom_servers: dict[ServerName, CustomServer] = Field(default_factory=dict)
    groups: dict[str, GroupOverride] = Field(default_factory=dict)
    oidc: OidcConfig | None = None
    sizes: dict[SizeClass, Resources] = Field(default_factory=lambda: dict(PROD_SIZES))
    # `spec.resources` of each MCPServer sizes the ToolHive proxy container only.
    proxy_resources: Resources = Resources(
        requests=CpuMemory(cpu="100m", memory="128Mi"), limits=CpuMemory(cpu="500m", memory="256Mi")
    )
    # Replica bounds for stateless HTTP servers (HPA); stateful and stdio servers run one.
    autoscale: Autoscale = Autoscale()
    # Size limit of each writable emptyDir of an MCP container.
    scratch_size: Quantity = "1Gi"
    outputs: OutputsConfig = OutputsConfig()

    @model_validator(mode="after")
    def _known_servers(self) -> McpConfig:
        problems = []
        for name in self.servers:
            if name not in CATALOG:
                problems.append(
                    f"{PROJECT}:mcp.servers.{name}: '{name}' is not a catalog server (catalog: "
                    f"{', '.join(CATALOG)}).{did_you_mean(name, CATALOG)} To add your own server, put it under "
                    "mcp.custom_servers"
                )
        for name in self.custom_servers:
            if name in CATALOG or name in GROUPS:
                problems.append(
                    f"{PROJECT}:mcp.custom_servers.{name}: '{name}' is already a catalog name; "
                    f"change the catalog server under mcp.servers.{name} or pick another name"
                )
        for name in self.groups:
            if name not in GROUPS:
                problems.append(f"{PROJECT}:mcp.groups.{name}: unknown group (groups: {', '.join(GROUPS)})")
        if set(self.sizes) != {"small", "medium", "large"}:
            problems.append(f"{PROJECT}:mcp.sizes must define exactly small, medium and large")
        if problems:
            raise ValueError("\n  - ".join(problems))  # one line each (config_errors.describe)
        return self


class ImagesConfig(Section):
    """`images`: where this project's server images are pushed and pulled from, and the
    digest of every image the stack runs (components/images.py)."""

    registry: ImageRegistry = "ghcr.io/finetunings-ai/mcp-datascience"
    # An existing docker-registry Secret in the MCP namespace, for a private registry.
    pull_secret: DnsLabel | None = None
    # `<repository>:<tag>` -> `sha256:...`, resolved and passed by the deploy workflow
    # (never committed: no build machine reaches a registry). Required in production.
    digests: dict[DigestKey, ImageDigest] = Field(default_factory=dict)


class NetworkConfig(Section):
    """`network`: cluster facts the NetworkPolicies need."""

    # Cluster DNS pods (CoreDNS/kube-dns carry k8s-app=kube-dns on EKS, GKE, AKS and kubeadm).
    dns_namespace: DnsLabel = "kube-system"
    dns_pod_labels: dict[str, str] = Field(default_factory=lambda: {"k8s-app": "kube-dns"})
    # The API server's endpoint addresses (`kubectl get endpoints kubernetes`). NetworkPolicy
    # sees traffic after the Service's DNAT, so the ClusterIP alone does not match. Empty:
    # any address on the API ports, with cloud metadata excepted (set it in production).
    api_server_cidrs: tuple[Cidr, ...] = ()
    api_server_ports: tuple[Port, ...] = (443, 6443)
    # Never reachable through internet egress rules (RFC 1918, CGNAT, link-local incl.
    # the 169.254.169.254 cloud metadata address).
    private_cidrs: tuple[Cidr, ...] = (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
    )


class EdgeConfig(Section):
    """`edge`: the NGINX controller, routes and TLS in front of the MCP servers."""

    # Where the edge controller runs; MCP NetworkPolicies admit traffic from it. With
    # `controller: existing` this is the namespace of the controller already running.
    namespace: DnsLabel = "nginx-ingress"
    # cert-manager's namespace is also its cluster resource namespace: ClusterIssuer
    # credentials (the DNS API secret) are read from here (cert-manager configuration docs).
    cert_manager_namespace: DnsLabel = "cert-manager"
    # nginx-ingress: F5 NGINX Ingress Controller (Ingress + nginx.org/* annotations);
    # gateway-api: NGINX Gateway Fabric (Gateway + HTTPRoutes + NGF policies);
    # existing: an F5 NGINX Ingress Controller already in the cluster, class `ingress_class`.
    controller: Literal["nginx-ingress", "gateway-api", "existing"] = "nginx-ingress"
    # false: reuse a controller (and, for gateway-api, its GatewayClass) already installed.
    install_controller: bool = True
    # false: cert-manager already runs (cert-manager.io/v1) with `cert_manager_namespace`
    # as its cluster resource namespace, and, with dns.provider godaddy, the GoDaddy
    # solver webhook too; the stack creates only its issuers, the Certificate and the DNS
    # credential there, and checks the APIs are served.
    install_cert_manager: bool = True
    # IngressClass (nginx-ingress, existing) or GatewayClass (gateway-api) name.
    ingress_class: DnsLabel = "nginx"
    # Pod labels of an existing controller (`controller: existing`), for NetworkPolicies.
    existing_controller_labels: dict[str, str] = Field(
        default_factory=lambda: {"app.kubernetes.io/name": "nginx-ingress"}
    )
    replicas: Count = Field(default=2, ge=1, le=20)
    resources: Resources = Resources(
        requests=CpuMemory(cpu="100m", memory="128Mi"),
        limits=CpuMemory(cpu="1", memory="512Mi"),
    )
    # The controller's Service (cloud load balancers read its annotations).
    service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    service_annotations: dict[str, str] = Field(default_factory=dict)
    # Source CIDRs allowed to reach the edge at all; empty = the internet.
    allowed_cidrs: tuple[Cidr, ...] = ()
    # Optional dedicated host per route name, e.g. {huggingface: huggingface.finetunings.ai}.
    hosts: dict[str, Domain] = Field(default_factory=dict)
    # Publish each server's /health (prefix-stripped) besides its MCP endpoint.
    publish_health: bool = False
    # Largest request body (nginx size syntax: digits with k or m); MCP payloads carry
    # base64 data, so more than nginx's 1m default.
    client_max_body_size: Annotated[
        str, matching(r"^[1-9][0-9]{0,3}[km]?$", "must be an nginx size: up to 4 digits and k or m, such as 16m")
    ] = "16m"
    # Read/send timeout for streams (nginx waits this long between two reads or writes).
    stream_timeout_seconds: Count = Field(default=3600, ge=60, le=9999)
    # Browser origins allowed to call the MCP endpoints (CORS); empty = no CORS headers,
    # so browsers refuse cross-origin calls (non-browser MCP clients are unaffected).
    cors_origins: tuple[str, ...] = ()
    # Let's Encrypt account email (optional).
    acme_email: Annotated[str, matching(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", "must be an email address")] | None = None
    # auto: staging in dev, production elsewhere.
    issuer: Literal["auto", "staging", "production"] = "auto"
    # Certificate for `*.domain` too (needs a DNS-01 provider).
    wildcard: bool = True
    # Publish Grafana/Jaeger UIs when `allowed_cidrs` guards the edge (never publicly).
    publish_web_uis: bool = True

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin != "*" and not re.match(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: use scheme://host[:port] such as https://app.example.com "
                    "(no path), or *"
                )
        return value

    @field_validator("existing_controller_labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("must name at least one label of the controller pods")
        return value


def _self_check_nameserver(value: str) -> str:
    """cert-manager's accepted forms (internal/apis/config/controller/validation/validation.go
    at v1.21.1): `https://<DoH server>` or `<ip address>:<port>`."""
    if value.startswith("https://"):
        host = value.removeprefix("https://").split("/", 1)[0]
        if not host or "@" in host:
            raise ValueError("must be a DNS-over-HTTPS URL such as https://1.1.1.1/dns-query")
        return value
    host, sep, port = value.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(
            "must be <ip address>:<port> (e.g. 9.9.9.9:53) or a DNS-over-HTTPS URL (https://1.1.1.1/dns-query)"
        ) from None
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must name the port, e.g. 9.9.9.9:53")
    return value


SelfCheckNameserver = Annotated[str, AfterValidator(_self_check_nameserver)]


class DnsConfig(Section):
    """`dns`: who answers ACME DNS-01 challenges and owns the records."""

    # The seed's DNS is at GoDaddy; moving to Cloudflare is this one value.
    provider: Literal["godaddy", "cloudflare", "http01-only"] = "godaddy"
    # `_acme-challenge.<domain>` may be a CNAME into a zone the solver controls
    # (cert-manager dns01 `cnameStrategy: Follow`), e.g. when GoDaddy closes its API.
    cname_strategy: Literal["None", "Follow"] = "None"
    # The webhook API group of the GoDaddy solver; empty = `acme.<domain>`.
    godaddy_group_name: str = ""
    # external-dns writes A/CNAME records for the edge hosts.
    manage_records: bool = False
    external_dns_namespace: DnsLabel = "external-dns"
    # upsert-only never deletes records it did not create; sync also deletes.
    records_policy: Literal["upsert-only", "sync", "create-only"] = "upsert-only"
    # TXT owner id; empty = `mcp-datascience-<environment>`, one per stack.
    owner_id: Annotated[str, matching(r"^[a-z0-9-]{0,63}$", "must be at most 63 lowercase letters, digits and '-'")] = (
        ""
    )
    # Where cert-manager checks that its DNS-01 TXT record is visible before it asks Let's
    # Encrypt to validate. Without these it asks the zone's authoritative nameservers on
    # port 53, which the cert-manager NetworkPolicy does not open (cert-manager v1.21.1
    # pkg/issuer/acme/dns/util/wait.go checkDNSPropagation). DNS-over-HTTPS on 443 by
    # default; `<ip>:<port>` (plain DNS) or `https://<host>/<path>` (RFC 8484).
    self_check_nameservers: tuple[SelfCheckNameserver, ...] = Field(
        default=("https://1.1.1.1/dns-query", "https://8.8.8.8/dns-query"), min_length=1
    )


_PROM_DURATION = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
# Number and unit captured: the retention check below sizes it against the volume.
_PROM_BYTES = re.compile(r"^((?:[0-9]*[.])?[0-9]+)(?:([KMGTEP])i?)?B$")
# Jaeger's span TTL: a positive whole number of hours, minutes or seconds (stricter than
# the Secrets section's `_REFRESH_INTERVAL`, which admits any Go duration, `0s` included).
_TTL_DURATION = re.compile(r"^[1-9][0-9]*(h|m|s)$")


def _prom_duration(value: str) -> str:
    if not value or not _PROM_DURATION.match(value):
        raise ValueError("must be a Prometheus duration such as 15d, 12h or 1w2d (units y, w, d, h, m, s, ms)")
    return value


def _prom_bytes(value: str) -> str:
    if not _PROM_BYTES.match(value):
        raise ValueError("must be a Prometheus byte size such as 45GB or 500MiB")
    return value


def _ttl_duration(value: str) -> str:
    if not _TTL_DURATION.match(value):
        raise ValueError("must be a duration in hours, minutes or seconds such as 168h")
    return value


# Prometheus durations (`15d`) and byte sizes (`45GB`), as the Prometheus CRD wants them
# (monitoring.coreos.com Prometheus `retention` / `retentionSize`); Go durations for Jaeger.
PrometheusDuration = Annotated[str, AfterValidator(_prom_duration)]
PrometheusByteSize = Annotated[str, AfterValidator(_prom_bytes)]
TtlDuration = Annotated[str, AfterValidator(_ttl_duration)]


class AlertThresholds(Section):
    """`monitoring.alerts`: when the MCP alerts fire. Production values; dev may loosen."""

    # Share of MCP requests answered with an error (ToolHive `status="error"`).
    error_ratio: Number = Field(default=0.05, gt=0, lt=1)
    # 95th percentile of MCP request latency (POST, i.e. JSON-RPC calls, not streams).
    p95_latency_seconds: Number = Field(default=10.0, gt=0)
    # Share of tool calls of one tool that fail.
    tool_failure_ratio: Number = Field(default=0.10, gt=0, lt=1)
    # No request for this long to a server that had traffic in the 24 hours before.
    no_traffic_minutes: Count = Field(default=60, ge=5, le=1440)
    # Container restarts within 15 minutes that count as crash-looping.
    restarts_per_15m: Count = Field(default=3, ge=1)
    # Working set / memory limit.
    memory_limit_ratio: Number = Field(default=0.90, gt=0, le=1)
    # Throttled CFS periods / all CFS periods.
    cpu_throttle_ratio: Number = Field(default=0.25, gt=0, le=1)
    # How long an HPA may sit at maxReplicas.
    hpa_at_max_minutes: Count = Field(default=15, ge=1)
    # Certificates expiring within this many days.
    certificate_expiry_days: Count = Field(default=14, ge=1, le=60)


class MonitoringConfig(Section):
    """`monitoring`: Prometheus, Grafana, the OpenTelemetry Collector and Jaeger."""

    namespace: DnsLabel = "monitoring"
    # false: a monitoring stack already runs in `namespace`: a Prometheus operator
    # (monitoring.coreos.com/v1) whose Prometheus selects ServiceMonitors and PrometheusRules
    # carrying `selector_labels`, Grafana with the dashboard sidecar watching `namespace`,
    # and an OpenTelemetry Collector Service `existing_collector_service` taking OTLP/HTTP
    # on 4318. The stack then installs no chart and owns nothing there but its
    # ServiceMonitors, alert rules and dashboards.
    install_stack: bool = True
    existing_collector_service: DnsLabel = "otel-collector"
    # Extra labels on the stack's ServiceMonitors and PrometheusRule, for a Prometheus
    # that selects by label (kube-prometheus-stack's own selects `release: <its release>`
    # unless its `*SelectorNilUsesHelmValues` values are false).
    selector_labels: dict[str, str] = Field(default_factory=dict)
    # Share of MCP requests traced (MCPTelemetryConfig samplingRate).
    sampling_rate: SamplingRate = "0.05"
    # Prometheus TSDB: how long and how much to keep, and where. `prometheus_storage`
    # unset = emptyDir (data lost with the pod; dev only).
    prometheus_retention: PrometheusDuration = "15d"
    prometheus_retention_size: PrometheusByteSize = "45GB"
    prometheus_storage: Quantity | None = "50Gi"
    alertmanager_storage: Quantity | None = "1Gi"
    # StorageClass of every monitoring PVC; unset = the cluster default.
    storage_class: DnsLabel | None = None
    # Jaeger v2 trace storage: `badger` on a PVC (survives restarts) or `memory`.
    jaeger_storage: Literal["badger", "memory"] = "badger"
    jaeger_storage_size: Quantity = "20Gi"
    jaeger_retention: TtlDuration = "168h"  # badger span TTL
    jaeger_max_traces: Count = Field(default=100_000, ge=1000)  # memory store cap
    # Alertmanager may reach receivers (chat, paging, mail) on these internet ports.
    alertmanager_egress_ports: tuple[Port, ...] = (443, 587)
    prometheus_resources: Resources = Resources(
        requests=CpuMemory(cpu="500m", memory="2Gi"), limits=CpuMemory(cpu="2", memory="4Gi")
    )
    alertmanager_resources: Resources = Resources(
        requests=CpuMemory(cpu="50m", memory="64Mi"), limits=CpuMemory(cpu="200m", memory="256Mi")
    )
    grafana_resources: Resources = Resources(
        requests=CpuMemory(cpu="100m", memory="256Mi"), limits=CpuMemory(cpu="1", memory="512Mi")
    )
    collector_resources: Resources = Resources(
        requests=CpuMemory(cpu="100m", memory="256Mi"), limits=CpuMemory(cpu="1", memory="512Mi")
    )
    jaeger_resources: Resources = Resources(
        requests=CpuMemory(cpu="100m", memory="512Mi"), limits=CpuMemory(cpu="1", memory="2Gi")
    )
    # Both watch the whole cluster: their memory grows with the number of objects.
    operator_resources: Resources = Resources(
        requests=CpuMemory(cpu="50m", memory="128Mi"), limits=CpuMemory(cpu="500m", memory="512Mi")
    )
    kube_state_metrics_resources: Resources = Resources(
        requests=CpuMemory(cpu="20m", memory="64Mi"), limits=CpuMemory(cpu="500m", memory="512Mi")
    )
    alerts: AlertThresholds = AlertThresholds()

    @model_validator(mode="after")
    def _retention_fits_the_volume(self) -> MonitoringConfig:
        if self.prometheus_storage is None:
            return self
        # Prometheus byte units are powers of 1024 (KB = KiB), like the Gi of the PVC.
        match = _PROM_BYTES.match(self.prometheus_retention_size)
        assert match is not None  # the field validator admitted it
        size = float(match.group(1)) * 1024 ** " KMGTPE".index(match.group(2) or " ")
        volume = float(parse_quantity(self.prometheus_storage))
        if size > 0.9 * volume:
            raise ValueError(
                f"prometheus_retention_size {self.prometheus_retention_size} does not fit prometheus_storage "
                f"{self.prometheus_storage}: keep it at most 90% of the volume (the WAL and compaction need the "
                "rest), or Prometheus fills the disk before it deletes old blocks"
            )
        return self


# ---------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------

# Credential ids are Secret names of the consumers (DNS-1123 labels); keys are Secret
# data keys (Kubernetes: `[-._a-zA-Z0-9]+`, at most 253 characters).
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
# Go durations as ExternalSecret.spec.refreshInterval takes them ("1h", "30m", "1h0m0s").
_REFRESH_INTERVAL = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
# Where the controller may unseal a value: this namespace and name, this namespace, anywhere.
SealingScope = Literal["strict", "namespace-wide", "cluster-wide"]
SEALING_SCOPES: tuple[str, ...] = get_args(SealingScope)
# The provider keys of ClusterSecretStore.spec.provider in external-secrets v2.9.0
# (config/crds/bases/external-secrets.io_clustersecretstores.yaml; exactly one is set).
EXTERNAL_PROVIDERS = (
    "akeyless", "aws", "azurekv", "barbican", "beyondtrust", "beyondtrustworkloadcredentials",
    "bitwardensecretsmanager", "chef", "cloudrusm", "conjur", "crd", "delinea", "doppler", "dvls",
    "fake", "fortanix", "gcpsm", "github", "gitlab", "ibm", "infisical", "keepersecurity", "kubernetes",
    "nebiusmysterybox", "ngrok", "onboardbase", "onepassword", "onepasswordSDK", "openBao", "oracle",
    "ovh", "passbolt", "passworddepot", "previder", "pulumi", "scaleway", "secretserver", "senhasegura",
    "vault", "volcengine", "webhook", "yandexcertificatemanager", "yandexlockbox",
)  # fmt: skip


def _secret_key(value: str) -> str:
    if not _SECRET_KEY.match(value):
        raise ValueError("a Secret key is letters, digits, '-', '_' and '.' only (for example token or api-token)")
    return value


def check_ciphertext(value: str) -> str:
    """A sealed-secrets value as `python -m mcpds seal` and `kubeseal` write it: standard
    base64 of uint16-BE length of the RSA-OAEP ciphertext, that ciphertext, then the
    AES-256-GCM ciphertext with its 16-byte tag (bitnami-labs/sealed-secrets
    pkg/crypto/crypto.go HybridEncrypt). Returns the value without whitespace."""
    text = "".join(value.split())
    seal_hint = "produce it with `python -m mcpds seal ... --write` (docs/secrets.md)"
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"is not base64: {seal_hint}") from None
    rsa_len = int.from_bytes(raw[:2], "big") if len(raw) >= 2 else 0
    # RSA ciphertexts are as long as the modulus: 1024- to 8192-bit keys (the controller's are 4096).
    if not 128 <= rsa_len <= 1024 or len(raw) < 2 + rsa_len + 16:
        raise ValueError(f"is not a sealed-secrets ciphertext (truncated or not sealed): {seal_hint}")
    return text


CredentialId = DnsLabel  # credential ids name the Secrets of their consumers
SecretKey = Annotated[str, AfterValidator(_secret_key)]
Ciphertext = Annotated[str, AfterValidator(check_ciphertext)]


class SealedSecretsConfig(Section):
    """`secrets.sealed`: the Sealed Secrets controller and the sealed values."""

    # false: a controller already runs in the cluster (name and namespace below).
    install_controller: bool = True
    # kubeseal's defaults (`--controller-name`, `--controller-namespace`,
    # cmd/kubeseal/main.go), so `kubeseal --fetch-cert` works without flags.
    controller_name: DnsLabel = "sealed-secrets-controller"
    controller_namespace: DnsLabel = "kube-system"
    chart_version: ChartVersion = versions.SEALED_SECRETS.version
    resources: Resources = Resources(
        requests=CpuMemory(cpu="50m", memory="64Mi"), limits=CpuMemory(cpu="500m", memory="256Mi")
    )
    # credential id -> Secret key -> ciphertext (`python -m mcpds seal ... --write`).
    ciphertexts: dict[CredentialId, dict[SecretKey, Ciphertext]] = Field(default_factory=dict)
    # credential id -> the scope it was sealed with (default strict: this namespace and name only).
    scopes: dict[CredentialId, SealingScope] = Field(default_factory=dict)


class RemoteRef(Section):
    """Where one Secret key comes from in the external store (ExternalSecret remoteRef)."""

    key: str = Field(min_length=1)  # the secret's name/path in the store
    property: str | None = None  # a field inside a JSON secret
    version: str | None = None  # pin a version; default: latest


class ExternalSecretsConfig(Section):
    """`secrets.external`: External Secrets Operator and one ClusterSecretStore."""

    install_operator: bool = True
    namespace: DnsLabel = "external-secrets"
    chart_version: ChartVersion = versions.EXTERNAL_SECRETS.version
    store_name: DnsLabel = "mcp-datascience"
    # Each of the operator's three containers (controller, webhook, cert controller).
    resources: Resources = Resources(
        requests=CpuMemory(cpu="20m", memory="64Mi"), limits=CpuMemory(cpu="500m", memory="256Mi")
    )
    # Exactly one ESO provider block, as ClusterSecretStore.spec.provider takes it, for
    # example {aws: {service: SecretsManager, region: eu-west-1, auth: {jwt: ...}}}.
    provider: dict[str, dict[str, Any]] = Field(default_factory=dict)
    refresh_interval: Annotated[
        str, matching(_REFRESH_INTERVAL.pattern, "must be a duration such as 1h, 30m or 1h30m")
    ] = "1h"
    # The operator reaches the store over public HTTPS; a store on a private network
    # (e.g. Vault at 10.0.0.5:8200) needs its address here: [{cidr: 10.0.0.5/32, ports: [8200]}].
    store_egress: tuple[EgressRule, ...] = ()
    # credential id -> Secret key -> remote reference (a string is shorthand for {key: ...}).
    remote_keys: dict[CredentialId, dict[SecretKey, RemoteRef]] = Field(default_factory=dict)

    @field_validator("remote_keys", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                cid: {k: {"key": r} if isinstance(r, str) else r for k, r in keys.items()}
                if isinstance(keys, dict)
                else keys
                for cid, keys in value.items()
            }
        return value

    @field_validator("provider")
    @classmethod
    def _one_provider(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not value:
            return value
        if len(value) != 1:
            raise ValueError(f"must hold exactly one provider block, got {sorted(value)}")
        (name,) = value
        if name not in EXTERNAL_PROVIDERS:
            raise ValueError(
                f"'{name}' is not an External Secrets provider (v2.9.0: aws, gcpsm, vault, azurekv, ...)."
                f"{did_you_mean(name, EXTERNAL_PROVIDERS)}"
            )
        return value


class PulumiSecretsConfig(Section):
    """`secrets.pulumi`: credential values kept as Pulumi secrets (encrypted in the stack
    file and in state). Set each with `pulumi config set --secret --path`."""

    values: dict[CredentialId, dict[SecretKey, SecretStr]] = Field(default_factory=dict)

    @field_validator("values")
    @classmethod
    def _not_empty(cls, value: dict[str, dict[str, SecretStr]]) -> dict[str, dict[str, SecretStr]]:
        empty = [f"{cid}.{key}" for cid, keys in value.items() for key, v in keys.items() if not v.get_secret_value()]
        if empty:
            raise ValueError(f"empty value for {', '.join(empty)}: set it or remove the key")
        return value


class SecretsConfig(Section):
    """`secrets`: how credentials reach the cluster."""

    # sealed: SealedSecrets decrypted in-cluster; external: External Secrets Operator;
    # pulumi: plain Secrets from Pulumi secret config (for clusters with neither controller).
    backend: Literal["sealed", "external", "pulumi"] = "sealed"
    # true: `pulumi up` deploys even while required credentials have no value (warned;
    # their consumers wait for the Secret). For the first deploy of the sealed backend
    # with a controller-generated key: install the controller, fetch its certificate,
    # seal, then set this back to false.
    allow_missing: bool = False
    sealed: SealedSecretsConfig = SealedSecretsConfig()
    external: ExternalSecretsConfig = ExternalSecretsConfig()
    pulumi: PulumiSecretsConfig = PulumiSecretsConfig()

    # The field of `secrets.<backend>` that holds each backend's values, by credential id.
    VALUE_FIELDS: ClassVar[dict[str, str]] = {"sealed": "ciphertexts", "external": "remote_keys", "pulumi": "values"}

    @property
    def values_path(self) -> str:
        """The config path of the selected backend's values, e.g. `secrets.sealed.ciphertexts`."""
        return f"secrets.{self.backend}.{self.VALUE_FIELDS[self.backend]}"

    def configured(self) -> dict[str, set[str]]:
        """credential id -> the keys the selected backend has a value for."""
        values: Mapping[str, Mapping[str, Any]] = getattr(getattr(self, self.backend), self.VALUE_FIELDS[self.backend])
        return {cid: set(keys) for cid, keys in values.items()}


class StackConfig(Section):
    """The whole stack configuration, one field per Pulumi config key."""

    environment: Literal["dev", "staging", "prod"]
    domain: Domain = "finetunings.ai"
    kubernetes_version: KubernetesVersion = "1.34"
    toolhive: ToolHiveConfig = ToolHiveConfig()
    images: ImagesConfig = ImagesConfig()
    network: NetworkConfig = NetworkConfig()
    mcp: McpConfig = McpConfig()
    edge: EdgeConfig = EdgeConfig()
    dns: DnsConfig = DnsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    secrets: SecretsConfig = SecretsConfig()

    @model_validator(mode="after")
    def _operator_sees_mcp_namespace(self) -> StackConfig:
        if self.toolhive.rbac_scope == "namespace" and self.mcp.namespace not in self.operator_namespaces:
            raise ValueError(
                f"{PROJECT}:toolhive.watched_namespaces = {list(self.toolhive.watched_namespaces)} must include "
                f"the MCP namespace '{self.mcp.namespace}' when toolhive.rbac_scope is 'namespace', "
                "or the operator never sees the MCPServers"
            )
        namespaces = {
            "toolhive.namespace": self.toolhive.namespace,
            "mcp.namespace": self.mcp.namespace,
            "edge.namespace": self.edge.namespace,
            "edge.cert_manager_namespace": self.edge.cert_manager_namespace,
            "monitoring.namespace": self.monitoring.namespace,
        }
        if self.dns.manage_records:
            namespaces["dns.external_dns_namespace"] = self.dns.external_dns_namespace
        seen: dict[str, str] = {}
        for key, namespace in namespaces.items():
            if namespace in seen:
                raise ValueError(
                    f"{PROJECT}:{key} and {PROJECT}:{seen[namespace]} are both '{namespace}': each "
                    "component gets its own namespace, so that NetworkPolicies and Pod Security apply per component"
                )
            seen[namespace] = key
        if self.toolhive.namespace in self.operator_namespaces:
            raise ValueError(
                f"{PROJECT}:toolhive.watched_namespaces must not include the operator's own namespace "
                f"'{self.toolhive.namespace}': MCP servers belong in their own namespace"
            )
        return self

    @model_validator(mode="after")
    def _edge_is_consistent(self) -> StackConfig:
        edge, dns = self.edge, self.dns
        if edge.wildcard and dns.provider == "http01-only":
            raise ValueError(
                f"{PROJECT}:edge.wildcard is true but {PROJECT}:dns.provider is 'http01-only': a wildcard "
                f"certificate for *.{self.domain} needs DNS-01 (Let's Encrypt refuses HTTP-01 for wildcards). "
                "Set edge.wildcard: false (explicit hostnames only) or dns.provider: cloudflare or godaddy"
            )
        if dns.provider == "http01-only" and edge.allowed_cidrs:
            raise ValueError(
                f"{PROJECT}:edge.allowed_cidrs is set but {PROJECT}:dns.provider is 'http01-only': Let's Encrypt "
                "validates HTTP-01 from addresses it does not publish, so the allowlist would block every "
                "renewal. Use a DNS-01 provider (cloudflare, godaddy) with an allowlist"
            )
        if dns.cname_strategy == "Follow" and dns.provider == "http01-only":
            raise ValueError(f"{PROJECT}:dns.cname_strategy 'Follow' applies to DNS-01 only, not 'http01-only'")
        for route, host in edge.hosts.items():
            if host != self.domain and not host.endswith("." + self.domain):
                raise ValueError(
                    f"{PROJECT}:edge.hosts.{route} = '{host}' is not {self.domain} or a name under it: the "
                    "certificate and DNS records cover only the stack's domain"
                )
            if edge.wildcard and host.count(".") > self.domain.count(".") + 1:
                raise ValueError(
                    f"{PROJECT}:edge.hosts.{route} = '{host}' is two levels below {self.domain}: the wildcard "
                    f"*.{self.domain} covers one level only"
                )
        return self

    @model_validator(mode="after")
    def _secrets_backend_is_complete(self) -> StackConfig:
        secrets = self.secrets
        if secrets.backend == "external" and not secrets.external.provider:
            raise ValueError(
                f"{PROJECT}:secrets.external.provider is required when secrets.backend is 'external': one "
                "External Secrets provider block, e.g. {aws: {service: SecretsManager, region: eu-west-1}} "
                "(docs/secrets.md)"
            )
        key, namespace = None, None
        if secrets.backend == "sealed" and secrets.sealed.install_controller:
            key, namespace = "secrets.sealed.controller_namespace", secrets.sealed.controller_namespace
        elif secrets.backend == "external" and secrets.external.install_operator:
            key, namespace = "secrets.external.namespace", secrets.external.namespace
        others = {
            "toolhive.namespace": self.toolhive.namespace,
            "mcp.namespace": self.mcp.namespace,
            "edge.namespace": self.edge.namespace,
            "edge.cert_manager_namespace": self.edge.cert_manager_namespace,
            "monitoring.namespace": self.monitoring.namespace,
        }
        for other, value in others.items():
            if namespace == value:
                raise ValueError(
                    f"{PROJECT}:{key} and {PROJECT}:{other} are both '{namespace}': the secrets controller gets "
                    "its own namespace (or kube-system, kubeseal's default)"
                )
        return self

    @property
    def operator_namespaces(self) -> tuple[str, ...]:
        """Namespaces the operator manages when namespace-scoped."""
        return self.toolhive.watched_namespaces or (self.mcp.namespace,)

    @property
    def is_production(self) -> bool:
        return self.environment != "dev"


__all__ = [
    "ENVIRONMENTS",
    "PROJECT",
    "AlertThresholds",
    "ConfigError",
    "CpuMemory",
    "DnsConfig",
    "EdgeConfig",
    "McpConfig",
    "MonitoringConfig",
    "Resources",
    "SecretsConfig",
    "Section",
    "StackConfig",
    "ToolHiveConfig",
    "check_ciphertext",
]
