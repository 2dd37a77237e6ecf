"""The dependency graph: what must exist before what, with edges that grow linearly.

A `depends_on` on a component makes the engine wait for every child of it (the SDK
expands it), so the edges a component adds must name exactly the resources it needs.
"""

from __future__ import annotations

import pytest

from components.edge_plan import backend_services
from components.plan import TELEMETRY_CONFIG
from components.toolhive import RELEASE as TOOLHIVE_RELEASE
from offline.bench import scaled_config
from offline.harness import ProgramRun, Registered, read_stack_file, run_program
from offline.policy_run import stack_config
from tests.stackconfig import FIXTURE_STACKS

MCP_KINDS = ("MCPServer", "VirtualMCPServer")


def edges(run: ProgramRun) -> int:
    """Direct dependencies as the engine records them (one per URN a resource waits for)."""
    return sum(len(r.dependencies) for r in run.resources)


def objects(run: ProgramRun, kind: str) -> list[Registered]:
    return [r for r in run.k8s_objects() if r.inputs.get("kind") == kind]


def direct(run: ProgramRun, resource: Registered, kinds: tuple[str, ...]) -> set[str]:
    """Names of the objects of `kinds` that `resource` names among its own dependencies."""
    deps = set(resource.dependencies)
    return {o.inputs["metadata"]["name"] for k in kinds for o in objects(run, k) if o.urn in deps}


def backend_of(run: ProgramRun) -> dict[str, str]:
    """Route Service -> the MCPServer or VirtualMCPServer behind it, from the outputs."""
    servers = {s["name"]: s for s in run.outputs["mcp_routes"]}
    return {route["service"]: name for name, route in servers.items()}


@pytest.fixture(scope="module")
def gateway_prod() -> ProgramRun:
    """The fixture prod on NGINX Gateway Fabric, with the GoDaddy key given (as a Pulumi secret)."""
    return run_program(
        "prod",
        read_stack_file("prod", FIXTURE_STACKS),
        overrides={
            "edge.controller": "gateway-api",
            "secrets.backend": "pulumi",
            "secrets.pulumi": {"values": {"godaddy-api-key": {"token": {"secure": "v1:abc"}}}},
        },
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "gateway"])
def test_each_route_waits_for_exactly_the_servers_behind_it(fixture_runs, gateway_prod, stack):
    run = gateway_prod if stack == "gateway" else fixture_runs[stack]
    backends = backend_of(run)
    routes = [*objects(run, "Ingress"), *objects(run, "HTTPRoute")]
    checked = 0
    for route in routes:
        services = {name for _, name in backend_services(route.inputs)}
        expected = {backends[s] for s in services if s in backends}
        assert direct(run, route, MCP_KINDS) == expected, route.name
        checked += bool(expected)
    # every MCP route object was seen waiting for its server
    assert checked >= len(backends)


@pytest.mark.parametrize("stack", ["dev", "prod", "gateway"])
def test_routes_wait_for_controller_and_certificate_issuers_for_credentials(fixture_runs, gateway_prod, stack):
    run = gateway_prod if stack == "gateway" else fixture_runs[stack]
    [certificate] = objects(run, "Certificate")
    controller = run.release("nginx-gateway-fabric" if stack == "gateway" else "nginx-ingress")
    for route in [*objects(run, "Ingress"), *objects(run, "HTTPRoute")]:
        assert run.depends_on(route, certificate), route.name
        assert run.depends_on(route, controller), route.name
    # the shipped stacks leave the GoDaddy key to the user; the gateway run provides it
    godaddy_key = run.find("Secret", "godaddy-api-key", "cert-manager") if stack == "gateway" else None
    godaddy = stack == "gateway" or stack_config(stack, root=FIXTURE_STACKS).dns.provider == "godaddy"
    for issuer in objects(run, "ClusterIssuer"):
        assert certificate.urn not in issuer.dependencies
        assert run.depends_on(certificate, issuer)
        assert run.depends_on(issuer, run.release("cert-manager"))
        if godaddy:
            assert run.depends_on(issuer, run.release("godaddy-webhook"))
        if godaddy_key is not None:
            assert run.depends_on(issuer, godaddy_key)
        # no ClusterIssuer waits for an MCP server (they share nothing)
        assert direct(run, issuer, MCP_KINDS) == set()


def test_mcp_resources_wait_for_the_operator_and_their_shared_configs(fixture_prod):
    prod = fixture_prod
    operator, crds = prod.release(TOOLHIVE_RELEASE), prod.release("toolhive-operator-crds")
    telemetry = prod.find("MCPTelemetryConfig", TELEMETRY_CONFIG, "data-science")
    namespace = prod.find("Namespace", "data-science")
    for server in objects(prod, "MCPServer"):
        for first in (operator, crds, telemetry, namespace):
            assert prod.depends_on(server, first), (server.name, first.name)
    [vmcp] = objects(prod, "VirtualMCPServer")
    assert direct(prod, vmcp, ("MCPServer",)) == {"datagov", "treasury", "nasa-cmr"}


def test_dependency_edges_grow_linearly_with_servers():
    """edges(n) over n extra servers (a repeating pattern of 6 kinds) fits a line exactly:
    each server adds the same edges, never one per other server."""
    counts = {n: edges(run_program("prod", config=scaled_config(n))) for n in (0, 6, 12)}
    per_six = counts[6] - counts[0]
    assert counts[12] - counts[6] == per_six, counts
    # a server adds its own objects' edges only (MCPServer, policies, route, monitor, HPAs...)
    assert 0 < per_six / 6 <= 40, counts
