"""NetworkPolicy breadth and code-execution egress: each rule with a violating resource
caught and its correct twin passing."""

from __future__ import annotations

from typing import Any

import pytest

from policies.mcp_policies import isolation, kube
from tests.policy_support import helm, mcpserver, messages, resource, stack_violations

DS_IMAGE = "ghcr.io/finetunings-ai/mcp-datascience/mcp-server-ds:0.1.5"
NIC = "oci://ghcr.io/nginx/charts/nginx-ingress"


def policy(name: str, namespace: str = "apps", selector: dict | None = None, **spec: Any) -> Any:
    props = {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": {"matchLabels": selector} if selector else {}, **spec},
    }
    return resource(kube.NETWORK_POLICY, props)


def ingress_rule(*peers: dict, ports: tuple[int, ...] = (8080,)) -> dict:
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": p} for p in ports]}
    if peers:
        rule["from"] = list(peers)
    return rule


# ---------------------------------------------------------------------------
# network-policy-no-open-ingress
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({}, "it has no `from`, so every source is admitted"),
        (ingress_rule(), "it has no `from`, so every source is admitted"),
        (ingress_rule({"namespaceSelector": {}}), "an empty namespaceSelector admits every namespace"),
        (
            ingress_rule({"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "client"}}}),
            "an empty namespaceSelector admits every namespace",
        ),
        (ingress_rule({"ipBlock": {"cidr": "0.0.0.0/0"}}), "ipBlock 0.0.0.0/0 admits every address"),
        (
            ingress_rule({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}),
            "ipBlock 0.0.0.0/0 admits every address",
        ),
        (ingress_rule({"ipBlock": {"cidr": "::/0"}}), "ipBlock ::/0 admits every address"),
    ],
    ids=["empty-rule", "no-from", "any-namespace", "any-namespace-labelled-pod", "any-address", "any-but-metadata",
         "any-ipv6"],
)  # fmt: skip
def test_a_rule_admitting_every_source_is_caught(rule, problem):
    open_ = policy("web", selector={"app": "web"}, policyTypes=["Ingress"], ingress=[rule])
    found = stack_violations(isolation.NETWORK_POLICY_NO_OPEN_INGRESS, [open_])
    assert messages(found) == [f"NetworkPolicy apps/web ingress[0]: {problem}"]
    assert found[0][1] == open_.urn


def test_named_sources_pass():
    named = policy(
        "web",
        selector={"app": "web"},
        policyTypes=["Ingress"],
        ingress=[
            ingress_rule({"podSelector": {"matchLabels": {"app": "client"}}}),
            ingress_rule({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}),
            ingress_rule({"ipBlock": {"cidr": "10.0.0.0/8"}}),
        ],
    )
    assert stack_violations(isolation.NETWORK_POLICY_NO_OPEN_INGRESS, [named]) == []


def test_the_edge_controller_namespace_may_admit_the_internet_on_http_only():
    release = resource(kube.HELM_RELEASE, {**helm({}, name="nginx-ingress", chart=NIC), "namespace": "nginx-ingress"})
    internet = {"ipBlock": {"cidr": "0.0.0.0/0"}}
    clients = policy("edge-clients", "nginx-ingress", {"app": "nic"}, ingress=[ingress_rule(internet, ports=(80, 443))])
    assert stack_violations(isolation.NETWORK_POLICY_NO_OPEN_INGRESS, [release, clients]) == []
    # Another port of the edge pods, or the same rule without the edge chart in that namespace, is caught.
    admin = policy("edge-admin", "nginx-ingress", {"app": "nic"}, ingress=[ingress_rule(internet, ports=(8080,))])
    found = stack_violations(isolation.NETWORK_POLICY_NO_OPEN_INGRESS, [release, admin])
    assert messages(found) == [
        "NetworkPolicy nginx-ingress/edge-admin ingress[0]: ipBlock 0.0.0.0/0 admits every address"
    ]
    elsewhere = policy("web", "apps", {"app": "web"}, ingress=[ingress_rule(internet, ports=(443,))])
    assert stack_violations(isolation.NETWORK_POLICY_NO_OPEN_INGRESS, [release, elsewhere])
    no_ports = policy("edge-any", "nginx-ingress", {"app": "nic"}, ingress=[{"from": [internet]}])
    assert stack_violations(isolation.NETWORK_POLICY_NO_OPEN_INGRESS, [release, no_ports])


# ---------------------------------------------------------------------------
# code-execution-no-public-egress
# ---------------------------------------------------------------------------

BACKEND = {"app": "analysis", "toolhive": "true"}
DEFAULT_DENY = {"policyTypes": ["Ingress", "Egress"]}


def _server(image: str = DS_IMAGE) -> Any:
    return resource(kube.MCP_SERVER, mcpserver("analysis", image=image))


def _egress(*peers: dict) -> dict:
    return {"to": list(peers), "ports": [{"protocol": "TCP", "port": 443}]}


def test_a_code_executing_backend_with_internet_egress_is_caught():
    internet = _egress({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.0.0/16"]}})
    resources = [
        _server(),
        policy("default-deny", "data-science", **DEFAULT_DENY),
        policy("analysis-backend", "data-science", BACKEND, policyTypes=["Egress"], egress=[internet]),
    ]
    found = stack_violations(isolation.CODE_EXECUTION_NO_PUBLIC_EGRESS, resources)
    assert messages(found) == [
        "MCPServer data-science/analysis runs caller-supplied code (tools ['run_script']), but NetworkPolicy "
        "data-science/analysis-backend egress[0] allows public addresses (0.0.0.0/0)"
    ]
    assert found[0][1] == resources[0].urn


def test_a_code_executing_backend_with_private_egress_only_passes():
    private = _egress({"ipBlock": {"cidr": "10.20.0.0/16"}}, {"podSelector": {"matchLabels": {"app": "db"}}})
    resources = [
        _server(),
        policy("default-deny", "data-science", **DEFAULT_DENY),
        policy("analysis-backend", "data-science", BACKEND, policyTypes=["Egress"], egress=[private]),
    ]
    assert stack_violations(isolation.CODE_EXECUTION_NO_PUBLIC_EGRESS, resources) == []


def test_a_namespace_wide_egress_rule_reaches_the_backend_too():
    anywhere = policy("allow-all-egress", "data-science", policyTypes=["Egress"], egress=[{}])
    found = stack_violations(isolation.CODE_EXECUTION_NO_PUBLIC_EGRESS, [_server(), anywhere])
    assert messages(found) == [
        "MCPServer data-science/analysis runs caller-supplied code (tools ['run_script']), but NetworkPolicy "
        "data-science/allow-all-egress egress[0] has no `to`: every destination, the internet included"
    ]


def test_a_code_executing_backend_without_any_egress_policy_is_caught():
    ingress_only = policy("analysis-backend", "data-science", BACKEND, policyTypes=["Ingress"], ingress=[])
    [(msg, _)] = stack_violations(isolation.CODE_EXECUTION_NO_PUBLIC_EGRESS, [_server(), ingress_only])
    assert msg.endswith("; no NetworkPolicy restricts its backend's egress")


def test_a_server_running_no_code_may_reach_the_internet():
    internet = _egress({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}})
    penrose = _server("ghcr.io/finetunings-ai/mcp-datascience/penrose-mcp:0.1.0")
    resources = [
        penrose,
        policy("analysis-backend", "data-science", BACKEND, policyTypes=["Egress"], egress=[internet]),
    ]
    assert stack_violations(isolation.CODE_EXECUTION_NO_PUBLIC_EGRESS, resources) == []


@pytest.mark.parametrize(
    ("cidr", "excepted", "public"),
    [
        ("0.0.0.0/0", ["10.0.0.0/8"], True),
        ("10.0.0.0/8", [], False),
        ("192.168.0.0/16", [], False),
        ("0.0.0.0/0", ["0.0.0.0/1", "128.0.0.0/1"], False),
        ("203.0.113.0/24", [], True),
        ("::/0", [], True),
        ("fd00::/8", [], False),
    ],
)
def test_public_part_of_an_ip_block(cidr, excepted, public):
    private = isolation.EGRESS_CONFIG["privateCidrs"]["default"]
    assert bool(isolation.public_part(cidr, excepted, private)) is public
