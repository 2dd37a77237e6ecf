"""Network rules: default deny per workload namespace, a NetworkPolicy for every pod, no
egress to the metadata address."""

from __future__ import annotations

import pytest

from policies.mcp_policies import kube, network
from tests.policy_support import deployment, helm, mcpserver, messages, resource, stack_violations, violations

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def netpol(name: str, namespace: str, spec: dict) -> object:
    return resource(kube.NETWORK_POLICY, {"metadata": {"name": name, "namespace": namespace}, "spec": spec})


DENY = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_namespace_with_default_deny_passes():
    resources = [resource(DEPLOYMENT, deployment()), netpol("default-deny", "apps", DENY)]
    assert stack_violations(network.NAMESPACE_DEFAULT_DENY, resources) == []


@pytest.mark.parametrize(
    "spec",
    [
        {"podSelector": {}, "policyTypes": ["Ingress"]},  # egress open
        {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]},  # one pod only
        {**DENY, "egress": [{"to": [{"namespaceSelector": {}}]}]},  # allows something
    ],
)
def test_namespace_without_a_real_default_deny_fails(spec):
    resources = [resource(DEPLOYMENT, deployment()), netpol("almost", "apps", spec)]
    assert messages(stack_violations(network.NAMESPACE_DEFAULT_DENY, resources)) == [
        "namespace apps runs Deployment apps/web but has no default-deny NetworkPolicy"
    ]


def test_exempt_namespaces_are_skipped():
    resources = [resource(DEPLOYMENT, deployment())]
    assert stack_violations(network.NAMESPACE_DEFAULT_DENY, resources, {"exemptNamespaces": ["apps"]}) == []
    assert len(stack_violations(network.NAMESPACE_DEFAULT_DENY, resources, {"exemptNamespaces": ["kube-system"]})) == 1


def test_helm_release_namespaces_count_unless_the_chart_runs_no_pods():
    crds = helm({}, name="toolhive-operator-crds", chart="oci://ghcr.io/stacklok/toolhive/toolhive-operator-crds")
    crds["namespace"] = "toolhive-system"
    assert stack_violations(network.NAMESPACE_DEFAULT_DENY, [resource(kube.HELM_RELEASE, crds)]) == []
    found = stack_violations(network.NAMESPACE_DEFAULT_DENY, [resource(kube.HELM_RELEASE, helm({}))])
    assert messages(found) == ["namespace edge runs Helm release edge/rel but has no default-deny NetworkPolicy"]


def test_every_pod_needs_a_policy_written_for_it():
    server = mcpserver("pandas")
    proxy = {"podSelector": {"matchLabels": kube.proxy_pod_labels("pandas")}, "policyTypes": ["Ingress"]}
    backend = {
        "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["pandas"]}]},
        "policyTypes": ["Ingress", "Egress"],
    }
    resources = [
        resource(kube.MCP_SERVER, server),
        netpol("default-deny", "data-science", DENY),
        netpol("proxy", "data-science", proxy),
        netpol("backend", "data-science", backend),
    ]
    assert stack_violations(network.POD_NETWORK_POLICY, resources) == []
    found = stack_violations(network.POD_NETWORK_POLICY, resources[:3])  # the backend's policy dropped
    [msg] = messages(found)
    assert msg.startswith("MCPServer data-science/pandas backend pod (labels {'app': 'pandas'")
    assert msg.endswith("is selected by no NetworkPolicy written for it")
    assert found[0][1] == resources[0].urn


def test_default_deny_alone_does_not_count_as_a_pods_policy():
    resources = [resource(DEPLOYMENT, deployment()), netpol("default-deny", "apps", DENY)]
    [msg] = messages(stack_violations(network.POD_NETWORK_POLICY, resources))
    assert msg == "Deployment apps/web (labels {'app': 'web'}) is selected by no NetworkPolicy written for it"


@pytest.mark.parametrize(
    ("expr", "labels", "matches"),
    [
        ({"key": "tier", "operator": "NotIn", "values": ["db"]}, {"tier": "web"}, True),
        ({"key": "tier", "operator": "NotIn", "values": ["db"]}, {"tier": "db"}, False),
        ({"key": "tier", "operator": "Exists"}, {}, False),
        ({"key": "tier", "operator": "DoesNotExist"}, {}, True),
    ],
)
def test_label_selector_expressions(expr, labels, matches):
    assert kube.selector_matches({"matchExpressions": [expr]}, labels) is matches


def _egress(*rules: dict) -> dict:
    return {"metadata": {"name": "out", "namespace": "apps"}, "spec": {"podSelector": {}, "egress": list(rules)}}


@pytest.mark.parametrize(
    "block",
    [
        {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]},
        {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.0.0/16"]},
        {"cidr": "10.0.0.0/8"},
        {"cidr": "::/0", "except": ["fd00:ec2::254/128"]},
    ],
)
def test_egress_excepting_metadata_passes(block):
    assert violations(network.EGRESS_EXCEPTS_METADATA, kube.NETWORK_POLICY, _egress({"to": [{"ipBlock": block}]})) == []


def test_egress_reaching_metadata_fails():
    props = _egress(
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 443}]},
        {"ports": [{"port": 53}]},
    )
    assert violations(network.EGRESS_EXCEPTS_METADATA, kube.NETWORK_POLICY, props) == [
        "NetworkPolicy apps/out egress[0] allows 0.0.0.0/0 without excepting the metadata address 169.254.169.254",
        "NetworkPolicy apps/out egress[1] has no `to`: it allows every destination, the metadata address included",
    ]
