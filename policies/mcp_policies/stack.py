"""Stack-level consistency: every MCP route reaches a Service the stack's MCP servers
create, and Prometheus scrapes every MCP proxy.

Service names and labels are the ToolHive operator's (research/toolhive.md §3): an
MCPServer `<n>` gets Service `mcp-<n>-proxy` (port `http` = proxyPort, labels
labelsForMCPServer plus resourceOverrides.proxyService.labels); a VirtualMCPServer `<n>`
gets `vmcp-<n>` (port `http` = 4483).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from .base import stack_policy
from .kube import (
    MCP_SERVER,
    SERVICE_MONITOR,
    VMCP_PORT,
    as_dict,
    as_list,
    describe,
    get,
    name_of,
    namespace_of,
    number,
    proxy_pod_labels,
    proxy_service,
    selector_matches,
    vmcp_pod_labels,
    vmcp_service,
)
from .stackview import StackView


def _service_port(owner: PolicyResource) -> int:
    if owner.resource_type == MCP_SERVER:
        return int(number(get(owner.props, "spec", "proxyPort")) or 8080)
    return VMCP_PORT


def _check_backends(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    outputs = view.output_services()
    for route in view.mcp_routes():
        b = route.backend
        if (b.namespace, b.service) in outputs:
            continue  # a server's outputs, judged by mcp-outputs-not-wider-than-server
        owner = view.mcp_service_owner(b.namespace, b.service)
        if owner is None:
            report(
                f"{route.where} routes {b.path or '/'} to Service {b.namespace}/{b.service}, which no MCPServer "
                "or VirtualMCPServer of this stack creates",
                route.resource.urn,
            )
            continue
        port = _service_port(owner)
        if isinstance(b.port, (int, float)) and int(b.port) != port:
            report(
                f"{route.where} routes to {b.namespace}/{b.service} port {b.port}, but "
                f"{describe(owner.resource_type, owner.props, owner.name)} serves it on {port}",
                route.resource.urn,
            )
        elif isinstance(b.port, str) and b.port != "http":
            report(
                f"{route.where} routes to {b.namespace}/{b.service} port '{b.port}'; the port is named 'http'",
                route.resource.urn,
            )


MCP_ROUTE_BACKEND_EXISTS = stack_policy(
    "mcp-route-backend-exists",
    "Each MCP route (Ingress or HTTPRoute to an mcp-<n>-proxy or vmcp-<n> Service, or into a namespace with MCP "
    "servers) reaches a Service created by an MCPServer or VirtualMCPServer of this stack, on its port; a route to "
    "an MCPServer's outputs sidecar is judged by mcp-outputs-not-wider-than-server.",
    _check_backends,
    severity=Severity.HIGH,
    remediation="Route only the plan's routes (components/plan.py Plan.routes): the Service is mcp-<server>-proxy on "
    "the server's proxyPort, or vmcp-<group> on 4483.",
)


def _proxy_services(view: StackView) -> list[tuple[PolicyResource, str, str, dict[str, str], int]]:
    """(owner, namespace, Service name, Service labels, port) of every MCP proxy Service."""
    out = []
    for s in view.mcp_servers:
        name = name_of(s.props, s.name)
        extra = as_dict(get(s.props, "spec", "resourceOverrides", "proxyService", "labels"))
        labels = {**proxy_pod_labels(name), **{str(k): str(v) for k, v in extra.items()}}
        out.append((s, namespace_of(s.props), proxy_service(name), labels, _service_port(s)))
    for v in view.vmcps:
        name = name_of(v.props, v.name)
        out.append((v, namespace_of(v.props), vmcp_service(name), vmcp_pod_labels(name), VMCP_PORT))
    return out


def _monitor_covers(monitor: PolicyResource, namespace: str, labels: Mapping[str, str], port: int) -> bool:
    spec = as_dict(get(monitor.props, "spec"))
    ns_selector = as_dict(spec.get("namespaceSelector"))
    if ns_selector.get("any") is True:
        in_namespace = True
    elif as_list(ns_selector.get("matchNames")):
        in_namespace = namespace in [str(n) for n in as_list(ns_selector.get("matchNames"))]
    else:
        in_namespace = namespace_of(monitor.props) == namespace
    if not in_namespace or not selector_matches(as_dict(spec.get("selector")), labels):
        return False
    for endpoint in as_list(spec.get("endpoints")):
        e = as_dict(endpoint)
        if e.get("port") == "http" or number(e.get("targetPort")) == port:
            return True
    return False


def _check_monitors(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    monitors = view.of_type(SERVICE_MONITOR)
    for owner, namespace, service, labels, port in _proxy_services(view):
        if not any(_monitor_covers(m, namespace, labels, port) for m in monitors):
            report(
                f"no ServiceMonitor scrapes Service {namespace}/{service} (port http) of "
                f"{describe(owner.resource_type, owner.props, owner.name)}",
                owner.urn,
            )


MCP_PROXY_SERVICE_MONITOR = stack_policy(
    "mcp-proxy-service-monitor",
    "A ServiceMonitor (monitoring.coreos.com/v1) scrapes each MCP proxy Service (mcp-<n>-proxy) and vMCP Service "
    "(vmcp-<n>): its namespace selection and label selector match the Service and an endpoint names port 'http'.",
    _check_monitors,
    severity=Severity.MEDIUM,
    remediation="Create the ServiceMonitors from the plan's scrape targets (components/plan.py Plan.scrape_targets) "
    "in the MonitoringStack.",
)

POLICIES = [MCP_ROUTE_BACKEND_EXISTS, MCP_PROXY_SERVICE_MONITOR]
