"""Every ServiceMonitor of a chart-made Service selects that Service and names one of its ports.

The charts' Services are not rendered offline, so their names, labels and port names are
recorded here from each chart's templates at the pinned version (cited per entry). A
ServiceMonitor that selects nothing, or names a port the Service lacks, scrapes nothing
and raises no error: the alerts built on those series can never fire. A pin bump fails
`test_facts_are_for_the_pinned_charts` until the entries are read again at the new tag.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from components import versions
from components.versions import ChartPin
from tests.conftest import STACKS


@dataclass(frozen=True)
class ChartService:
    pin: ChartPin
    release: str  # the Service is in this release's namespace
    labels: dict[str, str]  # on the Service's metadata (those that do not depend on the chart version)
    ports: dict[str, int]  # name -> port
    source: str


CHART_SERVICES = [
    ChartService(
        versions.CERT_MANAGER,
        "cert-manager",
        {
            "app": "cert-manager",
            "app.kubernetes.io/name": "cert-manager",
            "app.kubernetes.io/instance": "cert-manager",
            "app.kubernetes.io/component": "controller",
        },
        {"http-metrics": 9402},
        "cert-manager/cert-manager v1.21.1 deploy/charts/cert-manager/templates/service.yaml",
    ),
    ChartService(
        versions.NGINX_INGRESS,
        "nginx-ingress",
        {
            "app.kubernetes.io/name": "nginx-ingress",
            "app.kubernetes.io/instance": "nginx-ingress",
            "service": "nginx-ingress-prometheus-service",  # values.yaml prometheus.service.labels
        },
        {"prometheus": 9113},
        "nginx/kubernetes-ingress v5.5.4 charts/nginx-ingress/templates/controller-prometheus-service.yaml",
    ),
    ChartService(
        versions.OTEL_COLLECTOR,
        "otel-collector",
        {
            "app.kubernetes.io/name": "opentelemetry-collector",
            "app.kubernetes.io/instance": "otel-collector",
            "app.kubernetes.io/component": "standalone-collector",
            "component": "standalone-collector",
        },
        # One port per enabled `ports` entry, named by its key (_config.tpl servicePortsConfig).
        {"otlp": 4317, "otlp-http": 4318, "metrics": 8888},
        "open-telemetry/opentelemetry-helm-charts opentelemetry-collector-0.170.0 templates/service.yaml, _helpers.tpl",
    ),
    ChartService(
        versions.JAEGER,
        "jaeger",
        {
            "app.kubernetes.io/name": "jaeger",
            "app.kubernetes.io/instance": "jaeger",
            "app.kubernetes.io/component": "all-in-one",
        },
        {"otlp-grpc": 4317, "otlp-http": 4318, "http-query": 16686, "grpc-query": 16685, "internal-metrics": 8888},
        "jaegertracing/helm-charts jaeger-4.11.1 charts/jaeger/templates/jaeger/jaeger-service.yaml",
    ),
]
CHECKED_VERSIONS = {
    "cert-manager": "v1.21.1",
    "nginx-ingress": "2.6.4",
    "opentelemetry-collector": "0.170.0",
    "jaeger": "4.11.1",
}


def _chart_name(pin: ChartPin) -> str:
    return pin.chart.rsplit("/", 1)[-1]


def test_facts_are_for_the_pinned_charts():
    for service in CHART_SERVICES:
        assert service.pin.version == CHECKED_VERSIONS[_chart_name(service.pin)], (
            f"{_chart_name(service.pin)} is pinned at {service.pin.version}: read {service.source} at that tag "
            "and update CHART_SERVICES"
        )


def _selected(monitor: dict, service: ChartService, namespace: str) -> bool:
    spec = monitor["spec"]
    wanted = spec["selector"].get("matchLabels", {})
    return namespace in spec["namespaceSelector"]["matchNames"] and wanted.items() <= service.labels.items()


@pytest.mark.parametrize("stack", STACKS)
def test_every_chart_service_is_scraped_on_a_port_it_has(stack_runs, stack):
    run = stack_runs[stack]
    monitors = [o for o in run.objects() if o["kind"] == "ServiceMonitor"]
    namespaces = {r["name"]: r["namespace"] for r in run.releases()}
    assert {s.release for s in CHART_SERVICES} & set(namespaces)
    for service in CHART_SERVICES:
        if service.release not in namespaces:  # not installed with this stack's config
            continue
        selecting = [m for m in monitors if _selected(m, service, namespaces[service.release])]
        assert len(selecting) == 1, f"{_chart_name(service.pin)}: {len(selecting)} ServiceMonitors select it"
        [monitor] = selecting
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in service.ports, (
                f"ServiceMonitor {monitor['metadata']['name']} scrapes port {endpoint['port']!r}, but the chart's "
                f"Service has only {sorted(service.ports)} ({service.source})"
            )
