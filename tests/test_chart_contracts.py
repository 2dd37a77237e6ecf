"""Every Helm release of every stack keeps its chart's values contract (offline/chart_contract.py).

The contract of each pinned chart version is its own Chart.yaml, values.yaml and
values.schema.json (`../shared/charts`, or `$CHART_CONTRACT_DIR`). A key the chart does not
know is ignored by Helm without a word, so each one set here must be a chart default, a
schema property, or sit under a map the chart declares free-form
(offline/chart_free_form.py, with the chart's reason).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from offline import chart_contract
from offline.chart_contract import LOCAL_DIR, Contract, release_problems
from offline.policy_run import stack_config
from tests.conftest import STACKS


def _release(run, name: str) -> dict[str, Any]:
    [release] = [r for r in run.releases() if r["name"] == name]
    return copy.deepcopy(release)


@pytest.mark.parametrize("stack", STACKS)
def test_every_release_keeps_its_charts_contract(stack_runs, stack):
    run = stack_runs[stack]
    assert run.releases()
    assert release_problems(run.releases(), stack_config(stack).kubernetes_version) == []


@pytest.mark.parametrize(
    ("release", "path", "value", "message"),
    [
        # Not a value of the chart at all (cert-manager's schema closes every level).
        ("cert-manager", ("webhok", "replicaCount"), 2, "webhok: the chart has no such value"),
        # A chart without a schema: not in its defaults.
        ("kube-prometheus-stack", ("grafana", "sidecar", "dashbords"), {"enabled": True}, "grafana.sidecar.dashbords"),
        ("toolhive-operator", ("operator", "resource"), {}, "operator.resource: the chart has no such value"),
        # Inside a free-form map the chart renders as a Kubernetes type.
        (
            "kube-prometheus-stack",
            ("grafana", "securityContext", "runAsNonRot"),
            True,
            "grafana.securityContext: Additional properties are not allowed ('runAsNonRot'",
        ),
        ("sealed-secrets", ("podSecurityContext", "fsGroupp"), 1, "'fsGroupp' was unexpected"),
        # A map whose keys the chart names only in a comment.
        (
            "kube-prometheus-stack",
            ("grafana", "sidecar", "datasources", "exemplarTraceIdDestinations", "datasourceUID"),
            "jaeger",
            "exemplarTraceIdDestinations.datasourceUID: not one of the keys the chart names",
        ),
        # Right key, wrong type: Helm's own schema check.
        (
            "cert-manager",
            ("dns01RecursiveNameserversOnly",),
            "yes",
            "values.schema.json: dns01RecursiveNameserversOnly",
        ),
        ("nginx-ingress", ("controller", "replicaCount"), "two", "values.schema.json: controller.replicaCount"),
        # A Kubernetes type the schema refers to outside the file (nginx-ingress' remote refs).
        ("nginx-ingress", ("controller", "securityContext", "readOnlyRootFilesytem"), True, "readOnlyRootFilesytem"),
    ],
)
def test_a_misspelt_or_mistyped_value_fails(prod, release, path, value, message):
    rel = _release(prod, release)
    node = rel["values"]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    problems = release_problems([rel], "1.34")
    assert any(message in p for p in problems), problems


def test_the_chart_keys_a_chart_drops_are_not_kubernetes_fields(prod):
    values = _release(prod, "sealed-secrets")["values"]
    assert values["podSecurityContext"]["enabled"] is True  # read by the chart, not rendered
    assert release_problems([_release(prod, "sealed-secrets")], "1.34") == []


def test_a_pinned_version_without_a_contract_fails(prod):
    rel = _release(prod, "kube-prometheus-stack")
    rel["version"] = "88.6.0"
    [problem] = release_problems([rel], "1.34")
    assert "kube-prometheus-stack 88.6.0 has no values contract" in problem
    assert "kube-prometheus-stack-88.6.0/" in problem


def test_a_contract_folder_for_another_version_fails(prod, tmp_path, monkeypatch):
    folder = tmp_path / "jaeger-4.11.1"
    folder.mkdir()
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: jaeger\nversion: 4.11.0\n")
    (folder / "values.yaml").write_text("jaeger: {}\n")
    monkeypatch.setenv("CHART_CONTRACT_DIR", str(tmp_path))
    [problem] = release_problems([_release(prod, "jaeger")], "1.34")
    assert "says jaeger 4.11.0, not jaeger 4.11.1" in problem


def test_local_contracts_only_fill_gaps_of_the_shared_folder():
    shared = chart_contract.contract_roots()[0]
    local = sorted(p.name for p in LOCAL_DIR.iterdir() if p.is_dir())
    assert local, "offline/chart_contracts is empty: delete it and this test"
    duplicated = [name for name in local if (shared / name / "Chart.yaml").is_file()]
    assert not duplicated, f"{shared} now has {duplicated}: delete them from {LOCAL_DIR}"


def test_subchart_defaults_sit_under_their_names():
    contract = Contract.load("kube-prometheus-stack", "88.5.3")
    # The grafana subchart's own default, and the parent's override of it.
    assert contract.defaults["grafana"]["sidecar"]["image"]["repository"] == "kiwigrid/k8s-sidecar"
    assert contract.defaults["grafana"]["enabled"] is True
    assert "kube-state-metrics" in contract.defaults
    assert isinstance(contract.directory, Path)
