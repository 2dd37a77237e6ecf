"""The edge plan: one route table, every controller's objects rendered from it.

Pure functions, no Pulumi: `build_edge_plan` joins the stack config with the MCP
layer's `Route`s and the monitoring layer's `WebRoute`s into an `EdgePlan` (hosts,
published paths and what each is rewritten to, timeouts, buffering, body size, CORS,
allowlist, certificate names, issuer); the `*_objects` functions render that plan as
Kubernetes manifests for one controller. `components/edge.py` only applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from components.config import PROJECT, ConfigError, StackConfig
from components.contracts import OUTPUTS_PATH, OutputsBackend, Route, SecretRef, WebRoute
from components.k8s import labels

COMPONENT = "edge"

# Request headers MCP clients send and browsers must be allowed to send (MCP transport
# spec 2025-11-25 and 2026-07-28), and the one header they must be allowed to read.
MCP_ALLOW_HEADERS = (
    "Mcp-Session-Id",
    "MCP-Protocol-Version",
    "Mcp-Method",
    "Mcp-Name",
    "Authorization",
    "Content-Type",
    "Last-Event-ID",
)
MCP_EXPOSE_HEADERS = ("Mcp-Session-Id",)
# POST carries requests, GET opens the (pre-2026) SSE stream, DELETE ends a session.
CORS_METHODS = ("GET", "POST", "DELETE", "OPTIONS")
CORS_MAX_AGE = 3600

# RFC 9728 protected-resource metadata, served by the ToolHive proxy when OIDC is on.
OAUTH_METADATA_PATH = "/.well-known/oauth-protected-resource"

# Let's Encrypt directories (cert-manager website configuration/acme/README.md).
ACME_SERVERS = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}

# Helm release names (fixed, so chart-generated object names are known).
NIC_RELEASE = "nginx-ingress"
NGF_RELEASE = "nginx-gateway-fabric"
CERT_MANAGER_RELEASE = "cert-manager"
GODADDY_RELEASE = "godaddy-webhook"
EXTERNAL_DNS_RELEASE = "external-dns"
GATEWAY_NAME = "edge"

# NIC writes `<location> ... proxy_pass http://<upstream><rewrite>` per Ingress path
# (internal/configs/version1/nginx.ingress.tmpl @ v5.5.4); mergeable Ingresses let one
# host span namespaces (docs.nginx.com nic/configuration/ingress-resources/cross-namespace-configuration).
MERGEABLE = "nginx.org/mergeable-ingress-type"


@dataclass(frozen=True)
class PublishedPath:
    """One public path and the path it reaches on the Service (prefix stripped)."""

    public: str  # e.g. "/huggingface/mcp"
    upstream: str  # e.g. "/mcp"
    exact: bool  # exact match (endpoints) or prefix match (directories ending in "/")
    purpose: str  # "mcp", "oauth-metadata", "health", "outputs" or "extra"
    # Another Service of the route's namespace than the route's own (the outputs sidecar's).
    backend: OutputsBackend | None = None


@dataclass(frozen=True)
class RoutePlan:
    name: str
    host: str
    namespace: str
    service: str
    port: int
    paths: tuple[PublishedPath, ...]

    @property
    def mcp_url(self) -> str:
        return f"https://{self.host}{self.paths[0].public}"

    @property
    def outputs_url(self) -> str | None:
        """Where users open the server's files: `<name>` goes after a slash."""
        found = next((p for p in self.paths if p.purpose == "outputs"), None)
        return f"https://{self.host}{found.public.rstrip('/')}" if found else None

    def target(self, path: PublishedPath) -> tuple[str, int]:
        """(Service, port) a published path reaches."""
        return (path.backend.service, path.backend.port) if path.backend else (self.service, self.port)


@dataclass(frozen=True)
class WebRoutePlan:
    name: str
    host: str
    namespace: str
    service: str
    port: int

    @property
    def url(self) -> str:
        return f"https://{self.host}/"


@dataclass(frozen=True)
class EdgePlan:
    """Everything the edge publishes, independent of the controller that serves it."""

    domain: str
    environment: str
    controller: str  # nginx-ingress | gateway-api | existing
    installs_controller: bool
    ingress_class: str
    namespace: str
    cert_manager_namespace: str
    monitoring_namespace: str
    routes: tuple[RoutePlan, ...]
    web_routes: tuple[WebRoutePlan, ...]  # published UIs
    withheld_web_routes: tuple[str, ...]  # UIs not published (no allowlist)
    dns_provider: str
    wildcard: bool
    dns_names: tuple[str, ...]  # certificate names
    issuer: str  # ClusterIssuer the Certificate uses
    tls_secret: str
    timeout: str  # e.g. "3600s"
    body_size: str  # e.g. "16m"
    cors_origins: tuple[str, ...]
    allowed_cidrs: tuple[str, ...]

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host the edge serves: the domain first, then the others sorted."""
        found = {r.host for r in self.routes} | {w.host for w in self.web_routes}
        return (self.domain, *sorted(found - {self.domain}))

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}"

    @property
    def namespaces_with_routes(self) -> tuple[str, ...]:
        return tuple(sorted({r.namespace for r in self.routes} | {w.namespace for w in self.web_routes}))

    def route(self, name: str) -> RoutePlan:
        return next(r for r in self.routes if r.name == name)


def issuer_name(kind: str) -> str:
    return f"letsencrypt-{kind}"


def build_edge_plan(
    config: StackConfig,
    routes: Sequence[Route],
    web_routes: Sequence[WebRoute] = (),
    stack: str | None = None,
) -> EdgePlan:
    """Join config and route tables; raise ConfigError naming the keys on a conflict."""
    edge = config.edge
    stack = stack or config.environment
    problems: list[str] = []

    names = [r.name for r in routes]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"two MCP routes are both named '{name}': route names must be unique")
    for name in sorted(set(edge.hosts) - set(names)):
        problems.append(
            f"{PROJECT}:edge.hosts.{name}: no MCP route is named '{name}' (routes: {', '.join(sorted(names))})"
        )

    planned: list[RoutePlan] = []
    for route in routes:
        host = edge.hosts.get(route.name) or route.host or config.domain
        problems.extend(_check_route(route))
        planned.append(
            RoutePlan(
                name=route.name,
                host=host,
                namespace=route.namespace,
                service=route.service,
                port=route.port,
                paths=_published_paths(route, edge.publish_health),
            )
        )
    problems.extend(_path_collisions(planned))

    route_hosts = {r.host for r in planned}
    published_web: list[WebRoutePlan] = []
    withheld: list[str] = []
    for web in web_routes:
        if web.host != config.domain and not web.host.endswith("." + config.domain):
            problems.append(f"web UI '{web.name}' host '{web.host}' is not under {config.domain}")
        if web.host in route_hosts or web.host == config.domain:
            problems.append(
                f"web UI '{web.name}' wants host '{web.host}', which MCP routes already use "
                f"(check {PROJECT}:edge.hosts): a UI needs a host of its own"
            )
        # UIs are never public: without an allowlist they are not published at all.
        if edge.allowed_cidrs and edge.publish_web_uis:
            published_web.append(WebRoutePlan(web.name, web.host, web.namespace, web.service, web.port))
        else:
            withheld.append(web.name)
    if problems:
        raise ConfigError(stack, problems)

    kind = edge.issuer if edge.issuer != "auto" else ("production" if config.is_production else "staging")
    wildcard = edge.wildcard and config.dns.provider != "http01-only"
    all_hosts = {config.domain} | route_hosts | {w.host for w in published_web}
    if wildcard:
        extra = sorted(h for h in all_hosts if h != config.domain and not _under_wildcard(h, config.domain))
        dns_names = (config.domain, f"*.{config.domain}", *extra)
    else:
        dns_names = (config.domain, *sorted(all_hosts - {config.domain}))
    return EdgePlan(
        domain=config.domain,
        environment=config.environment,
        controller=edge.controller,
        installs_controller=edge.controller != "existing" and edge.install_controller,
        ingress_class=edge.ingress_class,
        namespace=edge.namespace,
        cert_manager_namespace=edge.cert_manager_namespace,
        monitoring_namespace=config.monitoring.namespace,
        routes=tuple(planned),
        web_routes=tuple(published_web),
        withheld_web_routes=tuple(withheld),
        dns_provider=config.dns.provider,
        wildcard=wildcard,
        dns_names=dns_names,
        issuer=issuer_name(kind),
        tls_secret=f"{config.domain.replace('.', '-')}-tls",
        timeout=f"{edge.stream_timeout_seconds}s",
        body_size=edge.client_max_body_size,
        cors_origins=tuple(edge.cors_origins),
        allowed_cidrs=tuple(edge.allowed_cidrs),
    )


def _under_wildcard(host: str, domain: str) -> bool:
    return host.endswith("." + domain) and host.count(".") == domain.count(".") + 1


def _check_route(route: Route) -> list[str]:
    out = []
    if not route.path.startswith("/") or route.path.endswith("/") or "//" in route.path:
        out.append(f"MCP route '{route.name}' path '{route.path}' must start with '/' and not end with '/'")
    for extra in route.extra_paths:
        if not extra.startswith("/") or not extra.endswith("/"):
            out.append(f"MCP route '{route.name}' extra path '{extra}' must be a directory such as /outputs/")
        if extra.rstrip("/").split("/")[1:2] == ["metrics"]:
            out.append(f"MCP route '{route.name}' extra path '{extra}' would publish metrics: never published")
    if route.outputs is not None and OUTPUTS_PATH in route.extra_paths:
        out.append(f"MCP route '{route.name}' publishes {OUTPUTS_PATH} twice: as an extra path and from its sidecar")
    return out


def _published_paths(route: Route, publish_health: bool) -> tuple[PublishedPath, ...]:
    """Only what clients need: the MCP endpoint, OAuth metadata when auth is on, extra
    directories, the outputs (served by the server itself, as Penrose does, or by its
    outputs sidecar, which gets `/<name>`) and /health when asked. Never /metrics."""
    prefix = route.path.rstrip("/")
    out = [PublishedPath(prefix + route.mcp_path, route.mcp_path, True, "mcp")]
    if route.requires_auth:
        out.append(PublishedPath(prefix + OAUTH_METADATA_PATH, OAUTH_METADATA_PATH, True, "oauth-metadata"))
    if publish_health and route.health_path:
        out.append(PublishedPath(prefix + route.health_path, route.health_path, True, "health"))
    out.extend(
        PublishedPath(prefix + extra, extra, False, "outputs" if extra == OUTPUTS_PATH else "extra")
        for extra in route.extra_paths
    )
    if route.outputs is not None:
        out.append(PublishedPath(prefix + OUTPUTS_PATH, "/", False, "outputs", route.outputs))
    return tuple(out)


def _segments_overlap(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def _path_collisions(planned: Sequence[RoutePlan]) -> list[str]:
    out = []
    for i, first in enumerate(planned):
        for second in planned[i + 1 :]:
            if first.host != second.host:
                continue
            a = _route_prefix(first)
            b = _route_prefix(second)
            if _segments_overlap(a, b):
                out.append(
                    f"MCP routes '{first.name}' ({a}) and '{second.name}' ({b}) collide on host {first.host}: "
                    f"one path contains the other. Give one a dedicated host with {PROJECT}:edge.hosts."
                    f"{second.name} or a different path"
                )
    return out


def _route_prefix(route: RoutePlan) -> str:
    mcp = route.paths[0]
    return mcp.public[: len(mcp.public) - len(mcp.upstream)] or "/"


# ---------------------------------------------------------------------------
# Shared object helpers
# ---------------------------------------------------------------------------


def _meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(name, COMPONENT)}
    if namespace is not None:
        meta["namespace"] = namespace
    for key, value in extra.items():
        if value:
            meta[key] = value
    return meta


def _k8s_name(*parts: str) -> str:
    text = "-".join(p.strip("/").replace("/", "-").replace(".", "-").replace("_", "-") for p in parts if p)
    text = "-".join(filter(None, text.lower().split("-")))
    return text[:63].rstrip("-")


# ---------------------------------------------------------------------------
# F5 NGINX Ingress Controller (controller: nginx-ingress or existing)
# ---------------------------------------------------------------------------

CORS_POLICY = "edge-cors"
ALLOWLIST_POLICY = "edge-allowlist"


def nic_route_annotations(plan: EdgePlan, service: str, upstream: str, namespace_policies: list[str]) -> dict:
    """Per-location settings in F5 NIC syntax (internal/configs/annotations.go @ v5.5.4):
    timeouts go through ParseTime ("3600s"), buffering through strconv.ParseBool, the
    rewrite replaces the location's path in `proxy_pass` (examples/rewrites)."""
    out = {
        MERGEABLE: "minion",
        "nginx.org/rewrites": f"serviceName={service} rewrite={upstream}",
        "nginx.org/proxy-read-timeout": plan.timeout,
        "nginx.org/proxy-send-timeout": plan.timeout,
        # ConfigMap default ProxyBuffering: true (internal/configs/config_params.go) holds SSE events.
        "nginx.org/proxy-buffering": "False",
        "nginx.org/client-max-body-size": plan.body_size,
    }
    if namespace_policies:
        # Policy support on Ingress since NIC v5.4.0 (policy-specification docs).
        out["nginx.org/policies"] = ",".join(namespace_policies)
    return out


def nic_objects(plan: EdgePlan) -> list[dict[str, Any]]:
    """Masters (host, TLS, redirect, HSTS) in the edge namespace; one minion per
    published path in the Service's namespace; CORS and allowlist Policies."""
    objs: list[dict[str, Any]] = []
    cls = plan.ingress_class
    master_policies = [ALLOWLIST_POLICY] if plan.allowed_cidrs else []
    for host in plan.hosts:
        annotations = {
            MERGEABLE: "master",
            "nginx.org/ssl-redirect": "True",
            "nginx.org/hsts": "True",
            "nginx.org/hsts-max-age": "31536000",
        }
        if master_policies:
            annotations["nginx.org/policies"] = ",".join(master_policies)
        objs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": _meta(_k8s_name("edge", host), plan.namespace, annotations=annotations),
                "spec": {
                    "ingressClassName": cls,
                    "tls": [{"hosts": [host], "secretName": plan.tls_secret}],
                    "rules": [{"host": host}],
                },
            }
        )
    policy_namespaces: set[str] = set()
    for route in plan.routes:
        policies = ([CORS_POLICY] if plan.cors_origins else []) + master_policies
        if policies:
            policy_namespaces.add(route.namespace)
        for path in route.paths:
            service, port = route.target(path)
            objs.append(
                _nic_minion(
                    _k8s_name("mcp", route.name, path.purpose if path.purpose != "extra" else path.upstream),
                    namespace=route.namespace,
                    host=route.host,
                    path=path.public,
                    path_type="Exact" if path.exact else "Prefix",
                    service=service,
                    port=port,
                    cls=cls,
                    annotations=nic_route_annotations(plan, service, path.upstream, policies),
                )
            )
    for web in plan.web_routes:
        annotations = {
            MERGEABLE: "minion",
            # Grafana Live uses WebSockets; NIC adds the Upgrade headers only for listed services.
            "nginx.org/websocket-services": web.service,
            "nginx.org/policies": ALLOWLIST_POLICY,
        }
        policy_namespaces.add(web.namespace)
        objs.append(
            _nic_minion(
                _k8s_name("ui", web.name),
                namespace=web.namespace,
                host=web.host,
                path="/",
                path_type="Prefix",
                service=web.service,
                port=web.port,
                cls=cls,
                annotations=annotations,
            )
        )
    if master_policies:
        policy_namespaces.add(plan.namespace)
    for namespace in sorted(policy_namespaces):
        if plan.allowed_cidrs:
            objs.append(
                _nic_policy(ALLOWLIST_POLICY, namespace, cls, {"accessControl": {"allow": list(plan.allowed_cidrs)}})
            )
        if plan.cors_origins and any(r.namespace == namespace for r in plan.routes):
            objs.append(_nic_policy(CORS_POLICY, namespace, cls, {"cors": cors_spec_nic(plan)}))
    return objs


def cors_spec_nic(plan: EdgePlan) -> dict[str, Any]:
    """k8s.nginx.org/v1 Policy `cors` (CRD @ v5.5.4): no credentials, so `*` stays legal."""
    return {
        "allowOrigin": list(plan.cors_origins),
        "allowMethods": list(CORS_METHODS),
        "allowHeaders": list(MCP_ALLOW_HEADERS),
        "exposeHeaders": list(MCP_EXPOSE_HEADERS),
        "allowCredentials": False,
        "maxAge": CORS_MAX_AGE,
    }


def _nic_policy(name: str, namespace: str, cls: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "k8s.nginx.org/v1",
        "kind": "Policy",
        "metadata": _meta(name, namespace),
        "spec": {"ingressClassName": cls, **spec},
    }


def _nic_minion(
    name: str,
    *,
    namespace: str,
    host: str,
    path: str,
    path_type: str,
    service: str,
    port: int,
    cls: str,
    annotations: dict[str, str],
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, namespace, annotations=annotations),
        "spec": {
            "ingressClassName": cls,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": path_type,
                                "backend": {"service": {"name": service, "port": {"number": port}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


# ---------------------------------------------------------------------------
# NGINX Gateway Fabric (controller: gateway-api)
# ---------------------------------------------------------------------------

GATEWAY_GROUP = "gateway.networking.k8s.io"


def gateway_listeners(plan: EdgePlan) -> list[dict[str, Any]]:
    allowed = {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": sorted({*plan.namespaces_with_routes, plan.namespace}),
                    }
                ]
            },
        }
    }
    listeners = [{"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": allowed}]
    https_hosts = [plan.domain, f"*.{plan.domain}"] if plan.wildcard else list(plan.hosts)
    if plan.wildcard:
        https_hosts += [h for h in plan.hosts if h != plan.domain and not _under_wildcard(h, plan.domain)]
    for host in https_hosts:
        listeners.append(
            {
                "name": _https_listener(host),
                "hostname": host,
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": plan.tls_secret}]},
                "allowedRoutes": allowed,
            }
        )
    return listeners


def _https_listener(host: str) -> str:
    return _k8s_name("https", host.replace("*", "wildcard"))


def _parent_for(plan: EdgePlan, host: str) -> list[dict[str, Any]]:
    if plan.wildcard and (host == plan.domain or _under_wildcard(host, plan.domain)):
        section = _https_listener(host if host == plan.domain else f"*.{plan.domain}")
    else:
        section = _https_listener(host)
    return [
        {
            "group": GATEWAY_GROUP,
            "kind": "Gateway",
            "name": GATEWAY_NAME,
            "namespace": plan.namespace,
            "sectionName": section,
        }
    ]


def gateway_objects(plan: EdgePlan, service_annotations: dict[str, str]) -> list[dict[str, Any]]:
    """Gateway, HTTP->HTTPS redirect, one HTTPRoute per MCP route and UI, and NGF's
    policies for what HTTPRoute `timeouts` would do (NGF rejects those: graph/httproute.go)."""
    gateway_spec: dict[str, Any] = {"gatewayClassName": plan.ingress_class, "listeners": gateway_listeners(plan)}
    if service_annotations:
        # Gateway API infrastructure annotations reach the generated Service (GEP-1867).
        gateway_spec["infrastructure"] = {"annotations": dict(service_annotations)}
    objs: list[dict[str, Any]] = [
        {
            "apiVersion": f"{GATEWAY_GROUP}/v1",
            "kind": "Gateway",
            "metadata": _meta(GATEWAY_NAME, plan.namespace),
            "spec": gateway_spec,
        },
        {
            "apiVersion": f"{GATEWAY_GROUP}/v1",
            "kind": "HTTPRoute",
            "metadata": _meta("edge-https-redirect", plan.namespace),
            "spec": {
                "parentRefs": [
                    {"group": GATEWAY_GROUP, "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": "http"}
                ],
                "rules": [
                    {
                        "filters": [
                            {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
                        ]
                    }
                ],
            },
        },
    ]
    routes_by_namespace: dict[str, list[str]] = {}
    for route in plan.routes:
        name = _k8s_name("mcp", route.name)
        routes_by_namespace.setdefault(route.namespace, []).append(name)
        rules = []
        for path in route.paths:
            rewrite = (
                {"type": "ReplaceFullPath", "replaceFullPath": path.upstream}
                if path.exact
                else {"type": "ReplacePrefixMatch", "replacePrefixMatch": path.upstream}
            )
            service, port = route.target(path)
            filters: list[dict[str, Any]] = [{"type": "URLRewrite", "urlRewrite": {"path": rewrite}}]
            if plan.cors_origins:
                filters.append({"type": "CORS", "cors": cors_spec_gateway(plan)})
            rules.append(
                {
                    "matches": [
                        {
                            "path": {
                                "type": "Exact" if path.exact else "PathPrefix",
                                "value": path.public.rstrip("/") if not path.exact else path.public,
                            }
                        }
                    ],
                    "filters": filters,
                    "backendRefs": [{"name": service, "port": port}],
                }
            )
        objs.append(
            {
                "apiVersion": f"{GATEWAY_GROUP}/v1",
                "kind": "HTTPRoute",
                "metadata": _meta(name, route.namespace),
                "spec": {"parentRefs": _parent_for(plan, route.host), "hostnames": [route.host], "rules": rules},
            }
        )
    for web in plan.web_routes:
        objs.append(
            {
                "apiVersion": f"{GATEWAY_GROUP}/v1",
                "kind": "HTTPRoute",
                "metadata": _meta(_k8s_name("ui", web.name), web.namespace),
                "spec": {
                    "parentRefs": _parent_for(plan, web.host),
                    "hostnames": [web.host],
                    "rules": [
                        {
                            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                            "backendRefs": [{"name": web.service, "port": web.port}],
                        }
                    ],
                },
            }
        )
    for namespace, names in sorted(routes_by_namespace.items()):
        for i in range(0, len(names), 16):  # targetRefs maxItems: 16 (ProxySettingsPolicy CRD)
            objs.append(
                {
                    "apiVersion": "gateway.nginx.org/v1alpha1",
                    "kind": "ProxySettingsPolicy",
                    "metadata": _meta(_k8s_name("mcp-streaming", str(i // 16) if i else ""), namespace),
                    "spec": {
                        "targetRefs": [
                            {"group": GATEWAY_GROUP, "kind": "HTTPRoute", "name": n} for n in names[i : i + 16]
                        ],
                        "buffering": {"disable": True},
                        "timeout": {"read": plan.timeout, "send": plan.timeout},
                    },
                }
            )
    objs.append(
        {
            "apiVersion": "gateway.nginx.org/v1alpha1",
            "kind": "ClientSettingsPolicy",
            "metadata": _meta("edge-client-settings", plan.namespace),
            "spec": {
                "targetRef": {"group": GATEWAY_GROUP, "kind": "Gateway", "name": GATEWAY_NAME},
                "body": {"maxSize": plan.body_size},
            },
        }
    )
    return objs


def cors_spec_gateway(plan: EdgePlan) -> dict[str, Any]:
    """HTTPRoute `CORS` filter (Gateway API v1.6.1 standard channel; NGF lists FilterCORS
    among supported HTTPRoute filters, internal/controller/state/graph/common_filter.go)."""
    return {
        "allowOrigins": list(plan.cors_origins),
        "allowMethods": list(CORS_METHODS),
        "allowHeaders": list(MCP_ALLOW_HEADERS),
        "exposeHeaders": list(MCP_EXPOSE_HEADERS),
        "maxAge": CORS_MAX_AGE,
    }


# ---------------------------------------------------------------------------
# TLS: ClusterIssuers and the Certificate
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DnsCredentials:
    """The Secrets the solver and external-dns read (None for http01-only)."""

    solver: SecretRef | None = None
    external_dns: tuple[SecretRef, ...] = ()


def godaddy_group(config: StackConfig) -> str:
    return config.dns.godaddy_group_name or f"acme.{config.domain}"


def solver(plan: EdgePlan, config: StackConfig, credentials: DnsCredentials) -> dict[str, Any]:
    """The one ACME solver: DNS-01 at the provider, or HTTP-01 through the edge."""
    provider = config.dns.provider
    if provider == "http01-only":
        if plan.controller == "gateway-api":
            http01: dict[str, Any] = {
                "gatewayHTTPRoute": {
                    "parentRefs": [
                        {
                            "group": GATEWAY_GROUP,
                            "kind": "Gateway",
                            "name": GATEWAY_NAME,
                            "namespace": plan.namespace,
                            "sectionName": "http",
                        }
                    ]
                }
            }
        else:
            # The solver's Ingress joins the host's master as a minion (NIC picks one
            # non-mergeable Ingress per host: "Host and Listener collisions" docs).
            http01 = {
                "ingress": {
                    "ingressClassName": plan.ingress_class,
                    "ingressTemplate": {"metadata": {"annotations": {MERGEABLE: "minion"}}},
                }
            }
        return {"http01": http01}
    if credentials.solver is None:
        raise ValueError(f"dns.provider {provider} needs a DNS API credential")
    ref = {"name": credentials.solver.name, "key": credentials.solver.key}
    dns01: dict[str, Any] = {}
    if config.dns.cname_strategy == "Follow":
        dns01["cnameStrategy"] = "Follow"
    if provider == "cloudflare":
        dns01["cloudflare"] = {"apiTokenSecretRef": ref}
    else:
        # snowdrop/godaddy-webhook README @ v0.8.0: solverName godaddy, production: true
        # is api.godaddy.com (false is the OTE test API).
        dns01["webhook"] = {
            "groupName": godaddy_group(config),
            "solverName": "godaddy",
            "config": {"apiKeySecretRef": ref, "production": True, "ttl": 600},
        }
    return {"dns01": dns01, "selector": {"dnsZones": [plan.domain]}}


def issuer_objects(plan: EdgePlan, config: StackConfig, credentials: DnsCredentials) -> list[dict[str, Any]]:
    out = []
    for kind, server in ACME_SERVERS.items():
        acme: dict[str, Any] = {
            "server": server,
            "privateKeySecretRef": {"name": f"{issuer_name(kind)}-account"},
            "solvers": [solver(plan, config, credentials)],
        }
        if config.edge.acme_email:
            acme["email"] = config.edge.acme_email
        out.append(
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "ClusterIssuer",
                "metadata": _meta(issuer_name(kind)),
                "spec": {"acme": acme},
            }
        )
    return out


def certificate_objects(plan: EdgePlan) -> list[dict[str, Any]]:
    """One Certificate for every host, in the edge namespace where the controller (NIC
    master Ingresses, NGF Gateway) reads it."""
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": _meta(plan.tls_secret, plan.namespace),
            "spec": {
                "secretName": plan.tls_secret,
                "dnsNames": list(plan.dns_names),
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": plan.issuer},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
        }
    ]


def outputs(plan: EdgePlan) -> dict[str, Any]:
    """What clients need: base URL, every route's MCP URL and outputs base URL, UI URLs."""
    return {
        "base_url": plan.base_url,
        "mcp_urls": {r.name: r.mcp_url for r in plan.routes},
        "outputs_urls": {r.name: r.outputs_url for r in plan.routes if r.outputs_url},
        "web_urls": {w.name: w.url for w in plan.web_routes},
        "withheld_web_uis": list(plan.withheld_web_routes),
    }


def all_hosts(objects: Iterable[dict[str, Any]]) -> set[str]:
    """Hosts named by Ingress rules and HTTPRoute hostnames (used by tests and docs)."""
    found: set[str] = set()
    for obj in objects:
        if obj["kind"] == "Ingress":
            found |= {r["host"] for r in obj["spec"].get("rules", [])}
        if obj["kind"] == "HTTPRoute":
            found |= set(obj["spec"].get("hostnames", []))
    return found


def backend_services(obj: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, name) of every Service an Ingress or HTTPRoute sends traffic to."""
    namespace = obj["metadata"].get("namespace", "")
    found: set[tuple[str, str]] = set()
    for rule in obj.get("spec", {}).get("rules", []):
        if obj["kind"] == "Ingress":
            found |= {(namespace, p["backend"]["service"]["name"]) for p in rule.get("http", {}).get("paths", [])}
        elif obj["kind"] == "HTTPRoute":
            found |= {(ref.get("namespace", namespace), ref["name"]) for ref in rule.get("backendRefs", [])}
    return found
