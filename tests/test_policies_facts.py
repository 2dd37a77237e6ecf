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
from components.config import NetworkConfig, SealedSecretsConfig
from offline.policy_run import CONFIG_DIR, load_policy_config, reconcile, stack_config
from policies.mcp_policies import (
    ALL_POLICIES,
    codeexec,
    edge,
    edge_security,
    exposure,
    isolation,
    kube,
    mcp,
    network,
    rbac,
    secrets,
    stack,
    workloads,
)

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


def test_registry_default_is_toolhive_and_the_stack_declares_its_own():
    """The schema default admits exactly the ToolHive images; the stack's own registry is
    declared on its MCP namespace under the annotation the pack reads."""
    (toolhive,) = workloads.REGISTRY_CONFIG["allowedRegistries"]["default"]
    for image in versions.TOOLHIVE_IMAGES.values():
        assert kube.registry_allowed(kube.parse_image(image), [toolhive]), image
    assert kube.IMAGE_REGISTRY_ANNOTATION == mcp_servers.IMAGE_REGISTRY_ANNOTATION


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_mcp_namespace_declares_the_stacks_registry(stack, stack_runs):
    run = stack_runs[stack]
    namespaces = workloads.declared_registries([r for r in _policy_resources(run) if r.resource_type == kube.NAMESPACE])
    config = stack_config(stack)
    assert namespaces == {config.mcp.namespace: config.images.registry}


def _policy_resources(run):
    from tests.policy_support import resource

    return [resource(r.type, r.inputs, r.name) for r in run.resources if r.type == kube.NAMESPACE]


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


def test_code_execution_facts_are_the_catalogs():
    """The pack recognises code execution by image: one entry per image the project
    builds, listing exactly the catalog server's code tools."""
    expected = {versions.SERVER_IMAGES[spec.built_image].repository: list(spec.code_tools) for spec in CATALOG.values()}
    assert expected == codeexec.SERVER_IMAGE_CODE_TOOLS
    for policy in (mcp.CODE_EXECUTION_REQUIRES_OIDC, isolation.CODE_EXECUTION_NO_PUBLIC_EGRESS):
        assert policy.config_schema.properties["serverImages"]["default"] == expected


def test_edge_and_chart_facts_are_the_components_ones(run):
    # The edge controller charts and where their values put the controller's own Service.
    nic = run("prod", **{"edge.service_type": "NodePort"}).release("nginx-ingress").inputs
    assert kube.chart_name(nic) in exposure.EDGE_CONTROLLER_SERVICES
    path = exposure.EDGE_CONTROLLER_SERVICES[kube.chart_name(nic)].split(".")
    assert kube.get(nic["values"], *path, "type") == "NodePort"
    ngf = run("prod", **{"edge.controller": "gateway-api"}).release("nginx-gateway-fabric").inputs
    path = exposure.EDGE_CONTROLLER_SERVICES[kube.chart_name(ngf)].split(".")
    assert kube.get(ngf["values"], *path, "type") == "LoadBalancer"
    assert set(isolation.BREADTH_CONFIG["edgeControllerCharts"]["default"]) == set(exposure.EDGE_CONTROLLER_SERVICES)
    # The ToolHive operator chart and the Sealed Secrets chart, as versions.py pins them.
    assert versions.TOOLHIVE_OPERATOR.chart.rsplit("/", 1)[-1] == rbac.OPERATOR_CHART
    assert set(exposure.SYSTEM_CONFIG["allowedCharts"]["default"]) == {versions.SEALED_SECRETS.chart}
    # Let's Encrypt production, as the edge's ClusterIssuer names it.
    assert edge_plan.ACME_SERVERS["production"] == edge_security.LETS_ENCRYPT_PRODUCTION


def test_private_ranges_cover_the_programs():
    """What the pack calls private covers every range the program excepts from internet egress."""
    default = isolation.EGRESS_CONFIG["privateCidrs"]["default"]
    assert set(NetworkConfig.model_fields["private_cidrs"].default) <= set(default)
