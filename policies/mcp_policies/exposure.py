"""Where the stack's pods live and how they can be reached from outside the cluster:
nothing exposed but the edge controller's own Service, Pod Security labels on every
namespace the stack creates, and no workload in the cluster's system namespaces.

The edge controller's Service is rendered by its chart, so it is recognised by the
chart (an upstream fact: F5 NGINX Ingress Controller `controller.service`, NGINX
Gateway Fabric `nginx.service`, charts/*/values.yaml), never by our names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .base import resource_policy, string_list
from .kube import (
    HELM_RELEASE,
    MCP_SERVER,
    SERVICE,
    VIRTUAL_MCP_SERVER,
    WORKLOAD_TYPES,
    as_dict,
    as_list,
    chart_name,
    describe,
    dotted,
    get,
    labels_of,
    name_of,
    namespace_of,
    number,
    pod_templates,
    walk,
)

NAMESPACE = "kubernetes:core/v1:Namespace"
EXTERNAL_TYPES = ("LoadBalancer", "NodePort")

# Edge controller charts (last segment of the chart reference) -> the values path of the
# controller's own Service: the one place a LoadBalancer/NodePort Service belongs.
EDGE_CONTROLLER_SERVICES = {"nginx-ingress": "controller.service", "nginx-gateway-fabric": "nginx.service"}


# ---------------------------------------------------------------------------
# Exposure
# ---------------------------------------------------------------------------


def _host_port(key: str, node: Any) -> bool:
    """A chart value that opens a host port: `hostPort: 8080`, `hostPort: {enable: true}`,
    `hostPorts: {http: 8080}`."""
    if key == "hostPort":
        if isinstance(node, Mapping):
            return node.get("enable") is True or node.get("enabled") is True
        return bool(number(node)) or (isinstance(node, str) and node.strip() not in ("", "0"))
    if key == "hostPorts" and isinstance(node, Mapping):
        return any(v not in (None, "", 0, 0.0, "0") for v in node.values())
    return False


def _values_exposure(chart: str, values: Any, edge_services: Mapping[str, str]) -> Iterator[str]:
    own = edge_services.get(chart)
    for path, node in walk(values):
        if not path:
            continue
        key, parent = path[-1], dotted(path[:-1])
        at_edge_service = own is not None and parent == own
        if key == "type" and node in EXTERNAL_TYPES and "service" in parent.lower() and not at_edge_service:
            yield f"values {dotted(path)}: {node} exposes a Service outside the cluster"
        elif key == "externalIPs" and as_list(node) and not at_edge_service:
            yield f"values {dotted(path)}: {as_list(node)} expose a Service on those addresses"
        elif _host_port(key, node):
            yield f"values {dotted(path)}: opens a host port"


EXPOSURE_CONFIG = {
    "edgeControllerServices": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "Edge controller chart name -> values path of the controller's own Service, which may be a "
        "LoadBalancer or NodePort with externalIPs.",
        "default": EDGE_CONTROLLER_SERVICES,
    },
    "exposedServices": {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 1},
        "description": "Services (namespace/name) allowed to be LoadBalancer or NodePort, each with the reason.",
        "default": {},
    },
}


def _check_exposure(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    where = describe(args.resource_type, args.props, args.name)
    if args.resource_type == SERVICE:
        key = f"{namespace_of(args.props)}/{name_of(args.props, args.name)}"
        kind = get(args.props, "spec", "type")
        if kind in EXTERNAL_TYPES and key not in as_dict(config["exposedServices"]):
            report(f"{where} is of type {kind}: reachable from outside the cluster", None)
        if as_list(get(args.props, "spec", "externalIPs")):
            report(f"{where} sets externalIPs {as_list(get(args.props, 'spec', 'externalIPs'))}", None)
    if args.resource_type == VIRTUAL_MCP_SERVER and get(args.props, "spec", "serviceType") in EXTERNAL_TYPES:
        report(f"{where} asks for a {get(args.props, 'spec', 'serviceType')} Service (spec.serviceType)", None)
    for template in pod_templates(args.resource_type, args.props):
        for c in template.containers:
            for port in as_list(c.spec.get("ports")):
                host_port = number(get(port, "hostPort"))
                if host_port:
                    report(f"{template.where} container '{c.name}' binds hostPort {int(host_port)}", None)
    if args.resource_type == HELM_RELEASE:
        services = as_dict(config["edgeControllerServices"])
        for problem in _values_exposure(chart_name(args.props), args.props.get("values"), services):
            report(f"{where} {problem}", None)


SERVICE_NOT_EXPOSED = resource_policy(
    "service-not-exposed",
    "Nothing is reachable from outside the cluster but through the edge: no Service of type LoadBalancer or "
    "NodePort, no externalIPs, no vMCP serviceType LoadBalancer/NodePort and no hostPort (pod templates or chart "
    "values), except the edge controller chart's own Service (edgeControllerServices).",
    _check_exposure,
    severity=Severity.HIGH,
    remediation="Keep the Service ClusterIP and publish it through the edge (an MCP route, or a web UI behind "
    "edge.allowed_cidrs); list a Service that must be exposed under exposedServices with the reason.",
    config=EXPOSURE_CONFIG,
    relaxing=("edgeControllerServices", "exposedServices"),
)


# ---------------------------------------------------------------------------
# Pod Security labels
# ---------------------------------------------------------------------------

PSS_LEVELS = ("privileged", "baseline", "restricted")  # loosest first
PSS_PREFIX = "pod-security.kubernetes.io/"

POD_SECURITY_CONFIG = {
    "podSecurityExceptions": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "level": {"type": "string", "enum": ["baseline", "privileged"]},
                "reason": {"type": "string", "minLength": 1},
            },
            "required": ["level", "reason"],
            "additionalProperties": False,
        },
        "description": "Namespace -> {level, reason}: a namespace whose workloads cannot pass `restricted`, and why.",
        "default": {},
    }
}


def _check_pod_security(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type != NAMESPACE:
        return
    where = describe(args.resource_type, args.props, args.name)
    name = name_of(args.props, args.name)
    exception = as_dict(as_dict(config["podSecurityExceptions"]).get(name))
    expected = str(exception.get("level") or "restricted")
    floor = PSS_LEVELS.index(expected)
    for mode in ("enforce", "audit", "warn"):
        level = labels_of(args.props).get(PSS_PREFIX + mode)
        if level not in PSS_LEVELS or PSS_LEVELS.index(level) < floor:
            report(f"{where}: {PSS_PREFIX}{mode} is {level or 'unset'}, expected {expected} or stricter", None)


NAMESPACE_POD_SECURITY = resource_policy(
    "namespace-pod-security",
    "Every Namespace the stack creates carries Pod Security admission labels enforce, audit and warn, each "
    "`restricted` (or no looser than the level of a written exception, podSecurityExceptions).",
    _check_pod_security,
    severity=Severity.HIGH,
    remediation="Create namespaces with components/k8s.py restricted_namespace; a namespace that cannot be "
    "`restricted` (a chart without securityContext values) goes under podSecurityExceptions with its reason.",
    config=POD_SECURITY_CONFIG,
    relaxing=("podSecurityExceptions",),
)


# ---------------------------------------------------------------------------
# System namespaces
# ---------------------------------------------------------------------------

SYSTEM_CONFIG = {
    "systemNamespaces": string_list(
        "Namespaces the cluster owns, where the stack runs no workload.", ["kube-system", "kube-public", "default"]
    ),
    "allowedCharts": {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 1},
        "description": "Chart name -> why its release may run in a system namespace.",
        "default": {
            "sealed-secrets": "kubeseal finds the Sealed Secrets controller in kube-system by default "
            "(bitnami-labs/sealed-secrets README), so every user's kubeseal works without flags",
        },
    },
}


def _check_system_namespace(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    system = set(config["systemNamespaces"])
    where = describe(args.resource_type, args.props, args.name)
    if args.resource_type == HELM_RELEASE:
        namespace = str(args.props.get("namespace") or "default")
        if namespace in system and chart_name(args.props) not in as_dict(config["allowedCharts"]):
            report(f"{where} installs chart {chart_name(args.props)} into system namespace {namespace}", None)
        return
    if args.resource_type in (*WORKLOAD_TYPES, MCP_SERVER, VIRTUAL_MCP_SERVER):
        namespace = namespace_of(args.props)
        if namespace in system:
            report(f"{where} runs in system namespace {namespace}", None)


WORKLOAD_NOT_IN_SYSTEM_NAMESPACE = resource_policy(
    "workload-not-in-system-namespace",
    "The stack runs no workload (pod templates, MCPServers, VirtualMCPServers, Helm releases) in kube-system, "
    "kube-public or default (an object without a namespace lands in default); the Sealed Secrets controller, which "
    "kubeseal expects in kube-system, is the one exception (allowedCharts).",
    _check_system_namespace,
    severity=Severity.MEDIUM,
    remediation="Give the workload a namespace of the stack's own (components/k8s.py restricted_namespace); "
    "system namespaces hold the cluster's own pods, and their NetworkPolicies and Pod Security are not ours.",
    config=SYSTEM_CONFIG,
    relaxing=("systemNamespaces", "allowedCharts"),
)

POLICIES = [SERVICE_NOT_EXPOSED, NAMESPACE_POD_SECURITY, WORKLOAD_NOT_IN_SYSTEM_NAMESPACE]
