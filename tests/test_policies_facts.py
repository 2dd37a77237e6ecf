"""Facts the policy pack copies from components/.

The pack runs in its own venv under the Pulumi CLI and cannot import components/, so it
keeps its own copy of each name, label, port and type token it judges by. Each copy is
tied here to the components/ value: a rename on one side fails this file instead of
leaving the pack silently blind (a wrong type token or annotation name matches nothing,
and a shipped stack then passes for the wrong reason)."""

from __future__ import annotations

import re

import pytest

from components import edge_plan, mcp_servers, monitoring, plan, versions
from components import secrets as secrets_layer
from components.catalog import CATALOG, GROUPS
from components.config import ImagesConfig, SealedSecretsConfig
from offline.policy_run import CONFIG_DIR, load_policy_config, reconcile
from policies.mcp_policies import ALL_POLICIES, edge, kube, network, secrets, stack, workloads

CONFIGS = sorted(CONFIG_DIR.glob("*.json"))


def test_annotation_names_are_the_components_ones():
    assert kube.EXECUTES_CODE_ANNOTATION == mcp_servers.EXECUTES_CODE_ANNOTATION
    assert {secrets.GENERATED_BY: secrets.PULUMI_RANDOM} == monitoring.GENERATED_BY
    assert edge.MERGEABLE == edge_plan.MERGEABLE


def test_type_tokens_name_the_api_versions_the_components_render():
    assert f"kubernetes:{mcp_servers.API_VERSION}:MCPServer" == kube.MCP_SERVER
    assert f"kubernetes:{mcp_servers.API_VERSION}:VirtualMCPServer" == kube.VIRTUAL_MCP_SERVER
    assert f"kubernetes:{mcp_servers.API_VERSION}:MCPToolConfig" == kube.MCP_TOOL_CONFIG
    assert f"kubernetes:{monitoring.MONITORING_API}:ServiceMonitor" == kube.SERVICE_MONITOR
    assert f"kubernetes:{secrets_layer.SEALED_API}:SealedSecret" == secrets.SEALED_SECRET
    assert f"kubernetes:{secrets_layer.EXTERNAL_API}:ExternalSecret" in secrets.EXTERNAL_SECRET_TYPES


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_mcp_server_service_and_labels_are_the_components_ones(name):
    service = plan.proxy_service(name)
    assert kube.proxy_service(name) == service
    assert kube.MCP_SERVICE.fullmatch(service)
    assert not kube.MCP_SERVICE.search(plan.backend_service(name))
    # The components select the operator's pods with these labels; the pack models the
    # pods' labels: every selected label must be on the pods as the pack sees them.
    assert plan.proxy_selector(name).items() <= kube.proxy_pod_labels(name).items()
    assert plan.backend_selector(name).items() <= kube.backend_pod_labels(name).items()


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_vmcp_service_port_and_labels_are_the_components_ones(name):
    assert kube.vmcp_service(name) == plan.vmcp_service(name)
    assert kube.MCP_SERVICE.fullmatch(plan.vmcp_service(name))
    assert kube.vmcp_pod_labels(name) == plan.vmcp_selector(name)
    assert stack.VMCP_PORT == kube.VMCP_PORT == plan.VMCP_PORT


def test_default_deny_defaults_are_the_components_ones():
    [podless] = network.DEFAULT_DENY_CONFIG["podlessCharts"]["default"]
    assert podless == versions.TOOLHIVE_OPERATOR_CRDS.chart.rsplit("/", 1)[-1]
    # Exempt because the Sealed Secrets controller lives there by default (kubeseal's default).
    exempt = network.DEFAULT_DENY_CONFIG["exemptNamespaces"]["default"]
    assert exempt == [SealedSecretsConfig.model_fields["controller_namespace"].default]


def test_registry_default_is_toolhive_and_the_default_images_registry():
    """The schema default admits exactly the ToolHive images and the project's own."""
    allowed = workloads.REGISTRY_CONFIG["allowedRegistries"]["default"]
    toolhive, own = allowed
    assert own == ImagesConfig.model_fields["registry"].default
    for image in versions.TOOLHIVE_IMAGES.values():
        assert kube.registry_allowed(kube.parse_image(image.ref), [toolhive]), image


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_metrics_services_cover_the_monitoring_services(path):
    patterns = reconcile(ALL_POLICIES, load_policy_config(path))["route-no-metrics"].properties["metricsServices"]
    assert kube.MCP_SERVICE.pattern in patterns
    assert any(re.search(p, monitoring.PROMETHEUS_SERVICE) for p in patterns)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_grafana_left_out_of_metrics_services_because_its_metrics_are_off(path, stack_runs):
    """The shipped config drops Grafana from metricsServices (the policy's remediation);
    that is right only while the stack switches Grafana's own /metrics off."""
    patterns = reconcile(ALL_POLICIES, load_policy_config(path))["route-no-metrics"].properties["metricsServices"]
    assert not any(re.search(p, monitoring.GRAFANA_SERVICE) for p in patterns)
    [kps] = [
        r
        for r in stack_runs[path.stem].of_type(kube.HELM_RELEASE)
        if r.inputs.get("chart") == versions.KUBE_PROMETHEUS_STACK.chart
    ]
    assert kps.inputs["values"]["grafana"]["grafana.ini"]["metrics"] == {"enabled": False}
