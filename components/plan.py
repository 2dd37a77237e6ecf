"""The MCP plan: stack config + catalog -> what this environment deploys (pure Python).

Everything the MCP layer decides lives here and is tested without Pulumi: which servers
run, with which image, size, env, secrets, egress and replicas; which routes the edge
publishes; which Services Prometheus scrapes; which credentials the secrets layer must
provide. `validate()` reports every problem at once (`stack_config.parse_config` runs it
after the config model, before any resource); `build_plan()` assumes a valid config.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from components import outputs as outputs_sidecar
from components import server_checks, versions
from components.catalog import CATALOG, GROUPS, GroupSpec
from components.config import OidcConfig, StackConfig
from components.config_types import Resources
from components.contracts import OUTPUTS_PATH, CredentialSpec, Route, ScrapeTarget
from components.image_pins import ImagePins
from components.outputs import OutputsPlan
from components.server_spec import Autoscale, EgressRule, SecretEnv, ServerOverride, ServerSpec

PROJECT = "mcp-datascience"
# Labels this stack adds to the pods and Services the operator creates (for people and
# dashboards). Selectors use the operator's own labels, which are certain.
SERVER_LABEL = "mcp-datascience/server"
ROLE_LABEL = "mcp-datascience/role"
TELEMETRY_CONFIG = "mcp-telemetry"
OIDC_CONFIG = "mcp-oidc"
BACKEND_SERVICE_ACCOUNT = "mcp-backend"


def proxy_service(name: str) -> str:
    """Service the operator creates for an MCPServer's proxy (mcpserver_controller.go)."""
    return f"mcp-{name}-proxy"


def backend_service(name: str) -> str:
    """Service the proxy runner creates for an HTTP backend (pkg/container/kubernetes/client.go)."""
    return f"mcp-{name}"


def vmcp_service(name: str) -> str:
    """Service the operator creates for a VirtualMCPServer (virtualmcpserver_deployment.go
    serviceForVirtualMCPServer)."""
    return f"vmcp-{name}"


# vMCP listens and serves MCP at /mcp on 4483, port name `http` (vmcp `serve --port=4483`).
VMCP_PORT = 4483


def proxy_selector(name: str) -> dict[str, str]:
    """Labels of an MCPServer's proxy pods and proxy Service (labelsForMCPServer)."""
    return {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": name}


def backend_selector(name: str) -> dict[str, str]:
    """Labels of an MCPServer's backend pods (the runner's StatefulSet, pkg/labels)."""
    return {"app": name, "toolhive": "true"}


def vmcp_selector(name: str) -> dict[str, str]:
    """Labels of a VirtualMCPServer's pods and Service (labelsForVirtualMCPServer)."""
    return {"app.kubernetes.io/name": "virtualmcpserver", "app.kubernetes.io/instance": name}


@dataclass(frozen=True)
class ServerPlan:
    name: str
    spec: ServerSpec  # effective: catalog or custom entry with the stack's overrides applied
    image: str
    resources: Resources  # the `mcp` container
    env: Mapping[str, str]  # placeholders filled in
    secret_env: tuple[SecretEnv, ...]
    route: Route | None
    auth: bool
    autoscale: Autoscale | None  # None: exactly one replica
    egress_hosts: tuple[str, ...]
    egress_rules: tuple[EgressRule, ...]
    group: str | None  # aggregated group it belongs to
    custom: bool
    outputs: OutputsPlan | None = None  # files for users, served by the outputs sidecar
    # Why a server with a path is not routed although publish was not set to false: it
    # runs caller-supplied code and has no authentication (never published without).
    withheld: str | None = None

    @property
    def proxy_service(self) -> str:
        return proxy_service(self.name)

    @property
    def backend_service(self) -> str:
        return backend_service(self.name)

    @property
    def tool_config(self) -> str | None:
        return f"{self.name}-tools" if self.spec.disabled_tools else None

    @property
    def proxy_selector(self) -> dict[str, str]:
        return proxy_selector(self.name)

    @property
    def backend_selector(self) -> dict[str, str]:
        return backend_selector(self.name)

    @property
    def needs_internet(self) -> bool:
        return bool(self.egress_hosts)


@dataclass(frozen=True)
class GroupPlan:
    name: str
    spec: GroupSpec
    members: tuple[str, ...]  # enabled members
    route: Route | None
    auth: bool
    withheld: str | None = None  # as ServerPlan.withheld

    @property
    def service(self) -> str:
        return vmcp_service(self.name)

    @property
    def selector(self) -> dict[str, str]:
        return vmcp_selector(self.name)


@dataclass(frozen=True)
class Plan:
    namespace: str
    domain: str
    production: bool
    servers: tuple[ServerPlan, ...]
    groups: tuple[GroupPlan, ...]  # aggregated groups (one VirtualMCPServer each)
    oidc: OidcConfig | None
    proxy_resources: Resources
    scratch_size: str
    pull_secret: str | None
    pins: ImagePins = field(default_factory=ImagePins)  # images.digests, applied to each server image

    def server(self, name: str) -> ServerPlan:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every published MCP endpoint, sorted by path."""
        routes = [s.route for s in self.servers if s.route] + [g.route for g in self.groups if g.route]
        return tuple(sorted(routes, key=lambda r: r.path))

    @property
    def scrape_targets(self) -> tuple[ScrapeTarget, ...]:
        """ServiceMonitor targets: each ToolHive proxy Service (`/metrics` on the proxy
        port, v0.44.0) and each vMCP Service."""
        targets = [
            ScrapeTarget(name=s.proxy_service, namespace=self.namespace, selector=s.proxy_selector, port="http")
            for s in self.servers
        ]
        targets += [
            ScrapeTarget(name=g.service, namespace=self.namespace, selector=g.selector, port="http")
            for g in self.groups
        ]
        return tuple(targets)

    @property
    def credentials(self) -> tuple[CredentialSpec, ...]:
        """The credentials the enabled servers read, one Secret per credential id."""
        merged: dict[str, CredentialSpec] = {}
        for server in self.servers:
            for item in server.secret_env:
                old = merged.get(item.credential)
                keys = tuple(sorted({*(old.keys if old else ()), item.key}))
                merged[item.credential] = CredentialSpec(
                    id=item.credential,
                    namespace=self.namespace,
                    secret_name=item.credential,
                    keys=keys,
                    purpose=item.purpose or (old.purpose if old else f"credential of MCP server {server.name}"),
                    required=(not item.optional) or bool(old and old.required),
                )
        return tuple(merged[k] for k in sorted(merged))

    @property
    def uses_oidc(self) -> bool:
        return any(s.auth for s in self.servers) or any(g.auth for g in self.groups)

    @property
    def withheld(self) -> tuple[tuple[str, str], ...]:
        """(server or group, why) for what is deliberately left unpublished."""
        found = [(s.name, s.withheld) for s in self.servers if s.withheld]
        return tuple(found + [(g.name, g.withheld) for g in self.groups if g.withheld])


# ---------------------------------------------------------------------------
# Building the plan
# ---------------------------------------------------------------------------


def _effective_specs(config: StackConfig) -> dict[str, tuple[ServerSpec, ServerOverride, bool]]:
    """name -> (spec with overrides applied, the override, is custom) for enabled servers.

    Raises ValueError naming the server when an override makes the spec inconsistent.
    """
    out: dict[str, tuple[ServerSpec, ServerOverride, bool]] = {}
    for name, catalog_spec in CATALOG.items():
        spec = catalog_spec
        override = config.mcp.servers.get(name, ServerOverride())
        if not override.enabled:
            continue
        changes: dict[str, Any] = {}
        if override.env:
            changes["env"] = {**spec.env, **override.env}
        if override.disabled_tools is not None:
            changes["disabled_tools"] = override.disabled_tools
        if override.size is not None:
            changes["size"] = override.size
        if override.path is not None:
            changes["path"] = override.path
        if override.egress_rules:
            changes["egress_rules"] = (*spec.egress_rules, *override.egress_rules)
        if override.image is not None:
            changes.update(image=override.image, built_image=None)
        if changes:
            try:
                spec = ServerSpec.model_validate({**spec.model_dump(), **changes})
            except ValidationError as exc:
                detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                raise ValueError(f"{PROJECT}:mcp.servers.{name}: {detail}") from None
        out[name] = (spec, override, False)
    for name, custom in config.mcp.custom_servers.items():
        fields = set(ServerSpec.model_fields)
        spec = ServerSpec.model_validate(custom.model_dump(include=fields))
        override = ServerOverride(
            resources=custom.resources, host=custom.host, auth=custom.auth, autoscale=custom.autoscale
        )
        out[name] = (spec, override, True)
    return out


def _group_settings(config: StackConfig) -> dict[str, tuple[GroupSpec, bool, str | None]]:
    """group -> (spec, aggregate, auth as configured: none, oidc or unset)."""
    out = {}
    for name, spec in GROUPS.items():
        setting = config.mcp.groups.get(name)
        out[name] = (spec, setting.aggregate if setting else True, setting.auth if setting else None)
    return out


def _auth(configured: str | None, executes_code: bool, config: StackConfig, caller_token: bool = False) -> bool:
    """OIDC in front? As configured; unset, a code-executing server takes OIDC whenever
    the stack has an issuer (mcp.oidc), so it can be published."""
    if configured is not None:
        return configured == "oidc"
    return executes_code and config.mcp.oidc is not None and not caller_token


UNAUTHENTICATED_CODE = (
    "runs caller-supplied code and has no authentication, so it is not published "
    "(set mcp.oidc and auth: oidc to publish it; reach it meanwhile with kubectl port-forward)"
)


def _fill(value: str, values: Mapping[str, str]) -> str:
    return string.Formatter().vformat(value, (), dict(values))


def _url_host(value: str) -> str | None:
    parsed = urlparse(value)
    return parsed.hostname if parsed.scheme in ("http", "https") and parsed.hostname else None


def build_plan(config: StackConfig) -> Plan:
    """Join config and catalog. Assumes `validate(config)` found no problem."""
    mcp = config.mcp
    namespace = mcp.namespace
    groups = _group_settings(config)
    specs = _effective_specs(config)
    servers: list[ServerPlan] = []
    for name, (spec, override, custom) in specs.items():
        group_spec, aggregate, _ = groups.get(spec.group, (None, False, None)) if spec.group else (None, False, None)
        auth = _auth(override.auth, spec.executes_code, config, spec.caller_token)
        # A code-executing server is published only behind authentication, unless
        # publish: true asks otherwise (which validate() refuses).
        safe = auth or not spec.executes_code
        publish = override.publish if override.publish is not None else safe
        path = spec.path
        if group_spec is not None and not aggregate:
            path = path or f"{group_spec.path}/{name}"
        if group_spec is not None and aggregate:
            path = None  # published through the group's VirtualMCPServer
        # The host the edge serves the route on (edge_plan.build_edge_plan picks it the same way).
        host = config.edge.hosts.get(name) or override.host or config.domain
        public_url = f"https://{host}{path}" if path else f"https://{config.domain}"
        routed = bool(publish and path)
        outputs = None
        if spec.outputs is not None:
            outputs = OutputsPlan(
                server=name,
                spec=spec.outputs,
                image=_built_image(config, outputs_sidecar.IMAGE_KEY),
                size=mcp.outputs.size,
                max_age_seconds=mcp.outputs.max_age_hours * 3600,
                base_url=f"{public_url}{OUTPUTS_PATH.rstrip('/')}" if routed else None,
            )
        placeholders = {
            "backend_service": backend_service(name),
            "mcp_port": str(spec.mcp_port or ""),
            "public_url": public_url,
            "domain": config.domain,
            "outputs_dir": spec.outputs.directory if spec.outputs else "",
            "outputs_url": (outputs.base_url or "") if outputs else "",
        }
        env = {key: _fill(value, placeholders) for key, value in sorted(spec.env.items())}
        hosts = [*spec.egress_hosts]
        hosts += [h for var in spec.egress_from_env if (h := _url_host(env.get(var, "")))]
        route = None
        if routed:
            route = Route(
                name=name,
                path=path,
                namespace=namespace,
                service=proxy_service(name),
                port=spec.proxy_port,
                mcp_path="/sse" if "sse" in (spec.transport, spec.proxy_mode if not spec.is_http else "") else "/mcp",
                extra_paths=spec.extra_paths,
                host=override.host,
                requires_auth=auth,
                executes_code=spec.executes_code,
                outputs=outputs.backend if outputs else None,
            )
        image = spec.image or _built_image(config, spec.built_image or "")
        servers.append(
            ServerPlan(
                name=name,
                spec=spec,
                image=image,
                resources=override.resources or mcp.sizes[spec.size],
                env=MappingProxyType(env),
                secret_env=spec.secret_env,
                route=route,
                auth=auth,
                autoscale=(override.autoscale or mcp.autoscale) if spec.stateless and spec.is_http else None,
                egress_hosts=tuple(dict.fromkeys(hosts)),
                egress_rules=spec.egress_rules,
                group=spec.group if group_spec is not None and aggregate else None,
                custom=custom,
                outputs=outputs,
                withheld=UNAUTHENTICATED_CODE if path and override.publish is None and not safe else None,
            )
        )
    group_plans = []
    for name, (spec, aggregate, configured) in groups.items():
        members = tuple(s.name for s in servers if s.group == name)
        if not aggregate or not members:
            continue
        executes_code = any(s.spec.executes_code for s in servers if s.name in members)
        auth = _auth(configured, executes_code, config)
        route = Route(
            name=name,
            path=spec.path,
            namespace=namespace,
            service=vmcp_service(name),
            port=VMCP_PORT,
            mcp_path="/mcp",
            requires_auth=auth,
            executes_code=executes_code,
        )
        safe = auth or not executes_code
        withheld = UNAUTHENTICATED_CODE if configured is None and not safe else None
        group_plans.append(
            GroupPlan(
                name=name,
                spec=spec,
                members=members,
                route=route if configured is not None or safe else None,
                auth=auth,
                withheld=withheld,
            )
        )
    return Plan(
        namespace=namespace,
        domain=config.domain,
        production=config.is_production,
        servers=tuple(sorted(servers, key=lambda s: s.name)),
        groups=tuple(group_plans),
        oidc=mcp.oidc,
        proxy_resources=mcp.proxy_resources,
        scratch_size=mcp.scratch_size,
        pull_secret=config.images.pull_secret,
        pins=ImagePins(config.images.digests),
    )


def _built_image(config: StackConfig, key: str) -> str:
    image = versions.SERVER_IMAGES[key]
    return f"{config.images.registry}/{image.repository}:{image.tag}"


# ---------------------------------------------------------------------------
# Validation (stack_config.parse_config runs it after the config model)
# ---------------------------------------------------------------------------


def validate(config: StackConfig) -> list[str]:
    """Every reason the MCP part of `config` cannot be deployed; empty when it can."""
    try:
        specs = _effective_specs(config)
    except ValueError as exc:
        return [str(exc)]
    for spec, _, _ in specs.values():
        if spec.built_image is not None and spec.built_image not in versions.SERVER_IMAGES:
            return [f"catalog error: built_image {spec.built_image!r} is not in components/versions.py"]
    problems: list[str] = []
    where = {name: ("custom_servers" if custom else "servers") for name, (_, _, custom) in specs.items()}
    plan = build_plan(config)
    for server in plan.servers:
        key = f"{PROJECT}:mcp.{where[server.name]}.{server.name}"
        spec = server.spec
        override = config.mcp.servers.get(server.name)
        for var in spec.required_env:
            if not server.env.get(var):
                problems.append(
                    f"{key}.env.{var} is required: {server.name} has no safe default for it "
                    f"(see docs/components.md), or disable the server with {key}.enabled: false"
                )
        for var in spec.egress_from_env:
            if server.env.get(var) and not _url_host(server.env[var]):
                problems.append(f"{key}.env.{var} = {server.env[var]!r}: must be an http(s) URL")
        problems += server_checks.literal_credentials(server, key)
        problems += server_checks.unreachable_upstreams(server, config.network, key)
        problems += server_checks.public_egress_for_code(server, config.network, key)
        if server.auth and config.mcp.oidc is None:
            problems.append(f"{key}.auth is 'oidc' but {PROJECT}:mcp.oidc (issuer, audience) is not set")
        if server.auth and spec.caller_token:
            problems.append(
                f"{key}.auth: {server.name} reads the caller's own token from the Authorization header, "
                "which OIDC at the ToolHive proxy would take; keep auth 'none' and restrict it at the edge"
            )
        if override and override.autoscale and server.autoscale is None:
            problems.append(
                f"{key}.autoscale: {server.name} is not a stateless HTTP server, so it runs exactly one replica"
            )
        if spec.executes_code and server.route and not server.auth:
            code = ", ".join(sorted(set(spec.code_tools) & set(spec.enabled_tools)))
            problems.append(
                f"{key}: runs caller-supplied code ({code}) "
                f"and would be published at {server.route.path} without authentication, which no environment allows; "
                f"set {key}.auth: oidc (with {PROJECT}:mcp.oidc), remove {key}.publish (then it is not published), "
                "or disable the code tools"
            )
    for group in plan.groups:
        key = f"{PROJECT}:mcp.groups.{group.name}"
        if group.auth and config.mcp.oidc is None:
            problems.append(f"{key}.auth is 'oidc' but {PROJECT}:mcp.oidc (issuer, audience) is not set")
        if group.route and group.route.executes_code and not group.auth:
            problems.append(
                f"{key}.auth is 'none' but a member runs caller-supplied code, which no environment publishes without "
                f"authentication; set {key}.auth: oidc (with {PROJECT}:mcp.oidc) or remove {key}.auth"
            )
    seen: dict[tuple[str | None, str], str] = {}
    for route in plan.routes:
        for host in {None, route.host}:
            other = seen.get((host, route.path))
            if other:
                problems.append(
                    f"{PROJECT}:mcp: route {route.path} of '{route.name}' collides with '{other}'; "
                    f"give one of them another path (mcp.servers.<name>.path)"
                )
            seen[(host, route.path)] = route.name
    paths = sorted(r.path for r in plan.routes)
    for a in paths:
        for b in paths:
            if a != b and b.startswith(a + "/"):
                problems.append(f"{PROJECT}:mcp: route {b} is nested under route {a}; prefix routes must not nest")
    return problems
