"""Every container a chart runs gets requests and limits, and a read-only root where the
chart lets us set it.

The charts are not rendered offline, so each container is listed with the values path
its template reads its resources from (templates cited per chart, at the pinned tag).
A container the chart runs without resources has no limit on what it takes from its
node, and schedules as if it took nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import STACKS

# release -> container(s) -> values path of its `resources`.
CHART_CONTAINERS: dict[str, dict[str, str]] = {
    # cert-manager v1.21.1 templates/{deployment,webhook-deployment,cainjector-deployment,startupapicheck-job}.yaml
    "cert-manager": {
        "controller": "resources",
        "webhook": "webhook.resources",
        "cainjector": "cainjector.resources",
        "startupapicheck (post-install hook Job)": "startupapicheck.resources",
    },
    "godaddy-webhook": {"godaddy-webhook": "resources"},  # templates/deployment.yaml
    "sealed-secrets": {"controller": "resources"},  # helm/sealed-secrets templates/deployment.yaml
    # nginx/kubernetes-ingress v5.5.4 templates/controller-deployment.yaml: the init
    # container that copies /etc/nginx exists because the root filesystem is read-only.
    "nginx-ingress": {"controller": "controller.resources", "init-nginx-ingress": "controller.initContainerResources"},
    "toolhive-operator": {"manager": "operator.resources"},  # deploy/charts/operator/templates/deployment.yaml
    "otel-collector": {"opentelemetry-collector": "resources"},  # templates/_pod.tpl
    "jaeger": {"jaeger": "jaeger.resources"},  # templates/jaeger/jaeger-deploy.yaml
    # nginx/nginx-gateway-fabric v2.6.7 templates/deployment.yaml; the data plane's size goes
    # into the NginxProxy (templates/nginxproxy.yaml). Its pre-install cert-generator Job
    # (templates/certs-job.yaml) takes no resources value: the one chart container left unsized.
    "nginx-gateway-fabric": {"control plane": "nginxGateway.resources", "nginx": "nginx.container.resources"},
    # external-secrets helm-chart-2.9.0 templates/{deployment,webhook-deployment,cert-controller-deployment}.yaml
    "external-secrets": {
        "controller": "resources",
        "webhook": "webhook.resources",
        "cert-controller": "certController.resources",
    },
    "external-dns": {"external-dns": "resources"},  # external-dns-helm-chart-1.21.1 templates/deployment.yaml
    "kube-prometheus-stack": {
        # templates/prometheus-operator/deployment.yaml; the reloader sizes become flags of it
        "prometheus-operator": "prometheusOperator.resources",
        "config-reloader (Prometheus and Alertmanager pods)": "prometheusOperator.prometheusConfigReloader.resources",
        # templates/prometheus-operator/admission-webhooks/job-patch/job-{createSecret,patchWebhook}.yaml
        "admission create and patch (pre/post-install hook Jobs)": "prometheusOperator.admissionWebhooks.patch.resources",
        "prometheus": "prometheus.prometheusSpec.resources",
        "alertmanager": "alertmanager.alertmanagerSpec.resources",
        # grafana 12.11.1 templates/_pod.tpl: one block for the dashboards and datasources sidecars
        "grafana": "grafana.resources",
        "grafana-sc-dashboard, grafana-sc-datasources": "grafana.sidecar.resources",
        "kube-state-metrics": "kube-state-metrics.resources",  # kube-state-metrics 8.4.0 templates/deployment.yaml
    },
}


def _at(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


CRD_ONLY = {"toolhive-operator-crds"}  # CustomResourceDefinitions, no pods


def _unsized(run) -> list[str]:
    releases = {r["name"]: r["values"] for r in run.releases()}
    unlisted = sorted(set(releases) - set(CHART_CONTAINERS) - CRD_ONLY)
    assert not unlisted, f"releases {unlisted} are not in CHART_CONTAINERS: list their containers"
    missing = []
    for release, containers in CHART_CONTAINERS.items():
        if release not in releases:
            continue
        for container, path in containers.items():
            resources = _at(releases[release], path) or {}
            for kind in ("requests", "limits"):
                for quantity in ("cpu", "memory"):
                    if not (resources.get(kind) or {}).get(quantity):
                        missing.append(f"{release} {container} ({path}.{kind}.{quantity})")
    return missing


@pytest.mark.parametrize("stack", STACKS)
def test_every_chart_container_has_requests_and_limits(stack_runs, stack):
    assert _unsized(stack_runs[stack]) == []


def test_the_optional_charts_size_their_containers_too(run):
    """NGINX Gateway Fabric, External Secrets and external-dns, which the shipped stacks
    leave out (a fixture configuration with all three)."""
    from tests.test_secrets import backend_overrides

    result = run(
        "prod",
        {**backend_overrides("external"), "edge": {"controller": "gateway-api"}, "dns": {"manage_records": True}},
    )
    names = {r["name"] for r in result.releases()}
    assert {"nginx-gateway-fabric", "external-secrets", "external-dns"} <= names
    assert _unsized(result) == []


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_and_its_sidecars_run_on_a_read_only_root(stack_runs, stack):
    grafana = stack_runs[stack].release("kube-prometheus-stack").inputs["values"]["grafana"]
    assert grafana["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    assert grafana["sidecar"]["securityContext"]["readOnlyRootFilesystem"] is True
    # What Grafana writes outside the chart's own volumes (data, search, provisioning).
    assert {m["mountPath"] for m in grafana["extraEmptyDirMounts"]} == {"/tmp", "/var/log/grafana"}
    assert grafana["initChownData"] == {"enabled": False}  # a root container, with CHOWN


@pytest.mark.parametrize("stack", STACKS)
def test_the_config_reloaders_get_the_probes_the_chart_offers(stack_runs, stack):
    operator = stack_runs[stack].release("kube-prometheus-stack").inputs["values"]["prometheusOperator"]
    # values.yaml: "add prometheus config reloader liveness and readiness probe. Default: false"
    assert operator["prometheusConfigReloader"]["enableProbe"] is True
