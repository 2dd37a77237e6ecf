"""Availability: no PodDisruptionBudget that can never allow an eviction.

Such a budget (maxUnavailable 0, minAvailable 100%, or minAvailable at least the
replicas its pods ever run with) blocks every `kubectl drain`, so node upgrades stall
until someone deletes it. Replicas are counted from what the stack states: a
workload's `replicas` or, when an autoscaler owns it, the autoscaler's minReplicas;
MCPServer proxies (Deployment `<name>`, spec.replicas) and backends (StatefulSet
`<name>`, spec.backendReplicas) as the ToolHive operator creates them (research/toolhive.md §3).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .base import stack_policy
from .kube import (
    HELM_RELEASE,
    HPA,
    MCP_SERVER,
    as_dict,
    describe,
    dotted,
    get,
    mcp_proxy_pod_labels,
    name_of,
    namespace_of,
    number,
    pod_templates,
    selector_matches,
    walk,
)
from .stackview import StackView

PDB = "kubernetes:policy/v1:PodDisruptionBudget"
_SCALED = {"kubernetes:apps/v1:Deployment": "Deployment", "kubernetes:apps/v1:StatefulSet": "StatefulSet"}


def _is_zero(value: Any) -> bool:
    return number(value) == 0 or str(value).strip() in ("0", "0%")


def _replicas(view: StackView, namespace: str, kind: str, name: str, stated: Any) -> int | None:
    """The fewest replicas a workload runs: its autoscaler's minReplicas, else `stated`
    (a workload without replicas runs 1)."""
    for hpa in view.of_type(HPA):
        target = as_dict(get(hpa.props, "spec", "scaleTargetRef"))
        if namespace_of(hpa.props) == namespace and target.get("kind") == kind and target.get("name") == name:
            return int(number(get(hpa.props, "spec", "minReplicas")) or 1)
    value = number(stated)
    return int(value) if value is not None else 1


def _pod_groups(view: StackView) -> Iterator[tuple[str, dict[str, str], int | None]]:
    """(namespace, pod labels, fewest replicas) of every pod group the stack states."""
    for r in view.of_type(*_SCALED):
        for t in pod_templates(r.resource_type, r.props):
            kind, stated = _SCALED[r.resource_type], get(r.props, "spec", "replicas")
            yield t.namespace, t.labels, _replicas(view, t.namespace, kind, name_of(r.props), stated)
    for server in view.mcp_servers:
        ns, name = namespace_of(server.props), name_of(server.props, server.name)
        proxy = _replicas(view, ns, "Deployment", name, get(server.props, "spec", "replicas"))
        yield ns, mcp_proxy_pod_labels(server.props), proxy
        for t in pod_templates(MCP_SERVER, server.props):
            yield ns, t.labels, _replicas(view, ns, "StatefulSet", name, get(server.props, "spec", "backendReplicas"))


def _budget_problem(spec: Mapping[str, Any], replicas: int | None) -> str | None:
    if "maxUnavailable" in spec and _is_zero(spec["maxUnavailable"]):
        return "maxUnavailable is 0"
    minimum = spec.get("minAvailable")
    if minimum is None:
        return None
    if str(minimum).strip() == "100%":
        return "minAvailable is 100%"
    count = number(minimum)
    if count is not None and replicas is not None and count >= replicas:
        return f"minAvailable is {int(count)} but its pods run {replicas} replica(s)"
    return None


def _values_budgets(values: Any) -> Iterator[tuple[str, str]]:
    """(path, problem) for chart PDB settings (`podDisruptionBudget`/`pdb` blocks, enabled)
    that block eviction, counting replicas from the block's sibling replicaCount/replicas."""
    for path, node in walk(values):
        if not path or path[-1].lower() not in ("poddisruptionbudget", "pdb") or not isinstance(node, Mapping):
            continue
        if node.get("enabled") is False or node.get("create") is False:
            continue
        parent = as_dict(get(values, *path[:-1])) if len(path) > 1 else as_dict(values)
        stated = parent.get("replicaCount", parent.get("replicas"))
        replicas = int(number(stated)) if number(stated) is not None else None
        problem = _budget_problem(node, replicas)
        if problem:
            yield dotted(path), problem


def _check_budgets(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    groups = list(_pod_groups(view))
    for pdb in view.of_type(PDB):
        spec = as_dict(pdb.props.get("spec"))
        ns, selector = namespace_of(pdb.props), as_dict(spec.get("selector"))
        counts = [n for g_ns, labels, n in groups if g_ns == ns and selector_matches(selector, labels)]
        replicas = sum(n for n in counts if n is not None) if counts and None not in counts else None
        problem = _budget_problem(spec, replicas)
        if problem:
            where = describe(pdb.resource_type, pdb.props, pdb.name)
            report(f"{where}: {problem}, so no eviction is ever allowed", pdb.urn)
    for release in view.of_type(HELM_RELEASE):
        for path, problem in _values_budgets(release.props.get("values")):
            where = describe(release.resource_type, release.props, release.name)
            report(f"{where} values {path}: {problem}, so no eviction is ever allowed", release.urn)


PDB_ALLOWS_EVICTION = stack_policy(
    "pdb-allows-eviction",
    "No PodDisruptionBudget (nor a chart's podDisruptionBudget values) can never allow an eviction: no "
    "maxUnavailable 0, no minAvailable 100%, no minAvailable at least the fewest replicas its pods run with.",
    _check_budgets,
    severity=Severity.MEDIUM,
    remediation="Use maxUnavailable: 1 (components/mcp_servers.py disruption_budgets), and only where at least two "
    "replicas always run; a single-replica workload gets no budget.",
)

POLICIES = [PDB_ALLOWS_EVICTION]
