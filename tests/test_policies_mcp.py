"""MCP rules: telemetry reference, sizing through podTemplateSpec, no volumes, replicas
only for stateless servers, and no public code execution without OIDC."""

from __future__ import annotations

import pytest

from policies.mcp_policies import kube, mcp
from tests.policy_support import (
    ingress,
    mcpserver,
    messages,
    resource,
    stack_violations,
    violations,
    vmcp,
)


def test_telemetry_reference_required():
    assert violations(mcp.TELEMETRY, kube.MCP_SERVER, mcpserver()) == []
    assert violations(mcp.TELEMETRY, kube.VIRTUAL_MCP_SERVER, vmcp()) == []
    server = mcpserver()
    del server["spec"]["telemetryConfigRef"]
    assert violations(mcp.TELEMETRY, kube.MCP_SERVER, server) == [
        "MCPServer data-science/pandas has no spec.telemetryConfigRef"
    ]
    group = vmcp(telemetryConfigRef={})
    assert violations(mcp.TELEMETRY, kube.VIRTUAL_MCP_SERVER, group) == [
        "VirtualMCPServer data-science/gov-data has no spec.telemetryConfigRef"
    ]


def test_mcp_container_sized_through_pod_template():
    assert violations(mcp.SIZED_MCP_CONTAINER, kube.MCP_SERVER, mcpserver()) == []
    server = mcpserver()
    server["spec"]["podTemplateSpec"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert violations(mcp.SIZED_MCP_CONTAINER, kube.MCP_SERVER, server) == [
        "MCPServer data-science/pandas: podTemplateSpec container 'mcp' lacks resources requests.cpu, requests.memory"
    ]
    del server["spec"]["podTemplateSpec"]
    assert violations(mcp.SIZED_MCP_CONTAINER, kube.MCP_SERVER, server) == [
        "MCPServer data-science/pandas: podTemplateSpec has no 'mcp' container, so the MCP server runs unsized"
    ]


def test_no_mcpserver_volumes():
    assert violations(mcp.NO_VOLUMES, kube.MCP_SERVER, mcpserver()) == []
    server = mcpserver(volumes=[{"name": "data", "hostPath": "/srv", "mountPath": "/data"}])
    assert violations(mcp.NO_VOLUMES, kube.MCP_SERVER, server) == [
        "MCPServer data-science/pandas sets spec.volumes ['data'] (host paths)"
    ]


def _hpa(target_kind: str, target: str, maximum: int) -> dict:
    return {
        "metadata": {"name": f"{target}-{target_kind.lower()}", "namespace": "data-science"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target},
            "maxReplicas": maximum,
        },
    }


def test_stateless_streamable_http_server_may_scale():
    server = mcpserver("huggingface", transport="streamable-http", mcpPort=3000)
    resources = [resource(kube.MCP_SERVER, server), resource(kube.HPA, _hpa("Deployment", "huggingface", 4))]
    assert stack_violations(mcp.REPLICAS_STATELESS_ONLY, resources) == []


@pytest.mark.parametrize(
    ("server", "extra", "config", "expected"),
    [
        (
            mcpserver("pandas", replicas=2),
            [],
            {},
            "MCPServer data-science/pandas: spec.replicas is 2 but transport stdio keeps one session per process",
        ),
        (
            mcpserver("feed", transport="sse", mcpPort=8080, backendReplicas=3.0),
            [],
            {},
            "MCPServer data-science/feed: spec.backendReplicas is 3 but transport sse keeps one session per process",
        ),
        (
            mcpserver("penrose", transport="streamable-http", mcpPort=3000),
            [_hpa("StatefulSet", "penrose", 4)],
            {"statefulServers": ["penrose"]},
            "MCPServer data-science/penrose: HorizontalPodAutoscaler data-science/penrose-statefulset scales it to 4 "
            "replicas but it keeps session state in process (statefulServers)",
        ),
    ],
)
def test_stateful_servers_stay_at_one_replica(server, extra, config, expected):
    resources = [resource(kube.MCP_SERVER, server), *(resource(kube.HPA, h) for h in extra)]
    found = stack_violations(mcp.REPLICAS_STATELESS_ONLY, resources, config)
    assert messages(found) == [expected]
    assert found[0][1] == resources[0].urn  # attributed to the MCPServer


def test_vmcp_needs_redis_before_scaling():
    assert stack_violations(mcp.REPLICAS_STATELESS_ONLY, [resource(kube.VIRTUAL_MCP_SERVER, vmcp())]) == []
    found = stack_violations(mcp.REPLICAS_STATELESS_ONLY, [resource(kube.VIRTUAL_MCP_SERVER, vmcp(replicas=3))])
    assert messages(found) == [
        "VirtualMCPServer data-science/gov-data: spec.replicas is 3 without Redis sessionStorage"
    ]
    redis = vmcp(replicas=3, sessionStorage={"provider": "redis", "address": "redis:6379"})
    assert stack_violations(mcp.REPLICAS_STATELESS_ONLY, [resource(kube.VIRTUAL_MCP_SERVER, redis)]) == []


# ---------------------------------------------------------------------------
# Code execution
# ---------------------------------------------------------------------------

CODE: dict = {}  # the schema default: the catalog's image facts (codeexec.SERVER_IMAGE_CODE_TOOLS)
OIDC = {"name": "mcp-oidc", "audience": "mcp", "resourceUrl": "https://finetunings.ai/data-explorer/mcp"}
DS_IMAGE = "ghcr.io/finetunings-ai/mcp-datascience/mcp-server-ds:0.1.5"


def explorer(name: str = "data-exploration", **spec: object) -> dict:
    """An MCPServer running the data-exploration image (run_script executes Python)."""
    return mcpserver(name, image=DS_IMAGE, **spec)


def _route(service: str, path: str) -> object:
    return resource(
        kube.INGRESS,
        ingress("mcp-" + path.strip("/").replace("/", "-"), "data-science", "finetunings.ai", path, service, 8003),
    )


def test_code_executing_server_with_oidc_passes():
    server = explorer("data-exploration", oidcConfigRef=OIDC)
    resources = [resource(kube.MCP_SERVER, server), _route("mcp-data-exploration-proxy", "/data-explorer/mcp")]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE) == []


def test_unrouted_code_executing_server_passes():
    resources = [resource(kube.MCP_SERVER, explorer("data-exploration"))]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE) == []


def test_public_code_executing_server_without_oidc_fails():
    resources = [
        resource(kube.MCP_SERVER, explorer("data-exploration")),
        _route("mcp-data-exploration-proxy", "/dx/mcp"),
    ]
    found = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert messages(found) == [
        "MCPServer data-science/data-exploration runs caller-supplied code (tools ['run_script']) and is routed "
        "publicly by Ingress data-science/mcp-dx-mcp (/dx/mcp) without OIDC (spec.oidcConfigRef)"
    ]


def test_code_tools_filtered_out_make_the_server_safe():
    server = mcpserver("pandas", toolConfigRef={"name": "pandas-tools"})
    tools = {
        "metadata": {"name": "pandas-tools", "namespace": "data-science"},
        "spec": {"toolsFilter": ["read_metadata_tool"]},
    }
    resources = [
        resource(kube.MCP_SERVER, server),
        resource(kube.MCP_TOOL_CONFIG, tools),
        _route("mcp-pandas-proxy", "/pandas/mcp"),
    ]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE) == []
    tools["spec"]["toolsFilter"].append("run_pandas_code_tool")
    resources[1] = resource(kube.MCP_TOOL_CONFIG, tools)
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert "tools ['run_pandas_code_tool']" in msg


def test_annotation_marks_a_custom_server_as_code_executing():
    server = mcpserver("notebook", image="registry.example.com/team/notebook:1.0.0")
    server["metadata"]["annotations"] = {kube.EXECUTES_CODE_ANNOTATION: "true"}
    resources = [resource(kube.MCP_SERVER, server), _route("mcp-notebook-proxy", "/notebook/mcp")]
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, {})
    assert msg.startswith("MCPServer data-science/notebook runs caller-supplied code (tools ['*'])")


def test_code_execution_is_recognised_by_image_whatever_the_name():
    """A catalog image that runs code, under any name and registry, without an annotation."""
    server = mcpserver("analysis", image="mirror.example.com/tools/mcp-server-ds:0.1.5@sha256:" + "a" * 64)
    resources = [resource(kube.MCP_SERVER, server), _route("mcp-analysis-proxy", "/analysis/mcp")]
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert msg.startswith("MCPServer data-science/analysis runs caller-supplied code (tools ['run_script'])")
    # A declaration cannot take code execution away from a known image.
    server["metadata"]["annotations"] = {kube.EXECUTES_CODE_ANNOTATION: "false"}
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    # The same name on an image the catalog knows to run no code is fine.
    safe = mcpserver("analysis", image="ghcr.io/finetunings-ai/mcp-datascience/penrose-mcp:0.1.0")
    safe_route = [resource(kube.MCP_SERVER, safe), _route("mcp-analysis-proxy", "/analysis/mcp")]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, safe_route, CODE) == []


def test_an_unknown_image_fails_closed_unless_declared():
    server = mcpserver("mystery", image="registry.example.com/team/mystery:2.0.0")
    resources = [resource(kube.MCP_SERVER, server), _route("mcp-mystery-proxy", "/mystery/mcp")]
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert msg.startswith(
        "MCPServer data-science/mystery runs an image the catalog does not describe, so it counts as running "
        "caller-supplied code (declare it with the annotation mcp-datascience.finetunings.ai/executes-code: "
        "'true' or 'false') and is routed publicly"
    )
    server["metadata"]["annotations"] = {kube.EXECUTES_CODE_ANNOTATION: "false"}
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, [resource(kube.MCP_SERVER, server), resources[1]]) == []
    # Or the environment's config describes the image.
    del server["metadata"]["annotations"]
    described = {"serverImages": {"mystery": []}}
    assert (
        stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, [resource(kube.MCP_SERVER, server), resources[1]], described)
        == []
    )


def test_anonymous_vmcp_aggregating_code_execution_fails():
    member = explorer("data-exploration", groupRef={"name": "gov-data"})
    group = vmcp("gov-data")
    route = resource(
        kube.INGRESS, ingress("mcp-gov", "data-science", "finetunings.ai", "/gov-data/mcp", "vmcp-gov-data", 4483)
    )
    resources = [resource(kube.MCP_SERVER, member), resource(kube.VIRTUAL_MCP_SERVER, group), route]
    [(msg, urn)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert msg == (
        "VirtualMCPServer data-science/gov-data aggregates code-executing servers ['data-exploration'] and is routed "
        "publicly by Ingress data-science/mcp-gov (/gov-data/mcp) without OIDC (spec.incomingAuth.type is not oidc)"
    )
    assert urn == resources[1].urn
    resources[1] = resource(
        kube.VIRTUAL_MCP_SERVER, vmcp("gov-data", incomingAuth={"type": "oidc", "oidcConfigRef": OIDC})
    )
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE) == []


def _service(name: str, selector: dict, type_: str = "ClusterIP") -> object:
    props = {
        "metadata": {"name": name, "namespace": "data-science"},
        "spec": {"type": type_, "selector": selector, "ports": [{"name": "http", "port": 80}]},
    }
    return resource(kube.SERVICE, props)


@pytest.mark.parametrize("type_", ["LoadBalancer", "NodePort"])
def test_code_executing_proxy_behind_an_external_service_fails(type_):
    """Published without any route: a LoadBalancer or NodePort Service selecting the proxy."""
    proxy = _service("dx-public", {"app.kubernetes.io/instance": "data-exploration", "app": "mcpserver"}, type_)
    resources = [resource(kube.MCP_SERVER, explorer("data-exploration")), proxy]
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert msg == (
        "MCPServer data-science/data-exploration runs caller-supplied code (tools ['run_script']) and is routed "
        f"publicly by Service data-science/dx-public (type {type_}) without OIDC (spec.oidcConfigRef)"
    )
    # With OIDC on the proxy, exposing the proxy is fine; a ClusterIP Service is not exposure at all.
    with_oidc = [resource(kube.MCP_SERVER, explorer("data-exploration", oidcConfigRef=OIDC)), proxy]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, with_oidc, CODE) == []
    internal = _service("dx-internal", {"app.kubernetes.io/instance": "data-exploration", "app": "mcpserver"})
    resources = [resource(kube.MCP_SERVER, explorer("data-exploration")), internal]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE) == []


def test_routing_to_the_backend_pod_bypasses_the_proxy_even_with_oidc():
    backend = _service("dx-direct", {"toolhive-name": "data-exploration", "app": "data-exploration"})
    resources = [
        resource(kube.MCP_SERVER, explorer("data-exploration", oidcConfigRef=OIDC)),
        backend,
        _route("dx-direct", "/dx/mcp"),
    ]
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert msg == (
        "MCPServer data-science/data-exploration runs caller-supplied code (tools ['run_script']) and its backend "
        "pod is reachable from outside through Ingress data-science/mcp-dx-mcp (/dx/mcp), bypassing the proxy's "
        "authentication"
    )


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_anonymous_vmcp_with_an_external_service_type_fails(service_type):
    member = explorer("data-exploration", groupRef={"name": "gov-data"})
    group = vmcp("gov-data", serviceType=service_type)
    resources = [resource(kube.MCP_SERVER, member), resource(kube.VIRTUAL_MCP_SERVER, group)]
    [(msg, _)] = stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, resources, CODE)
    assert msg == (
        "VirtualMCPServer data-science/gov-data aggregates code-executing servers ['data-exploration'] and is routed "
        f"publicly by its own Service (spec.serviceType {service_type}) without OIDC (spec.incomingAuth.type is not "
        "oidc)"
    )
    clusterip = [resource(kube.MCP_SERVER, member), resource(kube.VIRTUAL_MCP_SERVER, vmcp("gov-data"))]
    assert stack_violations(mcp.CODE_EXECUTION_REQUIRES_OIDC, clusterip, CODE) == []
