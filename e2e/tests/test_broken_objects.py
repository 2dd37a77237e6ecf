"""A deliberately broken object fails the run with the API server's own message.

Both go through the same functions the stack's objects go through (server-side apply as a
dry run: admission, schema and CEL validation run, nothing is stored)."""

from __future__ import annotations

import copy

import pytest

from e2e.kube import ApiError
from e2e.stack import ApplyReport, apply_all
from e2e.tests.test_apply import warnings_of


def _mcp_server(live) -> dict:
    return copy.deepcopy(live.rendered("MCPServer")[0])


def test_an_mcpserver_field_the_crd_does_not_know_is_refused(live):
    server = _mcp_server(live)
    server["spec"]["targetPort"] = 8080  # removed in v1beta1 (research/toolhive.md): now mcpPort
    with pytest.raises(ApiError) as refused:
        live.kube.apply(server, dry_run=True)
    # server-side apply builds a typed patch first and answers 500 for an unknown field
    assert ".spec.targetPort: field not declared in schema" in refused.value.message


def test_an_mcpserver_value_the_crd_rejects_is_refused(live):
    server = _mcp_server(live)
    server["spec"]["transport"] = "websocket"
    with pytest.raises(ApiError) as refused:
        live.kube.apply(server, dry_run=True)
    assert refused.value.status == 422
    assert 'spec.transport: Unsupported value: "websocket"' in refused.value.message


def _root_deployment(namespace: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "runs-as-root", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "runs-as-root"}},
            "template": {
                "metadata": {"labels": {"app": "runs-as-root"}},
                "spec": {
                    "containers": [{"name": "main", "image": "busybox:1.37", "securityContext": {"runAsUser": 0}}]
                },
            },
        },
    }


def _mcp_namespace(live) -> str:
    return live.rendered("MCPServer")[0]["metadata"]["namespace"]


def test_a_root_deployment_in_a_restricted_namespace_fails_the_warning_check(live):
    deployment = _root_deployment(_mcp_namespace(live))
    report = ApplyReport()
    apply_all(live.kube, [deployment], report, dry_run=True)
    found = warnings_of(report)
    assert found, "the API server accepted a root Deployment in a restricted namespace silently"
    assert 'would violate PodSecurity "restricted:latest"' in found[0]
    assert "runAsNonRoot != true" in found[0]


def test_a_root_pod_in_a_restricted_namespace_is_refused(live):
    template = _root_deployment(_mcp_namespace(live))["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runs-as-root", "namespace": _mcp_namespace(live)}}
    pod["spec"] = template["spec"]
    with pytest.raises(ApiError) as refused:
        live.kube.apply(pod, dry_run=True)
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in refused.value.message
