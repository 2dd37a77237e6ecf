"""Access to the Kubernetes API: no admin or wildcard grants, least privilege for the
service accounts MCP servers run as, a namespace-scoped ToolHive operator, and no API
token where the pod never calls the API. Each rule: a violating resource caught, its
correct twin passing."""

from __future__ import annotations

from typing import Any

import pytest

from policies.mcp_policies import kube, rbac
from tests.policy_support import deployment, helm, mcpserver, messages, resource, stack_violations, violations


def role(name: str, rules: list[dict[str, Any]], namespace: str | None = "apps", kind: str = "Role") -> dict:
    meta: dict[str, Any] = {"name": name}
    if namespace and kind == "Role":
        meta["namespace"] = namespace
    return {"metadata": meta, "rules": rules}


def binding(name: str, role_kind: str, role_name: str, account: str, namespace: str = "data-science") -> dict:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }


DEPLOYMENT = "kubernetes:apps/v1:Deployment"
READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}


# ---------------------------------------------------------------------------
# rbac-no-admin-or-wildcard
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, "verbs"),
        ({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}, "resources"),
        ({"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["get"]}, "apiGroups"),
    ],
)
def test_wildcard_grants_are_caught(rule, field):
    found = violations(
        rbac.RBAC_NO_ADMIN_OR_WILDCARD, rbac.CLUSTER_ROLE, role("broad", [READ_PODS, rule], None, "ClusterRole")
    )
    assert found == [f"ClusterRole broad rules[1] grants '*' in {field}"]
    assert violations(rbac.RBAC_NO_ADMIN_OR_WILDCARD, rbac.ROLE, role("narrow", [READ_PODS])) == []


def test_binding_cluster_admin_is_caught():
    admin = binding("ops", "ClusterRole", "cluster-admin", "deployer")
    found = violations(rbac.RBAC_NO_ADMIN_OR_WILDCARD, rbac.CLUSTER_ROLE_BINDING, admin)
    assert found == ["ClusterRoleBinding data-science/ops grants ClusterRole cluster-admin"]
    view = binding("ops", "ClusterRole", "view", "deployer")
    assert violations(rbac.RBAC_NO_ADMIN_OR_WILDCARD, rbac.CLUSTER_ROLE_BINDING, view) == []


def test_wildcard_rule_handed_to_a_chart_is_caught():
    values = {"rbac": {"extraRules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}}
    found = violations(rbac.RBAC_NO_ADMIN_OR_WILDCARD, kube.HELM_RELEASE, helm(values))
    assert found == [
        "Helm release edge/rel values rbac.extraRules.0 grants '*' in verbs",
        "Helm release edge/rel values rbac.extraRules.0 grants '*' in resources",
        "Helm release edge/rel values rbac.extraRules.0 grants '*' in apiGroups",
    ]
    narrow = {"rbac": {"extraRules": [READ_PODS]}}
    assert violations(rbac.RBAC_NO_ADMIN_OR_WILDCARD, kube.HELM_RELEASE, helm(narrow)) == []


# ---------------------------------------------------------------------------
# rbac-mcp-service-account-least-privilege
# ---------------------------------------------------------------------------


def _server(**spec: Any) -> Any:
    return resource(kube.MCP_SERVER, mcpserver("pandas", serviceAccount="mcp-backend", **spec))


@pytest.mark.parametrize(
    ("rules", "grant"),
    [
        ([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], "resource secrets"),
        ([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}], "resource pods/exec"),
        ([{"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create"]}], "resource pods/attach"),
        ([{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}], "verb impersonate"),
        (
            [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}],
            "verb escalate",
        ),
        ([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["bind"]}], "verb bind"),
    ],
)
def test_an_mcp_service_account_with_dangerous_rights_is_caught(rules, grant):
    resources = [
        _server(),
        resource(rbac.ROLE, role("reader", rules, "data-science")),
        resource(rbac.ROLE_BINDING, binding("reader", "Role", "reader", "mcp-backend")),
    ]
    found = stack_violations(rbac.RBAC_MCP_LEAST_PRIVILEGE, resources)
    assert messages(found) == [
        "RoleBinding data-science/reader binds Role data-science/reader to ServiceAccount data-science/mcp-backend, "
        f"which MCPServer data-science/pandas runs as, and grants {grant}"
    ]
    assert found[0][1] == resources[2].urn


def test_an_mcp_service_account_with_harmless_rights_passes():
    resources = [
        _server(),
        resource(rbac.ROLE, role("reader", [READ_PODS], "data-science")),
        resource(rbac.ROLE_BINDING, binding("reader", "Role", "reader", "mcp-backend")),
        # The same dangerous role bound to another account is not this rule's business.
        resource(rbac.ROLE, role("secrets", [{"resources": ["secrets"], "verbs": ["get"]}], "data-science")),
        resource(rbac.ROLE_BINDING, binding("ops", "Role", "secrets", "operator-sa")),
    ]
    assert stack_violations(rbac.RBAC_MCP_LEAST_PRIVILEGE, resources) == []


def test_the_operator_made_account_counts_and_an_unknown_role_fails_closed():
    resources = [
        resource(kube.MCP_SERVER, mcpserver("pandas")),  # no spec.serviceAccount: the operator's pandas-sa
        resource(rbac.CLUSTER_ROLE_BINDING, binding("edit", "ClusterRole", "edit", "pandas-sa")),
    ]
    [(msg, _)] = stack_violations(rbac.RBAC_MCP_LEAST_PRIVILEGE, resources)
    assert msg == (
        "ClusterRoleBinding data-science/edit binds ClusterRole edit to ServiceAccount data-science/pandas-sa, which "
        "MCPServer data-science/pandas runs as; the role is not in this stack, so its rights cannot be checked"
    )


# ---------------------------------------------------------------------------
# toolhive-operator-namespace-scoped
# ---------------------------------------------------------------------------

OPERATOR_CHART = "oci://ghcr.io/stacklok/toolhive/toolhive-operator"


def _operator(rbac_values: dict[str, Any] | None) -> dict:
    values = {"operator": {"rbac": rbac_values}} if rbac_values is not None else {"operator": {}}
    release = helm(values, name="toolhive-operator", chart=OPERATOR_CHART)
    release["namespace"] = "toolhive-system"
    return release


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"scope": "cluster"}, "operator.rbac.scope cluster: rights in every namespace"),
        (None, "operator.rbac.scope cluster (the chart's default): rights in every namespace"),
        ({"scope": "namespace"}, "is namespace-scoped but lists no operator.rbac.allowedNamespaces"),
    ],
)
def test_a_cluster_scoped_operator_is_caught(values, expected):
    [found] = violations(rbac.TOOLHIVE_NAMESPACE_SCOPED, kube.HELM_RELEASE, _operator(values))
    assert found.startswith("Helm release toolhive-system/toolhive-operator ")
    assert found.endswith(expected)


def test_a_namespace_scoped_operator_passes():
    scoped = _operator({"scope": "namespace", "allowedNamespaces": ["data-science"]})
    assert violations(rbac.TOOLHIVE_NAMESPACE_SCOPED, kube.HELM_RELEASE, scoped) == []
    # Another chart with the same values shape is not the operator.
    other = helm({"operator": {"rbac": {"scope": "cluster"}}}, chart="oci://example.com/charts/other")
    assert violations(rbac.TOOLHIVE_NAMESPACE_SCOPED, kube.HELM_RELEASE, other) == []


# ---------------------------------------------------------------------------
# service-account-token-automount
# ---------------------------------------------------------------------------


def _account(name: str, automount: bool | None) -> Any:
    props: dict[str, Any] = {"metadata": {"name": name, "namespace": "apps"}}
    if automount is not None:
        props["automountServiceAccountToken"] = automount
    return resource(rbac.SERVICE_ACCOUNT, props)


def test_an_unbound_account_that_mounts_its_token_is_caught():
    found = stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, [_account("web", None)])
    assert messages(found) == [
        "ServiceAccount apps/web is bound to no role of the stack but does not set automountServiceAccountToken: false"
    ]
    assert stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, [_account("web", False)]) == []


def test_a_bound_account_may_mount_its_token():
    bound = binding("web-reader", "Role", "reader", "web", namespace="apps")
    resources = [_account("web", None), resource(rbac.ROLE_BINDING, bound)]
    assert stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, resources) == []


def test_a_pod_that_never_calls_the_api_must_not_mount_a_token():
    web = deployment(pod={"serviceAccountName": "web"})
    found = stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, [_account("web", True), resource(DEPLOYMENT, web)])
    assert (
        "Deployment apps/web runs as ServiceAccount apps/web, which no role of the stack is bound to, but mounts "
        in (messages(found)[1])
    )
    # The pod turns it off, or its account of the stack does.
    off = deployment(pod={"serviceAccountName": "web", "automountServiceAccountToken": False})
    assert stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, [_account("web", False), resource(DEPLOYMENT, off)]) == []
    inherited = deployment(pod={"serviceAccountName": "web"})
    resources = [_account("web", False), resource(DEPLOYMENT, inherited)]
    assert stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, resources) == []


def test_an_mcp_backend_mounting_a_token_is_caught():
    server = mcpserver("pandas")  # the operator's pandas-sa, with no RBAC
    [(msg, _)] = stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, [resource(kube.MCP_SERVER, server)])
    assert msg.startswith("MCPServer data-science/pandas backend pod runs as ServiceAccount data-science/pandas-sa")
    server["spec"]["podTemplateSpec"]["spec"]["automountServiceAccountToken"] = False
    assert stack_violations(rbac.SERVICE_ACCOUNT_TOKEN, [resource(kube.MCP_SERVER, server)]) == []
