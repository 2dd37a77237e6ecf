"""Point 4: RBAC, answered by the API server's own authorizer (SubjectAccessReview, what
`kubectl auth can-i --as=system:serviceaccount:...` asks)."""

from __future__ import annotations

from components import plan
from e2e.tests.conftest import checked

OPERATOR_OWNERS = {"MCPServer", "VirtualMCPServer"}
# what the operator does in a watched namespace (group, resource, verb)
OPERATOR_NEEDS = (
    ("apps", "deployments", "create"),
    ("apps", "statefulsets", "create"),
    ("", "services", "create"),
    ("", "serviceaccounts", "create"),
    ("", "configmaps", "update"),
    ("rbac.authorization.k8s.io", "roles", "create"),
    ("rbac.authorization.k8s.io", "rolebindings", "create"),
    ("toolhive.stacklok.dev", "mcpservers", "watch"),
)
# what a namespace-scoped identity may not do anywhere but its namespaces
CLUSTER_WIDE = (
    ("", "secrets", "list", None),
    ("", "secrets", "get", "kube-system"),
    ("apps", "deployments", "list", None),
    ("", "pods", "list", None),
    ("", "namespaces", "list", None),
    ("", "nodes", "get", None),
    ("rbac.authorization.k8s.io", "clusterroles", "create", None),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "create", None),
    ("apiextensions.k8s.io", "customresourcedefinitions", "list", None),
)


def _operator_user(live) -> str:
    setup = live.cluster.operator
    return f"system:serviceaccount:{setup.namespace}:{setup.service_account}"


def test_the_operator_may_do_what_it_needs_in_each_watched_namespace(live):
    setup = live.cluster.operator
    assert setup.watched, "the stacks run the operator namespace-scoped (toolhive.rbac_scope: namespace)"
    for namespace in setup.watched:
        for group, resource, verb in OPERATOR_NEEDS:
            assert live.kube.can_i(_operator_user(live), verb, resource, group=group, namespace=namespace), (
                f"operator cannot {verb} {resource} in {namespace}"
            )


def test_the_namespace_scoped_operator_may_do_nothing_cluster_wide(live):
    user = _operator_user(live)
    for group, resource, verb, namespace in CLUSTER_WIDE:
        assert not live.kube.can_i(user, verb, resource, group=group, namespace=namespace), (
            f"operator may {verb} {resource} in {namespace or 'all namespaces'}"
        )


def _operator_made_accounts(live):
    for namespace in live.cluster.operator.watched:
        for account in live.kube.list("v1", "ServiceAccount", namespace):
            if {o["kind"] for o in account["metadata"].get("ownerReferences", [])} & OPERATOR_OWNERS:
                yield namespace, account["metadata"]["name"]


def _rules_of(live, namespace: str, account: str) -> list[dict]:
    rules = []
    for binding in live.kube.list("rbac.authorization.k8s.io/v1", "RoleBinding", namespace):
        subjects = binding.get("subjects") or []
        if any(
            s["kind"] == "ServiceAccount" and s["name"] == account and s.get("namespace") == namespace for s in subjects
        ):
            ref = binding["roleRef"]
            if ref["kind"] == "Role":
                rules += live.kube.get("rbac.authorization.k8s.io/v1", "Role", ref["name"], namespace)["rules"]
    return rules


def test_operator_made_pods_run_as_accounts_the_operator_made(live):
    accounts = set(_operator_made_accounts(live))
    assert accounts, "the operator made no ServiceAccount for its pods"
    for deployment in live.kube.list("apps/v1", "Deployment"):
        meta = deployment["metadata"]
        if {o["kind"] for o in meta.get("ownerReferences", [])} & OPERATOR_OWNERS:
            account = deployment["spec"]["template"]["spec"].get("serviceAccountName")
            assert (meta["namespace"], account) in accounts, (meta["name"], account)


def test_operator_made_accounts_may_do_their_role_in_their_namespace_and_nothing_elsewhere(live):
    accounts = list(_operator_made_accounts(live))
    for namespace, account in accounts:
        user = f"system:serviceaccount:{namespace}:{account}"
        rules = _rules_of(live, namespace, account)
        assert rules, f"{account} is bound to no Role"
        for rule in rules:
            for group in rule.get("apiGroups", [""]):
                for resource in rule["resources"]:
                    name, _, sub = resource.partition("/")
                    for verb in rule["verbs"]:
                        assert live.kube.can_i(user, verb, name, group=group, namespace=namespace, subresource=sub)
                        assert not live.kube.can_i(
                            user, verb, name, group=group, namespace="kube-system", subresource=sub
                        ), f"{user} may {verb} {resource} in kube-system"
        for group, resource, verb, where in CLUSTER_WIDE:
            assert not live.kube.can_i(user, verb, resource, group=group, namespace=where), (
                f"{user} may {verb} {resource} in {where or 'all namespaces'}"
            )
        checked(live, f"ServiceAccount {namespace}/{account}")


def test_the_backend_account_may_do_nothing(live):
    namespace = live.rendered("MCPServer")[0]["metadata"]["namespace"]
    user = f"system:serviceaccount:{namespace}:{plan.BACKEND_SERVICE_ACCOUNT}"
    for group, resource, verb in OPERATOR_NEEDS:
        assert not live.kube.can_i(user, verb, resource, group=group, namespace=namespace)
    assert not live.kube.can_i(user, "get", "secrets", namespace=namespace)
