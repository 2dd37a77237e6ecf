"""ToolHiveOperator: namespace, the two charts in order, and the operator's settings."""

from __future__ import annotations

import pytest

from components import versions
from components.config import ToolHiveConfig
from components.toolhive import TYPE, operator_values, scrape_targets
from offline.policy_run import stack_config

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_namespace_enforces_restricted_pod_security(stack_runs, stack):
    ns = stack_runs[stack].find("Namespace", "toolhive-system")
    labels = ns.inputs["metadata"]["labels"]
    assert RESTRICTED.items() <= labels.items()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_charts_are_pinned_oci_releases_in_the_operator_namespace(stack_runs, stack):
    releases = {r["name"]: r for r in stack_runs[stack].releases()}
    crds = releases["toolhive-operator-crds"]
    operator = releases["toolhive-operator"]
    assert crds["chart"] == "oci://ghcr.io/stacklok/toolhive/toolhive-operator-crds"
    assert operator["chart"] == "oci://ghcr.io/stacklok/toolhive/toolhive-operator"
    assert crds["version"] == operator["version"] == "0.44.0"
    assert crds["namespace"] == operator["namespace"] == "toolhive-system"
    assert crds["values"] == {"crds": {"install": True, "keep": True}}


def test_crds_before_operator_and_namespaces_before_both(dev):
    crds = dev.release("toolhive-operator-crds")
    operator = dev.release("toolhive-operator")
    own_ns = dev.find("Namespace", "toolhive-system")
    mcp_ns = dev.find("Namespace", "data-science")
    assert dev.depends_on(operator, crds)
    assert not dev.depends_on(crds, operator)
    assert dev.depends_on(crds, own_ns)
    # the namespace-scoped chart writes a RoleBinding into the MCP namespace
    assert dev.depends_on(operator, mcp_ns)


def test_children_belong_to_the_component(dev):
    [component] = dev.of_type(TYPE)
    children = [r for r in dev.resources if r.parent == component.urn]
    assert sorted(c.type for c in children) == [
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Service",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ]
    assert component.inputs == {}  # CrossGuard sees no props on the component itself


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_run_the_operator_namespace_scoped(stack_runs, stack):
    values = stack_runs[stack].release("toolhive-operator").inputs["values"]["operator"]
    watched = list(stack_config(stack).operator_namespaces)
    assert values["rbac"] == {"scope": "namespace", "allowedNamespaces": watched}
    assert values["features"]["storageVersionMigrator"] is False


def test_cluster_scope_keeps_the_storage_version_migrator(run):
    values = run("prod", **{"toolhive.rbac_scope": "cluster"}).release("toolhive-operator").inputs["values"]["operator"]
    assert values["rbac"] == {"scope": "cluster"}
    assert values["features"]["storageVersionMigrator"] is True


def test_extra_watched_namespaces_reach_the_chart(run):
    values = (
        run("prod", **{"toolhive.watched_namespaces": ["data-science", "team-a"]})
        .release("toolhive-operator")
        .inputs["values"]["operator"]
    )
    assert values["rbac"]["allowedNamespaces"] == ["data-science", "team-a"]


def test_operator_pod_is_hardened_and_sized():
    values = operator_values(ToolHiveConfig(), ["data-science"])["operator"]
    ctx = values["containerSecurityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] == 1000
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["resources"] == {
        "requests": {"cpu": "10m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "128Mi"},
    }
    assert {"name": "TOOLHIVE_SKIP_UPDATE_CHECK", "value": "true"} in values["env"]


def test_images_are_pinned_to_the_chart_version():
    values = operator_values(ToolHiveConfig(), [])["operator"]
    for key, image in (("image", "operator"), ("toolhiveRunnerImage", "proxyrunner"), ("vmcpImage", "vmcp")):
        assert values[key] == versions.TOOLHIVE_IMAGES[image].ref
        assert values[key].endswith(":v" + versions.TOOLHIVE_OPERATOR.version)


def test_chart_version_override_applies_to_both_charts(run):
    result = run("prod", **{"toolhive.chart_version": "0.45.1"})
    toolhive = [r for r in result.releases() if r["name"].startswith("toolhive-operator")]
    assert len(toolhive) == 2
    assert {r["version"] for r in toolhive} == {"0.45.1"}


def test_operator_metrics_service_selects_the_operator_pods(prod):
    service = prod.find("Service", "toolhive-operator-metrics", "toolhive-system").inputs
    assert service["spec"]["selector"] == {
        "app.kubernetes.io/name": "toolhive-operator",
        "app.kubernetes.io/instance": "toolhive-operator",
    }
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    [target] = scrape_targets(ToolHiveConfig())
    assert target.selector.items() <= service["metadata"]["labels"].items()
    assert target.port == "metrics"


def test_operator_namespace_is_default_deny_with_narrow_allowances(prod):
    deny = prod.find("NetworkPolicy", "default-deny", "toolhive-system").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    operator = prod.find("NetworkPolicy", "toolhive-operator", "toolhive-system").inputs["spec"]
    metrics_from = operator["ingress"][0]["from"]
    assert metrics_from == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert operator["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
