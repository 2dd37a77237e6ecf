"""pdb-allows-eviction: a PodDisruptionBudget that can never allow an eviction is caught,
one that lets a node drain passes."""

from __future__ import annotations

from typing import Any

import pytest

from policies.mcp_policies import availability, kube
from tests.policy_support import deployment, helm, mcpserver, messages, resource, stack_violations

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def pdb(**spec: Any) -> Any:
    props = {"metadata": {"name": "web", "namespace": "apps"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    props["spec"].update(spec)
    return resource(availability.PDB, props)


def web(replicas: int | None) -> Any:
    props = deployment()
    if replicas is not None:
        props["spec"]["replicas"] = float(replicas)  # engine-shaped
    return resource(DEPLOYMENT, props)


def hpa(minimum: int) -> Any:
    props = {
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": minimum, "maxReplicas": 5},
    }
    return resource(kube.HPA, props)


@pytest.mark.parametrize(
    ("budget", "workload", "problem"),
    [
        ({"maxUnavailable": 0}, [web(3)], "maxUnavailable is 0"),
        ({"maxUnavailable": "0%"}, [web(3)], "maxUnavailable is 0"),
        ({"minAvailable": "100%"}, [web(3)], "minAvailable is 100%"),
        ({"minAvailable": 3}, [web(3)], "minAvailable is 3 but its pods run 3 replica(s)"),
        ({"minAvailable": 1}, [web(None)], "minAvailable is 1 but its pods run 1 replica(s)"),
        ({"minAvailable": 2}, [web(4), hpa(2)], "minAvailable is 2 but its pods run 2 replica(s)"),
    ],
    ids=["max-unavailable-0", "max-unavailable-0%", "min-available-100%", "min-equals-replicas", "one-replica",
         "autoscaler-minimum"],
)  # fmt: skip
def test_a_budget_that_blocks_every_eviction_is_caught(budget, workload, problem):
    found = stack_violations(availability.PDB_ALLOWS_EVICTION, [pdb(**budget), *workload])
    assert messages(found) == [f"PodDisruptionBudget apps/web: {problem}, so no eviction is ever allowed"]


@pytest.mark.parametrize(
    ("budget", "workload"),
    [
        ({"maxUnavailable": 1}, [web(1)]),
        ({"minAvailable": 2}, [web(3)]),
        ({"minAvailable": "50%"}, [web(2)]),
        ({"minAvailable": 1}, [web(4), hpa(2)]),
    ],
)
def test_a_budget_that_lets_a_node_drain_passes(budget, workload):
    assert stack_violations(availability.PDB_ALLOWS_EVICTION, [pdb(**budget), *workload]) == []


def test_mcp_server_pods_are_counted_as_the_operator_runs_them():
    server = resource(kube.MCP_SERVER, mcpserver("pandas", replicas=1, backendReplicas=1))
    proxy = {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "pandas"}
    budget = {"metadata": {"name": "pandas-proxy", "namespace": "data-science"}, "spec": {"minAvailable": 1}}
    budget["spec"]["selector"] = {"matchLabels": proxy}
    [(msg, _)] = stack_violations(availability.PDB_ALLOWS_EVICTION, [server, resource(availability.PDB, budget)])
    assert msg == "PodDisruptionBudget data-science/pandas-proxy: minAvailable is 1 but its pods run 1 replica(s), " + (
        "so no eviction is ever allowed"
    )
    budget["spec"] = {"maxUnavailable": 1, "selector": {"matchLabels": proxy}}
    assert stack_violations(availability.PDB_ALLOWS_EVICTION, [server, resource(availability.PDB, budget)]) == []


def test_chart_budget_values_are_checked_against_their_replicas():
    blocking = helm({"controller": {"replicaCount": 1, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}})
    [(msg, _)] = stack_violations(availability.PDB_ALLOWS_EVICTION, [resource(kube.HELM_RELEASE, blocking)])
    assert msg == (
        "Helm release edge/rel values controller.podDisruptionBudget: minAvailable is 1 but its pods run 1 "
        "replica(s), so no eviction is ever allowed"
    )
    for values in (
        {"controller": {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}},
        {"controller": {"replicaCount": 1, "podDisruptionBudget": {"enabled": False, "minAvailable": 1}}},
    ):
        assert stack_violations(availability.PDB_ALLOWS_EVICTION, [resource(kube.HELM_RELEASE, helm(values))]) == []
