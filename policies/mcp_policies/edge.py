"""Edge: TLS on every host, streaming settings on MCP routes, no published /metrics, and
a maintained NGINX controller.

Controllers (research/platform.md, components/edge_plan.py): F5 NGINX Ingress Controller
reads standard Ingresses with `nginx.org/*` annotations (mergeable masters carry TLS,
minions carry per-location settings); NGINX Gateway Fabric reads Gateways and HTTPRoutes
with its ProxySettingsPolicy for buffering and timeouts. kubernetes/ingress-nginx reached
end of life in March 2026.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .base import resource_policy, stack_policy, string_list
from .kube import (
    CERTIFICATE,
    GATEWAY,
    HELM_RELEASE,
    HTTP_ROUTE,
    INGRESS,
    MCP_SERVICE,
    PROXY_SETTINGS_POLICY,
    annotations,
    as_dict,
    as_list,
    describe,
    get,
    host_covered,
    ingress_hosts,
    namespace_of,
    nginx_seconds,
    parse_bool,
    pod_templates,
    route_backends,
    values_images,
)
from .stackview import StackView

MERGEABLE = "nginx.org/mergeable-ingress-type"
GATEWAY_GROUP = "gateway.networking.k8s.io"

# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


def _certificate_covers(view: StackView, namespace: str, secret: str, host: str) -> str | None:
    """None when fine; else why the TLS Secret does not serve `host`."""
    certs = [
        c
        for c in view.of_type(CERTIFICATE)
        if namespace_of(c.props) == namespace and get(c.props, "spec", "secretName") == secret
    ]
    if not certs:
        return f"no cert-manager Certificate in this stack issues Secret {namespace}/{secret}"
    names = [str(n) for c in certs for n in as_list(get(c.props, "spec", "dnsNames"))]
    if not host_covered(host, names):
        return f"Certificate for Secret {namespace}/{secret} covers {names}, not {host}"
    return None


def _ingress_tls(view: StackView, ingress: PolicyResource, report: ReportViolation) -> None:
    where = describe(ingress.resource_type, ingress.props, ingress.name)
    cls = get(ingress.props, "spec", "ingressClassName")
    for host in ingress_hosts(ingress.props):
        if not host:
            report(f"{where} has a rule without a host, which TLS cannot cover", ingress.urn)
            continue
        # The Ingress itself, or (F5 NIC mergeable minion) the master Ingress of the same host and class.
        candidates = [ingress]
        if annotations(ingress.props).get(MERGEABLE) == "minion":
            candidates += [
                m
                for m in view.of_type(INGRESS)
                if annotations(m.props).get(MERGEABLE) == "master"
                and get(m.props, "spec", "ingressClassName") == cls
                and host in ingress_hosts(m.props)
            ]
        served = None
        for candidate in candidates:
            for tls in as_list(get(candidate.props, "spec", "tls")):
                if host_covered(host, [str(h) for h in as_list(get(tls, "hosts"))]) and get(tls, "secretName"):
                    served = (namespace_of(candidate.props), str(get(tls, "secretName")))
                    break
            if served:
                break
        if served is None:
            report(f"{where}: host {host} has no TLS (spec.tls on the Ingress or its mergeable master)", ingress.urn)
            continue
        problem = _certificate_covers(view, served[0], served[1], host)
        if problem:
            report(f"{where}: host {host}: {problem}", ingress.urn)


def _redirect_only(route: PolicyResource) -> bool:
    rules = as_list(get(route.props, "spec", "rules"))
    return bool(rules) and all(
        any(
            get(f, "type") == "RequestRedirect" and get(f, "requestRedirect", "scheme") == "https"
            for f in as_list(get(r, "filters"))
        )
        and not as_list(get(r, "backendRefs"))
        for r in rules
    )


def _httproute_tls(view: StackView, route: PolicyResource, report: ReportViolation) -> None:
    if _redirect_only(route):
        return
    where = describe(route.resource_type, route.props, route.name)
    hostnames = [str(h) for h in as_list(get(route.props, "spec", "hostnames"))]
    if not hostnames:
        report(f"{where} names no hostnames, so it attaches to every listener host", route.urn)
    for ref in as_list(get(route.props, "spec", "parentRefs")):
        kind, group = get(ref, "kind", default="Gateway"), get(ref, "group", default=GATEWAY_GROUP)
        if kind != "Gateway" or group != GATEWAY_GROUP:
            continue
        ns = str(get(ref, "namespace") or namespace_of(route.props))
        gateway = view.find(GATEWAY, ns, str(get(ref, "name")))
        if gateway is None:
            parent = f"{ns}/{get(ref, 'name')}"
            report(f"{where}: parent Gateway {parent} is not in this stack; its TLS cannot be checked", route.urn)
            continue
        listeners = as_list(get(gateway.props, "spec", "listeners"))
        section = get(ref, "sectionName")
        if section:
            listeners = [item for item in listeners if get(item, "name") == section]
        if not listeners:
            report(f"{where}: Gateway {ns}/{get(ref, 'name')} has no listener '{section}'", route.urn)
        for listener in listeners:
            name = get(listener, "name")
            if get(listener, "protocol") != "HTTPS" or not as_list(get(listener, "tls", "certificateRefs")):
                report(f"{where}: attaches to Gateway listener '{name}', which does not terminate TLS", route.urn)
                continue
            listener_host = get(listener, "hostname")
            secret = str(get(listener, "tls", "certificateRefs", 0, "name") or "")
            for host in hostnames:
                if listener_host and not host_covered(host, [str(listener_host)]):
                    continue  # Gateway API: the route does not attach to this listener for this host
                problem = _certificate_covers(view, ns, secret, host)
                if problem:
                    report(f"{where}: host {host}: {problem}", route.urn)


def _check_tls(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    for ingress in view.of_type(INGRESS):
        _ingress_tls(view, ingress, report)
    for route in view.of_type(HTTP_ROUTE):
        _httproute_tls(view, route, report)


ROUTE_TLS = stack_policy(
    "route-tls",
    "Every Ingress and HTTPRoute host is served over TLS (the Ingress or its F5 NIC mergeable master lists it "
    "under spec.tls; an HTTPRoute attaches only to HTTPS Gateway listeners) with a certificate from a "
    "cert-manager Certificate in the stack that covers the host. HTTP->HTTPS redirect routes are exempt.",
    _check_tls,
    severity=Severity.HIGH,
    remediation="Publish hosts through components/edge.py, which adds them to the Certificate and the TLS masters/"
    "listeners; do not add routes by hand.",
)


# ---------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------

STREAMING_CONFIG = {
    "minTimeoutSeconds": {
        "type": "integer",
        "minimum": 60,
        "description": "Smallest read/send timeout an MCP route may have (MCP streams stay open for long).",
        "default": 3600,
    }
}


def _nic_problems(props: Mapping[str, Any], minimum: int) -> list[str]:
    notes = annotations(props)
    out = []
    for key in ("nginx.org/proxy-read-timeout", "nginx.org/proxy-send-timeout"):
        seconds = nginx_seconds(notes.get(key))
        if seconds is None:
            out.append(f"{key} is not set" if key not in notes else f"{key} '{notes[key]}' is not an nginx time")
        elif seconds < minimum:
            out.append(f"{key} is {notes[key]} (< {minimum}s)")
    if parse_bool(notes.get("nginx.org/proxy-buffering")) is not False:
        out.append("nginx.org/proxy-buffering is not false (responses would be buffered, holding SSE events)")
    return out


def _ngf_problems(view: StackView, route: PolicyResource, minimum: int) -> list[str]:
    ns, name = namespace_of(route.props), get(route.props, "metadata", "name")
    policies = [
        p
        for p in view.of_type(PROXY_SETTINGS_POLICY)
        if namespace_of(p.props) == ns
        and any(
            get(t, "kind") == "HTTPRoute" and get(t, "name") == name
            for t in as_list(get(p.props, "spec", "targetRefs"))
        )
    ]
    if not policies:
        return ["no NGINX Gateway Fabric ProxySettingsPolicy targets it (buffering and timeouts stay at defaults)"]
    spec = as_dict(get(policies[0].props, "spec"))
    out = []
    if get(spec, "buffering", "disable") is not True:
        out.append(f"ProxySettingsPolicy {get(policies[0].props, 'metadata', 'name')} does not disable buffering")
    for key in ("read", "send"):
        seconds = nginx_seconds(get(spec, "timeout", key))
        if seconds is None or seconds < minimum:
            out.append(f"ProxySettingsPolicy timeout.{key} is {get(spec, 'timeout', key) or 'unset'} (< {minimum}s)")
    return out


def _check_streaming(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    minimum = int(config["minTimeoutSeconds"])
    seen: set[str] = set()
    for route in view.mcp_routes():
        r = route.resource
        if r.urn in seen:
            continue
        seen.add(r.urn)
        problems = _nic_problems(r.props, minimum) if r.resource_type == INGRESS else _ngf_problems(view, r, minimum)
        for problem in problems:
            report(f"{route.where} (MCP route to {route.backend.service}): {problem}", r.urn)


MCP_ROUTE_STREAMING = stack_policy(
    "mcp-route-streaming",
    "Every MCP route streams: read and send timeouts of at least 3600 s and response buffering off (F5 NIC: "
    "nginx.org/proxy-read-timeout, proxy-send-timeout, proxy-buffering on the Ingress; NGINX Gateway Fabric: a "
    "ProxySettingsPolicy targeting the HTTPRoute).",
    _check_streaming,
    severity=Severity.MEDIUM,
    remediation="Route MCP servers through components/edge_plan.py (nic_route_annotations / gateway_objects), which "
    "set edge.stream_timeout_seconds and buffering off.",
    config=STREAMING_CONFIG,
    relaxing=("minTimeoutSeconds",),
)


# ---------------------------------------------------------------------------
# /metrics
# ---------------------------------------------------------------------------


def _has_metrics_segment(path: str | None) -> bool:
    return bool(path) and "metrics" in [s for s in str(path).split("/") if s]


METRICS_CONFIG = {
    "metricsServices": string_list(
        "Regular expressions (Python re, searched) for Services that serve /metrics on the same port as their "
        "content, so a prefix route to their root publishes /metrics: the ToolHive proxy (mcp-<n>-proxy) and vMCP "
        "(vmcp-<n>) Services, Grafana (/metrics on its HTTP port unless [metrics] is disabled or behind basic "
        "auth: grafana.com docs, Internal Grafana metrics), Prometheus and Alertmanager (/metrics on their web "
        "port).",
        [MCP_SERVICE.pattern, "grafana", "prometheus(-operated)?$", "alertmanager(-operated)?$"],
    )
}


def _check_metrics(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type not in (INGRESS, HTTP_ROUTE):
        return
    where = describe(args.resource_type, args.props, args.name)
    serving = [re.compile(str(p)) for p in config["metricsServices"]]
    for b in route_backends(args.resource_type, args.props):
        if _has_metrics_segment(b.path) or _has_metrics_segment(b.upstream):
            report(f"{where} publishes {b.path} -> {b.service}{b.upstream or ''}, a metrics path", None)
            continue
        prefix = b.path_type in ("Prefix", "PathPrefix", "ImplementationSpecific")
        upstream_root = (b.upstream or b.path or "/").rstrip("/") == ""
        if prefix and upstream_root and any(p.search(b.service) for p in serving):
            report(
                f"{where} publishes the whole of {b.service} under prefix {b.path}, which includes its /metrics",
                None,
            )


ROUTE_NO_METRICS = resource_policy(
    "route-no-metrics",
    "No Ingress or HTTPRoute publishes /metrics: no public or rewritten path has a 'metrics' segment, and no "
    "prefix route hands the root of a Service that serves /metrics on the same port (MCP proxy and vMCP "
    "Services, Grafana, Prometheus, Alertmanager: policy config metricsServices) to the internet.",
    _check_metrics,
    severity=Severity.MEDIUM,
    remediation="Publish only the MCP endpoint (exact /mcp or /sse), OAuth metadata and named directories; "
    "Prometheus scrapes /metrics in-cluster through ServiceMonitors. For a UI published at '/', switch its "
    "/metrics off or put it behind authentication (Grafana: grafana.ini [metrics] basic_auth_username/"
    "basic_auth_password, with the ServiceMonitor's basicAuth), then drop the Service from metricsServices.",
    config=METRICS_CONFIG,
    relaxing=("metricsServices",),
)


# ---------------------------------------------------------------------------
# Maintained controller
# ---------------------------------------------------------------------------

RETIRED_REPOSITORY = "kubernetes.github.io/ingress-nginx"
RETIRED_IMAGE = "registry.k8s.io/ingress-nginx/"
RETIRED_ANNOTATION = "nginx.ingress.kubernetes.io/"


def _check_controller(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    where = describe(args.resource_type, args.props, args.name)
    if args.resource_type == HELM_RELEASE:
        chart = str(args.props.get("chart") or "")
        repo = str(get(args.props, "repositoryOpts", "repo") or "")
        if chart.rstrip("/").rsplit("/", 1)[-1] == "ingress-nginx" or RETIRED_REPOSITORY in repo:
            report(f"{where} installs the retired kubernetes/ingress-nginx chart ({chart} from {repo or 'OCI'})", None)
        for path, ref, _ in values_images(args.props.get("values")):
            if ref.startswith(RETIRED_IMAGE):
                report(f"{where} values {path}: image {ref} is the retired ingress-nginx controller", None)
    for template in pod_templates(args.resource_type, args.props):
        for c in template.containers:
            if c.image and c.image.startswith(RETIRED_IMAGE):
                report(f"{template.where} container '{c.name}' runs the retired ingress-nginx image {c.image}", None)
    if args.resource_type == INGRESS:
        retired = sorted(k for k in annotations(args.props) if k.startswith(RETIRED_ANNOTATION))
        if retired:
            report(f"{where} carries ingress-nginx annotations {retired}, which the F5 NGINX controller ignores", None)
    ingress_class = args.resource_type == "kubernetes:networking.k8s.io/v1:IngressClass"
    if ingress_class and get(args.props, "spec", "controller") == "k8s.io/ingress-nginx":
        report(f"{where} names controller k8s.io/ingress-nginx (retired)", None)


EDGE_CONTROLLER_MAINTAINED = resource_policy(
    "edge-controller-maintained",
    "The edge runs a maintained NGINX (F5 NGINX Ingress Controller or NGINX Gateway Fabric), not the "
    "kubernetes/ingress-nginx chart, image, IngressClass or annotations (end of life March 2026).",
    _check_controller,
    severity=Severity.HIGH,
    remediation="Use edge.controller nginx-ingress (F5 NIC, nginx.org/* annotations) or gateway-api (NGINX Gateway "
    "Fabric); docs/edge.md describes the migration.",
)

POLICIES = [ROUTE_TLS, MCP_ROUTE_STREAMING, ROUTE_NO_METRICS, EDGE_CONTROLLER_MAINTAINED]
