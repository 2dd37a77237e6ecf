"""How `make e2e` configures the real controllers from the stack's chart values
(e2e/controllers.py); fast, no control plane."""

from __future__ import annotations

import pytest

from e2e import controllers
from e2e.stack import apply_rank
from offline.chart_contract import coalesce


def _release(run, name: str) -> dict:
    return next(r for r in run.releases() if r["name"] == name)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_operator_watches_and_is_bound_in_exactly_the_stacks_namespaces(stack_runs, stack):
    run = stack_runs[stack]
    release = _release(run, "toolhive-operator")
    setup = controllers.toolhive_operator(release)
    allowed = release["values"]["operator"]["rbac"]["allowedNamespaces"]
    assert setup.env["WATCH_NAMESPACE"] == ",".join(allowed)
    bound = {
        o["metadata"]["namespace"]
        for o in setup.objects
        if o["kind"] == "RoleBinding" and o["roleRef"]["name"] == controllers.TOOLHIVE_MANAGER_ROLE
    }
    assert bound == set(allowed)
    assert not [o for o in setup.objects if o["kind"] == "ClusterRoleBinding"]
    # the stack's own env entry reaches the process; the chart's own entries follow it
    assert setup.env["TOOLHIVE_SKIP_UPDATE_CHECK"] == "true"
    assert setup.env["TOOLHIVE_RUNNER_IMAGE"] == release["values"]["operator"]["toolhiveRunnerImage"]
    assert setup.env["TOOLHIVE_ENABLE_STORAGE_VERSION_MIGRATOR"] == "false"
    assert setup.args == ("--leader-elect",)


def test_cluster_scope_binds_cluster_wide_and_watches_everything(run):
    setup = controllers.toolhive_operator(
        _release(run("dev", **{"toolhive.rbac_scope": "cluster"}), "toolhive-operator")
    )
    assert "WATCH_NAMESPACE" not in setup.env
    assert setup.watched is None
    assert [o["kind"] for o in setup.objects if "Binding" in o["kind"]] == ["ClusterRoleBinding", "RoleBinding"]


def test_sealed_secrets_flags_follow_the_chart_values(stack_runs):
    setup = controllers.sealed_secrets(_release(stack_runs["dev"], "sealed-secrets"))
    assert setup.namespace == "kube-system"
    assert setup.service_account == "sealed-secrets-controller"
    assert "--update-status" in setup.args  # chart default updateStatus: true
    assert setup.args[setup.args.index("--key-prefix") + 1] == "sealed-secrets-key"
    assert setup.env == {"GOMAXPROCS": "1", "GOMEMLIMIT": str(256 * 1024 * 1024)}


def test_helm_merge_keeps_defaults_replaces_lists_and_drops_nulls():
    merged = coalesce({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "d": None})
    assert merged == {"a": {"b": 1, "c": [3]}}


def test_namespaces_and_crds_are_applied_before_what_lives_in_them():
    objects = [
        {"kind": "NetworkPolicy", "metadata": {"name": "a", "namespace": "x"}},
        {"kind": "MCPServer", "metadata": {"name": "a", "namespace": "x"}},
        {"kind": "MCPToolConfig", "metadata": {"name": "a", "namespace": "x"}},
        {"kind": "Namespace", "metadata": {"name": "x"}},
        {"kind": "CustomResourceDefinition", "metadata": {"name": "b"}},
    ]
    order = [o["kind"] for o in sorted(objects, key=apply_rank)]
    assert order == ["Namespace", "CustomResourceDefinition", "MCPToolConfig", "MCPServer", "NetworkPolicy"]
