"""workload-image-pull-policy: `imagePullPolicy: Never` is caught in pod templates and
chart values; IfNotPresent and Always pass."""

from __future__ import annotations

import pytest

from policies.mcp_policies import image_pull, kube
from tests.policy_support import container, deployment, helm, mcpserver, violations


def test_never_in_a_container_is_caught():
    web = deployment(container(imagePullPolicy="Never"))
    found = violations(image_pull.IMAGE_PULL_POLICY, "kubernetes:apps/v1:Deployment", web)
    assert found == ["Deployment apps/web container 'app': imagePullPolicy is Never"]


@pytest.mark.parametrize("policy", ["IfNotPresent", "Always", None])
def test_other_pull_policies_pass(policy):
    web = deployment(container(imagePullPolicy=policy) if policy else container())
    assert violations(image_pull.IMAGE_PULL_POLICY, "kubernetes:apps/v1:Deployment", web) == []


def test_never_on_an_mcp_container_or_in_chart_values_is_caught():
    server = mcpserver()
    server["spec"]["podTemplateSpec"]["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    found = violations(image_pull.IMAGE_PULL_POLICY, kube.MCP_SERVER, server)
    assert found == ["MCPServer data-science/pandas backend pod container 'mcp': imagePullPolicy is Never"]
    values = {"controller": {"image": {"repository": "nginx/nginx-ingress", "tag": "5.5.4", "pullPolicy": "Never"}}}
    assert violations(image_pull.IMAGE_PULL_POLICY, kube.HELM_RELEASE, helm(values)) == [
        "Helm release edge/rel values controller.image.pullPolicy: Never"
    ]
    values["controller"]["image"]["pullPolicy"] = "IfNotPresent"
    assert violations(image_pull.IMAGE_PULL_POLICY, kube.HELM_RELEASE, helm(values)) == []
