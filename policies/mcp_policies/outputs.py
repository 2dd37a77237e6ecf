"""The files an MCP server writes for its users are never published wider than the server.

An outputs Service (`StackView.output_services`: a Service of the stack that reaches an
MCPServer's backend pods on ports of another container than `mcp` only, the outputs
sidecar of components/outputs.py) serves that server's files. A route to it is refused
when it is wider than the server's own MCP route:

- the server is not published (no route reaches its proxy Service or its group's vMCP);
- it is served on a host the MCP route is not;
- it leaves out an edge policy the MCP route carries (F5 NIC `nginx.org/policies`: the
  source-address allowlist, ...);
- the server requires OIDC and the files are served by anything but a capability server
  (`capabilityServers`: an image and command that answer only names of at least 128
  random bits). A browser opening a file sends no bearer token, so such a server's files
  are reachable only by the unguessable URL its authenticated answer hands out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from .base import stack_policy
from .kube import (
    HTTP_ROUTE,
    INGRESS,
    annotations,
    as_list,
    describe,
    get,
    ingress_hosts,
    name_of,
    namespace_of,
    parse_image,
    pod_templates,
    proxy_service,
    vmcp_service,
)
from .stackview import OutputService, Route, StackView

# The project's outputs server (components/outputs.py COMMAND, in the image of
# components/versions.py SERVER_IMAGES["data-exploration"]; tests/test_policies_outputs.py
# ties the two): it serves only names of 32 to 64 hex digits.
CAPABILITY_SERVERS = [
    {"image": "mcp-server-ds", "command": ["/opt/venv/bin/python", "-I", "/opt/mcpds/outputs_server.py"]}
]
EDGE_POLICIES = "nginx.org/policies"

OUTPUTS_CONFIG = {
    "capabilityServers": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"image": {"type": "string"}, "command": {"type": "array", "items": {"type": "string"}}},
            "required": ["image", "command"],
        },
        "description": "Containers that serve files only under unguessable names: the image repository (its last "
        "path segment, any registry or tag) and the exact command. The only servers a route may publish the outputs "
        "of an OIDC-protected MCPServer from.",
        "default": CAPABILITY_SERVERS,
    }
}


def _hosts(route: PolicyResource) -> set[str | None]:
    """The hosts a route serves; None stands for every host (a rule or route without one)."""
    if route.resource_type == INGRESS:
        return set(ingress_hosts(route.props)) or {None}
    if route.resource_type == HTTP_ROUTE:
        return {str(h) for h in as_list(get(route.props, "spec", "hostnames"))} or {None}
    return {None}


def _edge_policies(route: PolicyResource) -> set[str]:
    raw = annotations(route.props).get(EDGE_POLICIES, "")
    return {p.strip() for p in raw.split(",") if p.strip()}


def _mcp_routes(view: StackView, server: PolicyResource) -> list[Route]:
    """Routes that publish the server: to its proxy Service, or to the vMCP of its group."""
    ns, name = namespace_of(server.props), name_of(server.props, server.name)
    services = {proxy_service(name)}
    group = get(server.props, "spec", "groupRef", "name")
    if group:
        services |= {
            vmcp_service(name_of(v.props, v.name))
            for v in view.vmcps
            if namespace_of(v.props) == ns and get(v.props, "spec", "groupRef", "name") == group
        }
    return [r for r in view.routes() if r.backend.namespace == ns and r.backend.service in services]


def _capability_server(output: OutputService, allowed: list[Any]) -> bool:
    [template] = pod_templates(output.server.resource_type, output.server.props)
    for container in template.containers:
        if container.name not in output.containers:
            continue
        image = parse_image(container.image or "").repository.rsplit("/", 1)[-1]
        command = [str(c) for c in as_list(container.spec.get("command"))]
        if not any(image == a.get("image") and command == list(a.get("command") or []) for a in allowed):
            return False
    return True


def _check_outputs(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    outputs = view.output_services()
    for route in view.routes():
        output = outputs.get((route.backend.namespace, route.backend.service))
        if output is None:
            continue
        server = output.server
        where = f"{route.where} ({route.backend.path or '/'} to Service {route.backend.service})"
        of = f"the outputs of {describe(server.resource_type, server.props, server.name)}"
        published = _mcp_routes(view, server)
        if not published:
            report(f"{where} publishes {of}, which no route publishes", route.resource.urn)
            continue
        hosts = set().union(*(_hosts(r.resource) for r in published))
        wider = sorted(str(h or "every host") for h in _hosts(route.resource) - hosts if None not in hosts)
        if wider:
            report(f"{where} publishes {of} on {', '.join(wider)}, where the server is not", route.resource.urn)
        missing = set().union(*(_edge_policies(r.resource) for r in published)) - _edge_policies(route.resource)
        if missing:
            report(
                f"{where} publishes {of} without the edge policies its MCP route has ({', '.join(sorted(missing))})",
                route.resource.urn,
            )
        if get(server.props, "spec", "oidcConfigRef", "name") and not _capability_server(
            output, as_list(config["capabilityServers"])
        ):
            report(
                f"{where} publishes {of}, which requires OIDC, from containers {list(output.containers)} that are no "
                "capability server (capabilityServers): any name would open them without a token",
                route.resource.urn,
            )


OUTPUTS_NOT_WIDER = stack_policy(
    "mcp-outputs-not-wider-than-server",
    "A route to an MCPServer's outputs (a Service reaching its backend pods on another container than 'mcp') is "
    "never wider than the server's MCP route: the server is published, on the same hosts, behind at least the same "
    "edge policies, and when the server requires OIDC its files are served only by a capability server "
    "(capabilityServers), under unguessable names.",
    _check_outputs,
    severity=Severity.HIGH,
    remediation="Publish outputs only through the plan (components/plan.py: Route.outputs exists only beside the "
    "server's own route), on the server's host with the edge's policies, served by the outputs sidecar "
    "(components/outputs.py).",
    config=OUTPUTS_CONFIG,
    relaxing=("capabilityServers",),
)

POLICIES = [OUTPUTS_NOT_WIDER]
