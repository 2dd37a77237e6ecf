"""The schema of one MCP server: what the catalog states and what users may add.

Catalog entries (`catalog.py`) and user-defined servers (`mcp.custom_servers` in stack
config) share `ServerSpec`, so a user-defined server renders exactly like a catalog one.
`ServerOverride` is the subset a stack may change on a catalog server.
"""

from __future__ import annotations

import ipaddress
import re
import string
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.config_errors import ENV_NAME
from components.config_types import Count, Resources, Section
from components.contracts import OUTPUTS_PATH

SizeClass = Literal["small", "medium", "large"]
Transport = Literal["stdio", "streamable-http", "sse"]

# Placeholders a server's env values may use; filled in by the plan.
# {backend_service}: the runner-created backend Service `mcp-<name>` that the ToolHive
# proxy puts in the Host header (transparent_proxy.go), {mcp_port}, {public_url}: the
# route's public base URL (e.g. https://finetunings.ai/penrose), {domain}; for a server
# with `outputs`, {outputs_dir} (outputs.directory) and {outputs_url}: where its files are
# served, `<public_url>/outputs`, empty while the server is not published.
ENV_PLACEHOLDERS = frozenset({"backend_service", "mcp_port", "public_url", "domain", "outputs_dir", "outputs_url"})
OUTPUTS_PLACEHOLDERS = frozenset({"outputs_dir", "outputs_url"})

_ROUTE_PATH = re.compile(r"^/[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IMAGE = re.compile(
    r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"  # registry/path
    r"(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$"  # tag, digest
)
_HOST = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SERVER_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$")


def server_name(value: str) -> str:
    """Names become `mcp-<name>-proxy` (a DNS-1035 label of at most 63 characters)."""
    if not _SERVER_NAME.match(value):
        raise ValueError(
            "must start with a letter, use lowercase letters, digits and '-', and be at most 53 "
            "characters (the operator names the Service mcp-<name>-proxy)"
        )
    if value == "mcpserver":
        # The operator labels proxy pods app=mcpserver; a server of that name would
        # collide with them (stacklok/toolhive pkg/labels).
        raise ValueError("'mcpserver' is reserved by the ToolHive operator's pod labels")
    return value


def route_path(value: str) -> str:
    if not _ROUTE_PATH.match(value):
        raise ValueError("must look like /name or /name/sub (lowercase letters, digits, '-')")
    if value.split("/")[1] in ("metrics", "health", "healthz", ".well-known"):
        raise ValueError("must not start with /metrics, /health, /healthz or /.well-known")
    return value


def image_ref(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError("must be an image reference such as registry.example.com/team/server:1.2.3")
    last = value.rsplit("/", 1)[-1]
    has_tag = ":" in last.split("@", 1)[0]
    if "@sha256:" not in value and not has_tag:
        raise ValueError("must pin a tag or a digest (an untagged image means :latest)")
    if last.split("@", 1)[0].endswith(":latest"):
        raise ValueError("must not use the 'latest' tag: pin a version (and a digest where you can)")
    return value


def public_host(value: str) -> str:
    if not _HOST.match(value):
        raise ValueError("must be a DNS name such as api.example.com")
    return value


def absolute_path(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/") or value == "/":
        raise ValueError("must be an absolute directory path below / (for example /tmp/work)")
    return value.rstrip("/")


def cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(
            "must be a CIDR block like 10.0.0.0/8 or 2001:db8::/32, with no address bits set after the prefix"
        ) from None
    return value


ServerName = Annotated[str, AfterValidator(server_name)]
RoutePath = Annotated[str, AfterValidator(route_path)]
ImageRef = Annotated[str, AfterValidator(image_ref)]
PublicHost = Annotated[str, AfterValidator(public_host)]
AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
Cidr = Annotated[str, AfterValidator(cidr)]
Port = Annotated[Count, Field(ge=1, le=65535)]


class SecretEnv(Section):
    """An env var of the MCP container filled from a credential (never a literal)."""

    credential: Annotated[str, AfterValidator(server_name)]  # credential id, also the Secret name
    key: str = "token"
    env: str
    optional: bool = False  # the server runs without it (e.g. public data only)
    purpose: str = ""

    @model_validator(mode="after")
    def _env_name(self) -> SecretEnv:
        if not ENV_NAME.match(self.env):
            raise ValueError(f"env {self.env!r} is not a valid environment variable name")
        return self


class Probe(Section):
    """Health check of the MCP container (HTTP servers only)."""

    kind: Literal["http", "tcp"]
    path: str | None = None  # http only


# File types the outputs sidecar serves (images/mcp-server-ds/outputs_server.py CONTENT_TYPES).
OutputExtension = Literal["png", "jpg", "jpeg", "gif", "webp", "svg", "html", "csv", "json"]
_SCRIPT_SOURCE = re.compile(r"^https://[a-z0-9.-]+(:[0-9]+)?/[!-~]*$")


def script_source(value: str) -> str:
    """A CSP source expression for one script URL: https, and no character that would end
    the expression or the header (space, ';', ',', quotes)."""
    if not _SCRIPT_SOURCE.match(value) or any(c in value for c in ";,'\"*"):
        raise ValueError("must be an https URL of one script, such as https://cdn.example.com/lib@1.2.3/lib.min.js")
    return value


class Outputs(Section):
    """Files a server writes for users to open in a browser, served read-only by the
    outputs sidecar at `<route>/outputs/<name>` (components/outputs.py; docs/components.md, Outputs)."""

    # Where the server writes them: the pod's outputs volume is mounted here.
    directory: AbsolutePath
    # What is served, by file extension; anything else is not found.
    extensions: tuple[OutputExtension, ...]
    # Scripts an HTML output may load besides its own inline ones (its chart library),
    # each an exact URL; its Content-Security-Policy allows nothing else.
    script_sources: tuple[Annotated[str, AfterValidator(script_source)], ...] = ()
    # How the server names a file, in words: why each one gets an unguessable name.
    naming: str


class EgressRule(Section):
    """Extra egress to a network the server needs (an in-cluster or private service)."""

    cidr: Cidr
    ports: tuple[Port, ...] = (443,)


class Autoscale(Section):
    min_replicas: Annotated[Count, Field(ge=1, le=20)] = 2
    max_replicas: Annotated[Count, Field(ge=1, le=50)] = 4
    cpu_utilization: Annotated[Count, Field(ge=10, le=95)] = 70

    @model_validator(mode="after")
    def _ordered(self) -> Autoscale:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is larger than max_replicas ({self.max_replicas})")
        return self


class ServerSpec(Section):
    """Everything the stack needs to know to run one MCP server under ToolHive."""

    description: str
    upstream: str  # source repository URL
    license: str
    # Exactly one of: `image` (a full pinned reference) or `built_image` (a key of
    # components.versions.SERVER_IMAGES, pushed to `images.registry`).
    image: ImageRef | None = None
    built_image: str | None = None
    transport: Transport
    proxy_mode: Literal["streamable-http", "sse"] = "streamable-http"  # stdio only
    proxy_port: Port
    mcp_port: Port | None = None  # the container's port, HTTP transports only
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    secret_env: tuple[SecretEnv, ...] = ()
    # Public HTTPS hosts the server calls. Empty: no egress beyond DNS. Kubernetes
    # NetworkPolicy cannot match host names, so a non-empty list opens TCP 443 to
    # public addresses (private ranges and cloud metadata excepted); the list documents
    # what that egress is for.
    egress_hosts: tuple[str, ...] = ()
    egress_from_env: tuple[str, ...] = ()  # env vars holding URLs whose hosts it calls
    egress_rules: tuple[EgressRule, ...] = ()
    required_env: tuple[str, ...] = ()  # env the stack must set (no safe default exists)
    writable_paths: tuple[AbsolutePath, ...] = ()
    size: SizeClass = "small"
    stateless: bool  # safe to run several replicas behind a load balancer
    # Answers `initialize` with an Mcp-Session-Id (HTTP transports). The ToolHive proxy
    # then pins the session to the pod address its connection reached, so from the second
    # request on the server sees `Host: <pod IP>:<port>`, not `mcp-<name>`: a server with
    # sessions cannot check Host against names (stacklok/toolhive v0.44.0
    # pkg/transport/proxy/transparent/transparent_proxy.go, podBackendURL and Rewrite).
    sessions: bool = False
    caller_token: bool = False  # takes the caller's own token in `Authorization`
    tools: tuple[str, ...] = ()  # the tools the server offers (what `verify` expects)
    disabled_tools: tuple[str, ...] = ()
    # Tools that run caller-supplied code. The server counts as code-executing while any
    # of them is enabled, and then is never published without authentication in prod.
    code_tools: tuple[str, ...] = ()
    path: RoutePath | None = None  # public route; None: not published
    extra_paths: tuple[str, ...] = ()  # sub-paths of the proxy also published, e.g. /outputs/
    outputs: Outputs | None = None  # files users open, served by the outputs sidecar
    probe: Probe | None = None
    group: Annotated[str, AfterValidator(server_name)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ServerSpec:
        if (self.image is None) == (self.built_image is None):
            raise ValueError("set exactly one of image (a pinned reference) and built_image")
        if self.transport == "stdio":
            if self.mcp_port is not None:
                raise ValueError("mcp_port is for HTTP transports; a stdio server has no port")
            if self.probe is not None:
                raise ValueError("a stdio server has no port to probe (the ToolHive proxy's /health covers it)")
            if self.sessions:
                raise ValueError("sessions is a fact about an HTTP server; the proxy holds a stdio server's sessions")
        elif self.mcp_port is None:
            raise ValueError(f"mcp_port is required for transport {self.transport}")
        if self.probe and self.probe.kind == "http" and not (self.probe.path or "").startswith("/"):
            raise ValueError("an http probe needs a path such as /health")
        for field in ("disabled_tools", "code_tools"):
            unknown = set(getattr(self, field)) - set(self.tools)
            if unknown:
                raise ValueError(f"{field} {sorted(unknown)} are not among the server's tools {list(self.tools)}")
        for name, value in self.env.items():
            if not ENV_NAME.match(name):
                raise ValueError(f"env {name!r} is not a valid environment variable name")
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
            if fields - ENV_PLACEHOLDERS:
                raise ValueError(
                    f"env {name} uses unknown placeholders {sorted(fields - ENV_PLACEHOLDERS)}; "
                    f"allowed: {sorted(ENV_PLACEHOLDERS)}"
                )
            if fields & OUTPUTS_PLACEHOLDERS and self.outputs is None:
                used = sorted(fields & OUTPUTS_PLACEHOLDERS)
                raise ValueError(f"env {name} uses {used}, but the server declares no outputs")
        overlap = set(self.env) & {s.env for s in self.secret_env}
        if overlap:
            raise ValueError(f"env {sorted(overlap)} is set both literally and from a secret")
        for extra in self.extra_paths:
            if not extra.startswith("/") or extra.startswith(("/metrics", "/health")):
                raise ValueError(f"extra path {extra!r} must start with / and must not expose /metrics or /health")
        if self.outputs is not None and OUTPUTS_PATH in self.extra_paths:
            raise ValueError(
                f"outputs and extra path {OUTPUTS_PATH} both claim <route>{OUTPUTS_PATH}: a server serves its "
                "own outputs (extra_paths) or has the sidecar serve them (outputs), not both"
            )
        return self

    @property
    def is_http(self) -> bool:
        return self.transport != "stdio"

    @property
    def enabled_tools(self) -> tuple[str, ...]:
        return tuple(t for t in self.tools if t not in self.disabled_tools)

    @property
    def executes_code(self) -> bool:
        return any(t in self.enabled_tools for t in self.code_tools)


class ServerOverride(Section):
    """What a stack may change on a catalog server (`mcp.servers.<name>`)."""

    enabled: bool = True
    size: SizeClass | None = None
    resources: Resources | None = None  # explicit requests/limits of the MCP container
    publish: bool | None = None
    path: RoutePath | None = None
    host: PublicHost | None = None  # a dedicated host besides the path on the domain
    auth: Literal["none", "oidc"] | None = None
    env: dict[str, str] = Field(default_factory=dict)  # merged over the catalog's env
    disabled_tools: tuple[str, ...] | None = None  # replaces the catalog's list
    autoscale: Autoscale | None = None
    egress_rules: tuple[EgressRule, ...] = ()
    image: ImageRef | None = None  # e.g. a mirrored copy pinned by digest


class CustomServer(ServerSpec):
    """A user-defined server (`mcp.custom_servers.<name>`): the catalog schema plus the
    per-stack settings of an override."""

    description: str = "user-defined MCP server"
    upstream: str = ""
    license: str = ""
    resources: Resources | None = None
    host: PublicHost | None = None
    # Unset: OIDC for a code-executing server when mcp.oidc is set, else none (plan._auth).
    auth: Literal["none", "oidc"] | None = None
    autoscale: Autoscale | None = None

    @model_validator(mode="after")
    def _pinned_image(self) -> CustomServer:
        if self.built_image is not None:
            raise ValueError("a user-defined server names its image with `image` (built_image is for the catalog)")
        return self
