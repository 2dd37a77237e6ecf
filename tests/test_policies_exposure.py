"""Exposure, Pod Security labels and system namespaces: each rule with a violating
resource caught and its correct twin passing."""

from __future__ import annotations

from typing import Any

import pytest

from components.k8s import PART_OF
from policies.mcp_policies import exposure, kube
from tests.policy_support import container, deployment, helm, mcpserver, violations, vmcp

NIC = "oci://ghcr.io/nginx/charts/nginx-ingress"
NGF = "oci://ghcr.io/nginx/charts/nginx-gateway-fabric"


def service(kind: str = "ClusterIP", **spec: Any) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"type": kind, "selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }


# ---------------------------------------------------------------------------
# service-not-exposed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["LoadBalancer", "NodePort"])
def test_an_external_service_is_caught(kind):
    found = violations(exposure.SERVICE_NOT_EXPOSED, kube.SERVICE, service(kind))
    assert found == [f"Service apps/web is of type {kind}: reachable from outside the cluster"]
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.SERVICE, service()) == []


def test_external_ips_and_a_listed_exception():
    found = violations(exposure.SERVICE_NOT_EXPOSED, kube.SERVICE, service(externalIPs=["198.51.100.7"]))
    assert found == ["Service apps/web sets externalIPs ['198.51.100.7']"]
    config = {"exposedServices": {"apps/web": "the legacy TCP endpoint partners call directly"}}
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.SERVICE, service("LoadBalancer"), config) == []


def test_host_ports_are_caught_in_pods_and_chart_values():
    pod = deployment(container(ports=[{"containerPort": 8080, "hostPort": 8080}]))
    found = violations(exposure.SERVICE_NOT_EXPOSED, "kubernetes:apps/v1:Deployment", pod)
    assert found == ["Deployment apps/web container 'app' binds hostPort 8080"]
    no_host = deployment(container(ports=[{"containerPort": 8080}]))
    assert violations(exposure.SERVICE_NOT_EXPOSED, "kubernetes:apps/v1:Deployment", no_host) == []
    nic = helm({"controller": {"hostPort": {"enable": True, "http": 80, "https": 443}}}, chart=NIC)
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.HELM_RELEASE, nic) == [
        "Helm release edge/rel values controller.hostPort: opens a host port"
    ]
    off = helm({"controller": {"hostPort": {"enable": False, "http": 80}}}, chart=NIC)
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.HELM_RELEASE, off) == []
    sealed = helm({"hostPorts": {"http": 8080, "metrics": ""}}, chart="sealed-secrets")
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.HELM_RELEASE, sealed) == [
        "Helm release edge/rel values hostPorts: opens a host port"
    ]


@pytest.mark.parametrize(("chart", "path"), [(NIC, ("controller", "service")), (NGF, ("nginx", "service"))])
def test_only_the_edge_controller_own_service_may_face_the_internet(chart, path):
    values: dict[str, Any] = {}
    node = values
    for key in path:
        node = node.setdefault(key, {})
    node.update({"type": "LoadBalancer", "externalIPs": ["198.51.100.7"]})
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.HELM_RELEASE, helm(values, chart=chart)) == []
    # The same values in any other chart expose a Service the edge does not guard.
    found = violations(exposure.SERVICE_NOT_EXPOSED, kube.HELM_RELEASE, helm(values, chart="grafana"))
    dotted = ".".join(path)
    assert found == [
        f"Helm release edge/rel values {dotted}.type: LoadBalancer exposes a Service outside the cluster",
        f"Helm release edge/rel values {dotted}.externalIPs: ['198.51.100.7'] expose a Service on those addresses",
    ]
    # And another Service of the edge chart is not its controller Service.
    other = helm({"prometheus": {"service": {"type": "NodePort"}}}, chart=chart)
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.HELM_RELEASE, other) == [
        "Helm release edge/rel values prometheus.service.type: NodePort exposes a Service outside the cluster"
    ]


def test_a_vmcp_service_type_is_caught():
    found = violations(exposure.SERVICE_NOT_EXPOSED, kube.VIRTUAL_MCP_SERVER, vmcp(serviceType="LoadBalancer"))
    assert found == ["VirtualMCPServer data-science/gov-data asks for a LoadBalancer Service (spec.serviceType)"]
    assert violations(exposure.SERVICE_NOT_EXPOSED, kube.VIRTUAL_MCP_SERVER, vmcp()) == []


# ---------------------------------------------------------------------------
# namespace-pod-security
# ---------------------------------------------------------------------------


def namespace(name: str = "apps", **levels: str) -> dict:
    labels = {"app.kubernetes.io/part-of": PART_OF}
    labels |= {f"pod-security.kubernetes.io/{mode}": level for mode, level in levels.items()}
    return {"metadata": {"name": name, "labels": labels}}


RESTRICTED = {"enforce": "restricted", "audit": "restricted", "warn": "restricted"}


def test_a_namespace_without_pod_security_labels_is_caught():
    found = violations(exposure.NAMESPACE_POD_SECURITY, exposure.NAMESPACE, namespace())
    assert found == [
        "Namespace apps: pod-security.kubernetes.io/enforce is unset, expected restricted or stricter",
        "Namespace apps: pod-security.kubernetes.io/audit is unset, expected restricted or stricter",
        "Namespace apps: pod-security.kubernetes.io/warn is unset, expected restricted or stricter",
    ]
    assert violations(exposure.NAMESPACE_POD_SECURITY, exposure.NAMESPACE, namespace(**RESTRICTED)) == []


def test_a_looser_level_needs_a_written_exception():
    baseline = namespace("cert-manager", enforce="baseline", audit="restricted", warn="restricted")
    found = violations(exposure.NAMESPACE_POD_SECURITY, exposure.NAMESPACE, baseline)
    assert found == [
        "Namespace cert-manager: pod-security.kubernetes.io/enforce is baseline, expected restricted or stricter"
    ]
    exception = {
        "podSecurityExceptions": {"cert-manager": {"level": "baseline", "reason": "a chart without hardening"}}
    }
    assert violations(exposure.NAMESPACE_POD_SECURITY, exposure.NAMESPACE, baseline, exception) == []
    # An exception is a floor, not a demand: a stricter namespace still passes.
    strict = namespace("cert-manager", **RESTRICTED)
    assert violations(exposure.NAMESPACE_POD_SECURITY, exposure.NAMESPACE, strict, exception) == []
    # And it allows no looser than its level.
    privileged = namespace("cert-manager", enforce="privileged", audit="baseline", warn="baseline")
    assert violations(exposure.NAMESPACE_POD_SECURITY, exposure.NAMESPACE, privileged, exception) == [
        "Namespace cert-manager: pod-security.kubernetes.io/enforce is privileged, expected baseline or stricter"
    ]


# ---------------------------------------------------------------------------
# workload-not-in-system-namespace
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("system", ["kube-system", "kube-public", "default"])
def test_a_workload_in_a_system_namespace_is_caught(system):
    web = deployment()
    web["metadata"]["namespace"] = system
    found = violations(exposure.WORKLOAD_NOT_IN_SYSTEM_NAMESPACE, "kubernetes:apps/v1:Deployment", web)
    assert found == [f"Deployment {system}/web runs in system namespace {system}"]
    own = deployment()
    assert violations(exposure.WORKLOAD_NOT_IN_SYSTEM_NAMESPACE, "kubernetes:apps/v1:Deployment", own) == []


def test_a_workload_without_a_namespace_lands_in_default():
    server = mcpserver()
    del server["metadata"]["namespace"]
    found = violations(exposure.WORKLOAD_NOT_IN_SYSTEM_NAMESPACE, kube.MCP_SERVER, server)
    assert found == ["MCPServer pandas runs in system namespace default"]


def test_only_the_sealed_secrets_chart_may_run_in_kube_system():
    sealed = helm({}, name="sealed-secrets", chart="sealed-secrets")
    sealed["namespace"] = "kube-system"
    assert violations(exposure.WORKLOAD_NOT_IN_SYSTEM_NAMESPACE, kube.HELM_RELEASE, sealed) == []
    other = helm({}, name="external-dns", chart="external-dns")
    other["namespace"] = "kube-system"
    assert violations(exposure.WORKLOAD_NOT_IN_SYSTEM_NAMESPACE, kube.HELM_RELEASE, other) == [
        "Helm release kube-system/external-dns installs chart external-dns into system namespace kube-system"
    ]
