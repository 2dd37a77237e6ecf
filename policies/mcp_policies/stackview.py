"""A read-only view of every resource of a stack, for stack-level policies: lookups by
type and name, the MCP servers and their Services, routes and what they reach."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from .kube import (
    HELM_RELEASE,
    HTTP_ROUTE,
    INGRESS,
    MCP_SERVER,
    MCP_SERVICE,
    NETWORK_POLICY,
    SERVICE,
    VIRTUAL_MCP_SERVER,
    WORKLOAD_TYPES,
    Backend,
    as_dict,
    chart_name,
    describe,
    get,
    name_of,
    namespace_of,
    pod_templates,
    proxy_service,
    route_backends,
    selector_matches,
    service_target_containers,
    vmcp_service,
)


@dataclass(frozen=True)
class OutputService:
    """A Service of the stack that reaches an MCPServer's backend pods on ports of another
    container than `mcp` only (the outputs sidecar, components/outputs.py): a route to it
    publishes the server's files, not the server."""

    service: PolicyResource
    server: PolicyResource
    containers: tuple[str, ...]  # the containers its ports reach


@dataclass(frozen=True)
class Route:
    resource: PolicyResource
    backend: Backend

    @property
    def where(self) -> str:
        return describe(self.resource.resource_type, self.resource.props, self.resource.name)


class StackView:
    def __init__(self, resources: Sequence[PolicyResource]):
        self.resources = list(resources)

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]

    def find(self, resource_type: str, namespace: str, name: str) -> PolicyResource | None:
        for r in self.of_type(resource_type):
            if namespace_of(r.props) == namespace and name_of(r.props, r.name) == name:
                return r
        return None

    # MCP -------------------------------------------------------------------

    @property
    def mcp_servers(self) -> list[PolicyResource]:
        return self.of_type(MCP_SERVER)

    @property
    def vmcps(self) -> list[PolicyResource]:
        return self.of_type(VIRTUAL_MCP_SERVER)

    @property
    def mcp_namespaces(self) -> set[str]:
        return {namespace_of(r.props) for r in self.mcp_servers + self.vmcps}

    def mcp_service_owner(self, namespace: str, service: str) -> PolicyResource | None:
        """The MCPServer or VirtualMCPServer whose operator-created Service this is."""
        for r in self.mcp_servers:
            if namespace_of(r.props) == namespace and proxy_service(name_of(r.props, r.name)) == service:
                return r
        for r in self.vmcps:
            if namespace_of(r.props) == namespace and vmcp_service(name_of(r.props, r.name)) == service:
                return r
        return None

    def output_services(self) -> dict[tuple[str, str], OutputService]:
        """(namespace, Service name) -> what it serves, for every Service selecting an
        MCPServer's backend pods whose every port reaches a container other than `mcp`."""
        out: dict[tuple[str, str], OutputService] = {}
        for svc in self.of_type(SERVICE):
            ns, selector = namespace_of(svc.props), as_dict(get(svc.props, "spec", "selector"))
            for server in self.mcp_servers:
                if not selector or namespace_of(server.props) != ns:
                    continue
                [template] = pod_templates(MCP_SERVER, server.props)
                if not selector_matches({"matchLabels": selector}, template.labels):
                    continue
                targets = service_target_containers(svc.props, server.props)
                if targets and all(t not in (None, "mcp") for t in targets):
                    names = tuple(sorted({str(t) for t in targets}))
                    out[(ns, name_of(svc.props, svc.name))] = OutputService(svc, server, names)
        return out

    # Routes ----------------------------------------------------------------

    def routes(self) -> Iterator[Route]:
        for r in self.of_type(INGRESS, HTTP_ROUTE):
            for backend in route_backends(r.resource_type, r.props):
                yield Route(r, backend)

    def mcp_routes(self) -> Iterator[Route]:
        """Routes to an MCP proxy or vMCP Service, or into a namespace that holds MCP servers."""
        mcp_ns = self.mcp_namespaces
        for route in self.routes():
            if MCP_SERVICE.match(route.backend.service) or route.backend.namespace in mcp_ns:
                yield route

    # Workloads -------------------------------------------------------------

    def workload_namespaces(self, podless_charts: Sequence[str] = ()) -> dict[str, list[str]]:
        """namespace -> descriptions of what runs pods there."""
        out: dict[str, list[str]] = {}
        for r in self.of_type(*WORKLOAD_TYPES, MCP_SERVER, VIRTUAL_MCP_SERVER):
            out.setdefault(namespace_of(r.props), []).append(describe(r.resource_type, r.props, r.name))
        for r in self.of_type(HELM_RELEASE):
            if chart_name(r.props) in podless_charts:
                continue
            out.setdefault(str(r.props.get("namespace") or "default"), []).append(
                describe(r.resource_type, r.props, r.name)
            )
        return out

    def network_policies(self, namespace: str) -> list[PolicyResource]:
        return [r for r in self.of_type(NETWORK_POLICY) if namespace_of(r.props) == namespace]


def spec(resource: PolicyResource) -> Mapping[str, Any]:
    value = get(resource.props, "spec")
    return value if isinstance(value, Mapping) else {}
