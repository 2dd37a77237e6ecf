"""mcp-outputs-not-wider-than-server: a route to an MCPServer's outputs (a Service reaching
its backend pods on another container than `mcp`) is never wider than the server's own
MCP route; and what the outputs Service is to the other rules: not a way around the
proxy's authentication, not an MCP route without a backend."""

from __future__ import annotations

from typing import Any

import pytest

from components import outputs as sidecar
from components import versions
from components.outputs import OutputsPlan
from components.server_spec import Outputs
from policies.mcp_policies import kube, mcp, stack
from policies.mcp_policies import outputs as rule
from policies.mcp_policies.base import RELAXING_PROPERTIES
from policies.mcp_policies.stackview import StackView
from tests.policy_support import ingress, mcpserver, messages, resource, stack_violations, vmcp

NS = "data-science"
HOST = "finetunings.ai"
OIDC = {"name": "mcp-oidc", "audience": "mcp", "resourceUrl": f"https://{HOST}/dx/mcp"}
DS_IMAGE = "ghcr.io/finetunings-ai/mcp-datascience/mcp-server-ds:0.1.5-r2"
ALLOWLIST = {"nginx.org/policies": "edge-allowlist"}
PLAN = OutputsPlan(
    server="data-exploration",
    spec=Outputs(directory="/tmp/outputs", extensions=("png",), naming="random"),
    image=DS_IMAGE,
    size="64Mi",
    max_age_seconds=3600,
    base_url=f"https://{HOST}/dx/outputs",
)


def server(*, oidc: bool = True, outputs: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """The data exploration MCPServer with the outputs sidecar as the program renders it."""
    props = mcpserver("data-exploration", image=DS_IMAGE, **spec)
    if oidc:
        props["spec"]["oidcConfigRef"] = OIDC
    pod = props["spec"]["podTemplateSpec"]["spec"]
    pod["containers"].append(outputs or sidecar.container(PLAN, DS_IMAGE, 10001))
    pod["volumes"] = [sidecar.volume(PLAN)]
    return props


def output_service(target: int | str = sidecar.PORT_NAME, name: str = "outputs-data-exploration") -> object:
    props = {
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "data-exploration", "toolhive": "true"},
            "ports": [{"name": "outputs", "port": sidecar.PORT, "targetPort": target}],
        },
    }
    return resource(kube.SERVICE, props)


def mcp_route(host: str = HOST, annotations: dict[str, str] | None = None) -> object:
    props = ingress(
        "mcp-dx-mcp", NS, host, "/dx/mcp", "mcp-data-exploration-proxy", 8004, annotations=annotations or {}
    )
    return resource(kube.INGRESS, props)


def outputs_route(host: str = HOST, annotations: dict[str, str] | None = None, service: str = "") -> object:
    props = ingress(
        "mcp-dx-outputs",
        NS,
        host,
        "/dx/outputs/",
        service or "outputs-data-exploration",
        sidecar.PORT,
        annotations=annotations or {},
        path_type="Prefix",
    )
    return resource(kube.INGRESS, props)


def found(resources: list[object], policy: Any = rule.OUTPUTS_NOT_WIDER) -> list[str]:
    return messages(stack_violations(policy, resources, {}))


def _where() -> str:
    return (
        "Ingress data-science/mcp-dx-outputs (/dx/outputs/ to Service outputs-data-exploration) publishes the "
        "outputs of MCPServer data-science/data-exploration"
    )


# ---------------------------------------------------------------------------
# As the program renders them
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("oidc", [True, False])
def test_the_sidecar_beside_its_servers_route_passes_every_rule_that_sees_it(oidc):
    resources = [
        resource(kube.MCP_SERVER, server(oidc=oidc)),
        output_service(),
        mcp_route(annotations=ALLOWLIST),
        outputs_route(annotations=ALLOWLIST),
    ]
    assert found(resources) == []
    # Not a way around the proxy: the Service reaches the sidecar's port only. (Without
    # OIDC the code-executing server's own route is refused, for that reason alone.)
    code = found(resources, mcp.CODE_EXECUTION_REQUIRES_OIDC)
    assert not any("backend pod" in m for m in code)
    assert len(code) == (0 if oidc else 1)
    # Not an MCP route without a backend: judged here instead.
    assert found(resources, stack.MCP_ROUTE_BACKEND_EXISTS) == []


# ---------------------------------------------------------------------------
# Wider than the server
# ---------------------------------------------------------------------------


def test_outputs_of_a_server_nobody_can_call_are_refused():
    resources = [resource(kube.MCP_SERVER, server()), output_service(), outputs_route()]
    assert found(resources) == [f"{_where()}, which no route publishes"]


def test_outputs_on_a_host_the_server_is_not_on_are_refused():
    resources = [
        resource(kube.MCP_SERVER, server()),
        output_service(),
        mcp_route(host="internal.finetunings.ai"),
        outputs_route(host=HOST),
    ]
    assert found(resources) == [f"{_where()} on {HOST}, where the server is not"]


def test_outputs_without_the_allowlist_of_the_servers_route_are_refused():
    resources = [
        resource(kube.MCP_SERVER, server()),
        output_service(),
        mcp_route(annotations={"nginx.org/policies": "edge-cors,edge-allowlist"}),
        outputs_route(annotations={"nginx.org/policies": "edge-cors"}),
    ]
    assert found(resources) == [f"{_where()} without the edge policies its MCP route has (edge-allowlist)"]


@pytest.mark.parametrize(
    "container",
    [
        # a directory listing of every output, by any name
        {"name": "files", "image": "docker.io/library/python:3.12.13-slim", "command": ["python", "-m", "http.server"]},
        # the right image running something else
        {"name": "files", "image": DS_IMAGE, "command": ["/opt/venv/bin/python", "-m", "http.server", "8090"]},
    ],
)
def test_outputs_of_an_oidc_server_from_anything_but_a_capability_server_are_refused(container):
    files = {**container, "ports": [{"name": "outputs", "containerPort": sidecar.PORT}]}
    resources = [
        resource(kube.MCP_SERVER, server(outputs=files)),
        output_service(),
        mcp_route(),
        outputs_route(),
    ]
    assert found(resources) == [
        f"{_where()}, which requires OIDC, from containers ['files'] that are no capability server "
        "(capabilityServers): any name would open them without a token"
    ]
    # A public server's files are no wider than the server itself.
    public = [resource(kube.MCP_SERVER, server(oidc=False, outputs=files)), *resources[1:]]
    assert found(public) == []


def test_a_group_members_outputs_count_as_published_through_its_vmcp():
    member = server(oidc=False, groupRef={"name": "gov-data"})
    group_route = resource(kube.INGRESS, ingress("mcp-gov", NS, HOST, "/gov-data/mcp", "vmcp-gov-data", 4483))
    resources = [resource(kube.MCP_SERVER, member), output_service(), outputs_route()]
    assert found(resources) == [f"{_where()}, which no route publishes"]
    assert found([*resources, resource(kube.VIRTUAL_MCP_SERVER, vmcp()), group_route]) == []


def test_an_httproute_is_judged_by_its_hostnames():
    def httproute(name: str, host: str, path: str, service: str, port: int) -> object:
        props = {
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "hostnames": [host],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                        "backendRefs": [{"name": service, "port": port}],
                    }
                ],
            },
        }
        return resource(kube.HTTP_ROUTE, props)

    base = [resource(kube.MCP_SERVER, server()), output_service()]
    mcp_on_host = httproute("mcp", HOST, "/dx/mcp", "mcp-data-exploration-proxy", 8004)
    assert found([*base, mcp_on_host, httproute("out", HOST, "/dx/outputs", "outputs-data-exploration", 8090)]) == []
    wider = found([*base, mcp_on_host, httproute("out", "files.example.com", "/o", "outputs-data-exploration", 8090)])
    assert len(wider) == 1
    assert wider[0].endswith("on files.example.com, where the server is not")


# ---------------------------------------------------------------------------
# What counts as an outputs Service
# ---------------------------------------------------------------------------


def test_a_service_reaching_the_mcp_container_is_no_outputs_service():
    """A port nothing in the template declares may be the MCP server's own (the runner adds
    its port): it counts as the backend, so the route bypasses the proxy."""
    view_resources = [resource(kube.MCP_SERVER, server()), output_service(target=9999), mcp_route(), outputs_route()]
    assert found(view_resources) == []  # not outputs: this rule does not judge it
    [bypass] = found(view_resources, mcp.CODE_EXECUTION_REQUIRES_OIDC)
    assert "its backend pod is reachable from outside through Ingress data-science/mcp-dx-outputs" in bypass


def test_an_http_servers_mcp_port_is_the_mcp_container():
    http = server(oidc=False, transport="streamable-http", mcpPort=8090)
    view = StackView([resource(kube.MCP_SERVER, http), output_service(target=8090)])
    assert view.output_services() == {}  # 8090 is both the sidecar's and the MCP port: not only the sidecar
    view = StackView([resource(kube.MCP_SERVER, server(oidc=False)), output_service(target=8090)])
    [(key, served)] = view.output_services().items()
    assert key == (NS, "outputs-data-exploration")
    assert served.containers == ("outputs",)


# ---------------------------------------------------------------------------
# Config: the capability server is the program's own, and widening it needs a reason
# ---------------------------------------------------------------------------


def test_the_capability_server_default_is_the_sidecar_the_program_runs():
    assert [
        {"image": versions.SERVER_IMAGES[sidecar.IMAGE_KEY].repository, "command": list(sidecar.COMMAND)}
    ] == rule.CAPABILITY_SERVERS
    assert rule.OUTPUTS_CONFIG["capabilityServers"]["default"] == rule.CAPABILITY_SERVERS
    assert RELAXING_PROPERTIES[rule.OUTPUTS_NOT_WIDER.name] == frozenset({"capabilityServers"})
