"""MCP specifics: ToolHive MCPServer and VirtualMCPServer resources (v1beta1).

Facts (research/toolhive.md): `spec.resources` sizes only the proxy, so the MCP
container is sized through `podTemplateSpec` (container `mcp`); `spec.volumes` are host
paths; stdio servers are capped at one replica and a stateful server must not be spread
over replicas; vMCP keeps sessions in process memory unless Redis session storage is set.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from .base import resource_policy, stack_policy, string_list
from .codeexec import CODE_FACTS_CONFIG, describe_tools, executing_servers
from .kube import (
    HPA,
    MCP_SERVER,
    SERVICE,
    VIRTUAL_MCP_SERVER,
    as_dict,
    as_list,
    backend_pod_labels,
    describe,
    get,
    mcp_proxy_pod_labels,
    name_of,
    namespace_of,
    number,
    pod_templates,
    proxy_service,
    selector_matches,
    vmcp_pod_labels,
    vmcp_service,
)
from .stackview import StackView


def _check_telemetry(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if args.resource_type not in (MCP_SERVER, VIRTUAL_MCP_SERVER):
        return
    if not get(args.props, "spec", "telemetryConfigRef", "name"):
        report(f"{describe(args.resource_type, args.props, args.name)} has no spec.telemetryConfigRef", None)


TELEMETRY = resource_policy(
    "mcp-telemetry-config",
    "Every MCPServer and VirtualMCPServer references an MCPTelemetryConfig (spec.telemetryConfigRef), so its "
    "traces and metrics reach the collector.",
    _check_telemetry,
    severity=Severity.MEDIUM,
    remediation="Set spec.telemetryConfigRef: {name: mcp-telemetry, serviceName: <server>} "
    "(components/mcp_servers.py).",
)


def _check_sized(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if args.resource_type != MCP_SERVER:
        return
    where = describe(args.resource_type, args.props, args.name)
    containers = as_list(get(args.props, "spec", "podTemplateSpec", "spec", "containers"))
    mcp = next((as_dict(c) for c in containers if get(c, "name") == "mcp"), None)
    if mcp is None:
        report(f"{where}: podTemplateSpec has no 'mcp' container, so the MCP server runs unsized", None)
        return
    missing = [
        f"{kind}.{res}"
        for kind in ("requests", "limits")
        for res in ("cpu", "memory")
        if get(mcp, "resources", kind, res) in (None, "")
    ]
    if missing:
        report(f"{where}: podTemplateSpec container 'mcp' lacks resources {', '.join(missing)}", None)


SIZED_MCP_CONTAINER = resource_policy(
    "mcpserver-sizes-mcp-container",
    "Every MCPServer sizes its MCP server through podTemplateSpec container 'mcp' (spec.resources sizes only "
    "the ToolHive proxy).",
    _check_sized,
    severity=Severity.MEDIUM,
    remediation="Add podTemplateSpec.spec.containers[{name: mcp, resources: {requests, limits}}] "
    "(mcp.sizes in config).",
)


def _check_volumes(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if args.resource_type != MCP_SERVER:
        return
    volumes = as_list(get(args.props, "spec", "volumes"))
    if volumes:
        names = [str(get(v, "name")) for v in volumes]
        report(f"{describe(args.resource_type, args.props, args.name)} sets spec.volumes {names} (host paths)", None)


NO_VOLUMES = resource_policy(
    "mcpserver-no-volumes",
    "No MCPServer sets spec.volumes: in ToolHive v1beta1 every entry there is a hostPath mount.",
    _check_volumes,
    severity=Severity.HIGH,
    remediation="Mount an emptyDir through podTemplateSpec (volumes + the 'mcp' container's volumeMounts) instead.",
)


# ---------------------------------------------------------------------------
# Replicas
# ---------------------------------------------------------------------------

REPLICAS_CONFIG = {
    "statefulServers": string_list(
        "MCPServer names that keep per-session state in process (the catalog's stateless: false), so run one "
        "replica whatever their transport.",
        [],
    )
}


def _hpa_max(view: StackView, namespace: str, kinds: tuple[str, ...], names: tuple[str, ...]) -> list[tuple[str, int]]:
    out = []
    for hpa in view.of_type(HPA):
        target = as_dict(get(hpa.props, "spec", "scaleTargetRef"))
        if namespace_of(hpa.props) == namespace and target.get("kind") in kinds and target.get("name") in names:
            maximum = int(number(get(hpa.props, "spec", "maxReplicas")) or 1)
            out.append((describe(hpa.resource_type, hpa.props, hpa.name), maximum))
    return out


def _check_replicas(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    stateful = set(config["statefulServers"])
    for server in view.mcp_servers:
        name, ns = name_of(server.props, server.name), namespace_of(server.props)
        transport = str(get(server.props, "spec", "transport") or "stdio")
        why = None
        if transport != "streamable-http":
            why = f"transport {transport} keeps one session per process"
        elif name in stateful:
            why = "it keeps session state in process (statefulServers)"
        if why is None:
            continue
        where = describe(server.resource_type, server.props, server.name)
        for field in ("replicas", "backendReplicas"):
            count = number(get(server.props, "spec", field))
            if count is not None and count > 1:
                report(f"{where}: spec.{field} is {int(count)} but {why}", server.urn)
        for hpa, maximum in _hpa_max(view, ns, ("Deployment", "StatefulSet"), (name,)):
            if maximum > 1:
                report(f"{where}: {hpa} scales it to {maximum} replicas but {why}", server.urn)
    for vmcp in view.vmcps:
        name, ns = name_of(vmcp.props, vmcp.name), namespace_of(vmcp.props)
        if get(vmcp.props, "spec", "sessionStorage", "provider") == "redis":
            continue
        where = describe(vmcp.resource_type, vmcp.props, vmcp.name)
        count = number(get(vmcp.props, "spec", "replicas"))
        if count is not None and count > 1:
            report(f"{where}: spec.replicas is {int(count)} without Redis sessionStorage", vmcp.urn)
        for hpa, maximum in _hpa_max(view, ns, ("Deployment",), (name, vmcp_service(name))):
            if maximum > 1:
                report(f"{where}: {hpa} scales it to {maximum} replicas without Redis sessionStorage", vmcp.urn)


REPLICAS_STATELESS_ONLY = stack_policy(
    "mcp-replicas-stateless-only",
    "Only stateless streamable-HTTP MCP servers run more than one replica (spec.replicas, spec.backendReplicas "
    "or an HPA): stdio and SSE servers and servers listed as stateful stay at one; a VirtualMCPServer needs "
    "Redis session storage first.",
    _check_replicas,
    severity=Severity.HIGH,
    remediation=(
        "Set replicas/backendReplicas to 1 and drop the HPA for this server (the catalog's `stateless` fact "
        "decides autoscaling), or configure Redis spec.sessionStorage for a VirtualMCPServer."
    ),
    config=REPLICAS_CONFIG,
)


# ---------------------------------------------------------------------------
# Code execution
# ---------------------------------------------------------------------------

_EXTERNAL_SERVICE_TYPES = ("LoadBalancer", "NodePort")


def _routed(view: StackView, namespace: str, service: str) -> list[str]:
    return sorted(
        {
            f"{r.where} ({r.backend.path or '/'})"
            for r in view.routes()
            if r.backend.namespace == namespace and r.backend.service == service
        }
    )


def _services_selecting(
    view: StackView, namespace: str, labels: Mapping[str, str], skip: Container[tuple[str, str]] = ()
) -> list[Any]:
    """core/v1 Services of the stack in `namespace` whose selector picks pods with `labels`,
    but those in `skip` ((namespace, name))."""
    out = []
    for svc in view.of_type(SERVICE):
        selector = as_dict(get(svc.props, "spec", "selector"))
        if (namespace, name_of(svc.props, svc.name)) in skip:
            continue
        if namespace_of(svc.props) == namespace and selector and selector_matches({"matchLabels": selector}, labels):
            out.append(svc)
    return out


def _reached(
    view: StackView,
    namespace: str,
    operator_service: str,
    labels: Mapping[str, str],
    skip: Container[tuple[str, str]] = (),
) -> list[str]:
    """How the pods with `labels` are reachable from outside the cluster: routes to the
    operator's Service, and Services of the stack selecting the pods (but `skip`) that are
    themselves of type LoadBalancer/NodePort or routed."""
    found = _routed(view, namespace, operator_service)
    for svc in _services_selecting(view, namespace, labels, skip):
        name = name_of(svc.props, svc.name)
        kind = get(svc.props, "spec", "type")
        if kind in _EXTERNAL_SERVICE_TYPES:
            found.append(f"{describe(svc.resource_type, svc.props, svc.name)} (type {kind})")
        found += _routed(view, namespace, name)
    return sorted(set(found))


def _check_code_execution(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    executing: dict[tuple[str, str], list[str]] = {}
    for server, tools in executing_servers(view, as_dict(config["serverImages"])):
        name, ns = name_of(server.props, server.name), namespace_of(server.props)
        executing[(ns, name)] = tools
        where = describe(server.resource_type, server.props, server.name)
        routes = _reached(view, ns, proxy_service(name), mcp_proxy_pod_labels(server.props))
        if routes and not get(server.props, "spec", "oidcConfigRef", "name"):
            report(
                f"{where} {describe_tools(tools)} and is routed publicly by {', '.join(routes)} "
                "without OIDC (spec.oidcConfigRef)",
                server.urn,
            )
        # The backend pod behind the proxy: reaching it from outside skips the proxy's auth
        # altogether. A Service that reaches only another container of the pod (the outputs
        # sidecar) serves no MCP: mcp-outputs-not-wider-than-server judges its routes.
        labels = next((t.labels for t in pod_templates(MCP_SERVER, server.props)), backend_pod_labels(name))
        outputs = view.output_services()
        bypass = [
            r
            for svc in _services_selecting(view, ns, labels, outputs)
            for r in _reached(view, ns, name_of(svc.props, svc.name), labels, outputs)
        ]
        if bypass:
            report(
                f"{where} {describe_tools(tools)} and its backend pod is reachable from outside "
                f"through {', '.join(sorted(set(bypass)))}, bypassing the proxy's authentication",
                server.urn,
            )
    for vmcp in view.vmcps:
        ns, group = namespace_of(vmcp.props), get(vmcp.props, "spec", "groupRef", "name")
        members = sorted(
            name_of(s.props, s.name)
            for s in view.mcp_servers
            if namespace_of(s.props) == ns
            and get(s.props, "spec", "groupRef", "name") == group
            and (ns, name_of(s.props, s.name)) in executing
        )
        if not members:
            continue
        name = name_of(vmcp.props, vmcp.name)
        routes = _reached(view, ns, vmcp_service(name), vmcp_pod_labels(name))
        service_type = get(vmcp.props, "spec", "serviceType")
        if service_type in _EXTERNAL_SERVICE_TYPES:
            routes.append(f"its own Service (spec.serviceType {service_type})")
        if routes and get(vmcp.props, "spec", "incomingAuth", "type") != "oidc":
            where = describe(vmcp.resource_type, vmcp.props, vmcp.name)
            report(
                f"{where} aggregates code-executing servers {members} and is routed publicly by "
                f"{', '.join(routes)} without OIDC (spec.incomingAuth.type is not oidc)",
                vmcp.urn,
            )


CODE_EXECUTION_REQUIRES_OIDC = stack_policy(
    "mcp-code-execution-requires-oidc",
    "An MCP server that runs caller-supplied code is never reachable from outside without OIDC (MCPServer "
    "spec.oidcConfigRef; a VirtualMCPServer aggregating one: incomingAuth.type oidc): not through an Ingress or "
    "HTTPRoute, a LoadBalancer/NodePort Service selecting its pods, or a vMCP serviceType; and its backend pod, "
    "which skips the proxy's authentication, is never reachable from outside at all. Code execution is recognised "
    "by the image (serverImages: the catalog's facts); an unknown image counts as code-executing unless declared.",
    _check_code_execution,
    severity=Severity.CRITICAL,
    remediation=(
        "Set mcp.servers.<name>.auth: oidc (with mcp.oidc), or publish: false, or disable the code tools "
        "(mcp.servers.<name>.disabled_tools); for a group, mcp.groups.<group>.auth: oidc. For a server of your own, "
        "declare code_tools (the program annotates the MCPServer) or add its image to serverImages."
    ),
    config=CODE_FACTS_CONFIG,
    relaxing=("serverImages",),
)

POLICIES = [TELEMETRY, SIZED_MCP_CONTAINER, NO_VOLUMES, REPLICAS_STATELESS_ONLY, CODE_EXECUTION_REQUIRES_OIDC]
