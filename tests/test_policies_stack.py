"""Stack-level rules: MCP routes reach Services of the stack's MCP servers; a
ServiceMonitor scrapes every MCP proxy."""

from __future__ import annotations

import pytest

from policies.mcp_policies import kube, stack
from tests.policy_support import ingress, mcpserver, messages, resource, stack_violations, vmcp

SERVER = mcpserver("pandas", resourceOverrides={"proxyService": {"labels": {"mcp-datascience/role": "proxy"}}})


def route(service: str, port: int, namespace: str = "data-science") -> object:
    return resource(kube.INGRESS, ingress("mcp-r", namespace, "finetunings.ai", "/r/mcp", service, port))


def test_route_to_the_servers_proxy_service_passes():
    resources = [resource(kube.MCP_SERVER, SERVER), route("mcp-pandas-proxy", 8004)]
    assert stack_violations(stack.MCP_ROUTE_BACKEND_EXISTS, resources) == []
    resources = [resource(kube.VIRTUAL_MCP_SERVER, vmcp()), route("vmcp-gov-data", 4483)]
    assert stack_violations(stack.MCP_ROUTE_BACKEND_EXISTS, resources) == []


@pytest.mark.parametrize(
    ("service", "port", "namespace", "expected"),
    [
        (
            "mcp-pandas-proxy",
            8080,
            "data-science",
            "Ingress data-science/mcp-r routes to data-science/mcp-pandas-proxy port 8080, but MCPServer "
            "data-science/pandas serves it on 8004",
        ),
        (
            "mcp-pandsa-proxy",
            8004,
            "data-science",
            "Ingress data-science/mcp-r routes /r/mcp to Service data-science/mcp-pandsa-proxy, which no MCPServer or "
            "VirtualMCPServer of this stack creates",
        ),
        (
            "mcp-pandas-proxy",
            8004,
            "other",
            "Ingress other/mcp-r routes /r/mcp to Service other/mcp-pandas-proxy, which no MCPServer or "
            "VirtualMCPServer of this stack creates",
        ),
        (
            "adminer",
            8080,
            "data-science",
            "Ingress data-science/mcp-r routes /r/mcp to Service data-science/adminer, which no MCPServer or "
            "VirtualMCPServer of this stack creates",
        ),
    ],
)
def test_route_to_anything_else_fails(service, port, namespace, expected):
    r = route(service, port, namespace)
    found = stack_violations(stack.MCP_ROUTE_BACKEND_EXISTS, [resource(kube.MCP_SERVER, SERVER), r])
    assert messages(found) == [expected]
    assert found[0][1] == r.urn


def monitor(selector: dict, namespace_selector: dict | None = None, port: str = "http", namespace: str = "monitoring"):
    spec = {"selector": selector, "endpoints": [{"port": port, "path": "/metrics"}]}
    if namespace_selector is not None:
        spec["namespaceSelector"] = namespace_selector
    return resource(kube.SERVICE_MONITOR, {"metadata": {"name": "m", "namespace": namespace}, "spec": spec})


OPERATOR_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "pandas"}}


@pytest.mark.parametrize(
    "sm",
    [
        monitor(OPERATOR_SELECTOR, {"matchNames": ["data-science"]}),
        monitor({"matchLabels": {"mcp-datascience/role": "proxy"}}, {"any": True}),
        monitor(OPERATOR_SELECTOR, namespace="data-science"),
    ],
)
def test_service_monitor_covering_the_proxy_passes(sm):
    assert stack_violations(stack.MCP_PROXY_SERVICE_MONITOR, [resource(kube.MCP_SERVER, SERVER), sm]) == []


@pytest.mark.parametrize(
    "sm",
    [
        None,
        monitor(OPERATOR_SELECTOR),  # in `monitoring`, no namespaceSelector: its own namespace only
        monitor(OPERATOR_SELECTOR, {"matchNames": ["data-science"]}, port="metrics"),
        monitor({"matchLabels": {"app.kubernetes.io/instance": "penrose"}}, {"any": True}),
    ],
)
def test_proxy_without_a_matching_service_monitor_fails(sm):
    resources = [resource(kube.MCP_SERVER, SERVER), *([sm] if sm else [])]
    found = stack_violations(stack.MCP_PROXY_SERVICE_MONITOR, resources)
    assert messages(found) == [
        "no ServiceMonitor scrapes Service data-science/mcp-pandas-proxy (port http) of MCPServer data-science/pandas"
    ]
    assert found[0][1] == resources[0].urn


def test_vmcp_services_need_a_monitor_too():
    found = stack_violations(stack.MCP_PROXY_SERVICE_MONITOR, [resource(kube.VIRTUAL_MCP_SERVER, vmcp())])
    assert messages(found) == [
        "no ServiceMonitor scrapes Service data-science/vmcp-gov-data (port http) of VirtualMCPServer data-science/gov-data"
    ]
    sm = monitor({"matchLabels": kube.vmcp_pod_labels("gov-data")}, {"matchNames": ["data-science"]})
    assert stack_violations(stack.MCP_PROXY_SERVICE_MONITOR, [resource(kube.VIRTUAL_MCP_SERVER, vmcp()), sm]) == []
