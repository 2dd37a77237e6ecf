"""MonitoringStack: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), an
OpenTelemetry Collector and Jaeger v2, with the MCP dashboards, alerts and scraping.

Flow of telemetry:
- Prometheus scrapes every `ScrapeTarget` through one ServiceMonitor each (ToolHive
  proxies `/metrics` on their `http` port, the operator, the edge, cert-manager, the
  collector and Jaeger) plus what kube-prometheus-stack scrapes itself (kubelet/cAdvisor,
  kube-state-metrics, the API server, CoreDNS).
- The MCP proxies send traces over OTLP/HTTP to the collector (`telemetry_target`),
  which forwards them to Jaeger v2 over OTLP/gRPC. Metrics have exactly one path, the
  scrape of each proxy's `/metrics`: the MCPTelemetryConfig pushes no OTLP metrics
  (`mcp_servers.telemetry_spec`), so the collector runs a traces pipeline only.
- Grafana reads Prometheus and Jaeger; its dashboards are JSON files in `dashboards/`,
  loaded by the dashboard sidecar from labelled ConfigMaps.

With `monitoring.install_stack: false` a monitoring stack someone else installed runs in
`monitoring.namespace` (a Prometheus operator, Grafana's dashboard sidecar, an OTLP/HTTP
collector Service): the namespace is not ours, so no chart, NetworkPolicy or Secret goes
there; only the ServiceMonitors, the alert rules and the dashboards, after the check that
the cluster serves their API and the collector Service takes OTLP/HTTP
(components/existing.py).

Chart facts (values keys, names, labels) are cited where used. The functions above the
component are pure: other components and the tests call them without Pulumi.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_random as random

from components import existing, netpol, versions
from components.config import MonitoringConfig, StackConfig
from components.contracts import CredentialSpec, ScrapeTarget, SecretRef, TelemetryTarget, WebRoute
from components.edge import controller_pod_selector
from components.helm import helm_release
from components.image_pins import ImagePins
from components.k8s import KubernetesObject, container_security_context, labels, owner_labels, restricted_namespace
from components.monitoring_rules import prometheus_rule_spec

TYPE = "mcp-datascience:index:MonitoringStack"
MONITORING_API = "monitoring.coreos.com/v1"
# Beside the components, so every copy of the program (offline bench, render tests) has them.
DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
DASHBOARD_FOLDER = "MCP"

# The policy pack exempts Secrets with exactly this annotation from "no literal data".
GENERATED_BY = {"mcp-datascience.finetunings.ai/generated-by": "pulumi-random"}

# --- kube-prometheus-stack 88.5.3 -------------------------------------------------------
KPS_RELEASE = "kube-prometheus-stack"
# Grafana subchart Service `<release>-grafana` (grafana chart `grafana.fullname`). Its port
# is set to the container port 3000 (`grafana.service.port`), so that Service port and
# pod port agree: NetworkPolicies see the pod port, the edge routes to the Service port.
GRAFANA_SERVICE = f"{KPS_RELEASE}-grafana"
GRAFANA_PORT = 3000
# `kube-prometheus-stack.fullname`-prometheus: the policy pack's metricsServices must cover it.
PROMETHEUS_SERVICE = f"{KPS_RELEASE}-prometheus"
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
ALERTMANAGER_CLUSTER_PORT = 9094
RELOADER_PORT = 8080  # prometheus-config-reloader metrics (operator-managed sidecar)
OPERATOR_PORT = 10250  # prometheusOperator.tls.internalPort (webhook + metrics, HTTPS)
KSM_PORTS = (8080, 8081)  # kube-state-metrics http + telemetry
# Pods created by prometheus-operator carry app.kubernetes.io/name=prometheus|alertmanager.
PROMETHEUS_PODS = {"app.kubernetes.io/name": "prometheus"}
ALERTMANAGER_PODS = {"app.kubernetes.io/name": "alertmanager"}
GRAFANA_PODS = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": KPS_RELEASE}
# templates/prometheus-operator/networkpolicy.yaml selects the operator by these labels.
OPERATOR_PODS = {"app": f"{KPS_RELEASE}-operator", "release": KPS_RELEASE}
KSM_PODS = {"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": KPS_RELEASE}
# Containers the charts leave without resources, sized here: Grafana's k8s-sidecar
# (Python, holds every dashboard it syncs), the config reloaders (small Go binaries) and
# the admission-webhook certificate Jobs (run for seconds per install or upgrade).
SIDECAR_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
RELOADER_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}
HOOK_JOB_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
READ_ONLY_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

# --- opentelemetry-collector 0.170.0 ----------------------------------------------------
COLLECTOR_RELEASE = "otel-collector"
# `fullnameOverride` names the Service (templates/service.yaml: opentelemetry-collector.fullname).
COLLECTOR_SERVICE = "otel-collector"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
COLLECTOR_METRICS_PORT = 8888  # the collector's own telemetry (chart `ports.metrics`)
# _helpers.tpl selectorLabels + component (mode deployment -> standalone-collector).
COLLECTOR_LABELS = {
    "app.kubernetes.io/name": "opentelemetry-collector",
    "app.kubernetes.io/instance": COLLECTOR_RELEASE,
    "component": "standalone-collector",
}
# The ServiceMonitor selects the Service by the chart's common labels only
# (`opentelemetry-collector.labels` = selectorLabels + helm labels, on every object). The
# `component` label is certain on the pods and in the Service's selector, but older chart
# templates leave it off the Service's own metadata, and a selector naming a label the
# Service lacks matches nothing, silently.
COLLECTOR_SERVICE_LABELS = {
    "app.kubernetes.io/name": "opentelemetry-collector",
    "app.kubernetes.io/instance": COLLECTOR_RELEASE,
}
COLLECTOR_UID = 10001  # user of the contrib image

# --- jaeger 4.11.1 (Jaeger v2, all-in-one Deployment) -------------------------------------
JAEGER_RELEASE = "jaeger"
# `jaeger.fullname` is the release name when it contains the chart name; the Service
# (templates/jaeger/jaeger-service.yaml) has http-query 16686, otlp-grpc 4317,
# internal-metrics 8888, selector = selectorLabels + component all-in-one.
JAEGER_SERVICE = "jaeger"
JAEGER_QUERY_PORT = 16686
JAEGER_METRICS_PORT = 8888
JAEGER_LABELS = {
    "app.kubernetes.io/name": "jaeger",
    "app.kubernetes.io/instance": JAEGER_RELEASE,
    "app.kubernetes.io/component": "all-in-one",
}
JAEGER_UID = 10001  # chart podSecurityContext default
# Grafana's Jaeger datasource; the dashboards' trace links name this uid (tests tie them).
JAEGER_DATASOURCE_UID = "jaeger"
JAEGER_PVC = "jaeger-badger"
BADGER_MOUNT = "/badger"


# ---------------------------------------------------------------------------
# What other components consume (pure)
# ---------------------------------------------------------------------------


def service_host(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.cluster.local"


def collector_service(mon: MonitoringConfig) -> str:
    """The collector Service the proxies send OTLP to: ours, or the existing stack's."""
    return COLLECTOR_SERVICE if mon.install_stack else mon.existing_collector_service


def telemetry_target(config: StackConfig) -> TelemetryTarget:
    """Where the MCP proxies send OTLP: the collector Service's OTLP/HTTP port."""
    mon = config.monitoring
    return TelemetryTarget(
        otlp_http_endpoint=f"{service_host(collector_service(mon), mon.namespace)}:{OTLP_HTTP_PORT}",
        sampling_rate=mon.sampling_rate,
    )


def create_namespaces(name: str, config: StackConfig) -> dict[str, pulumi.Resource]:
    """The namespace monitoring owns, by name: none when an existing monitoring stack runs
    there (`monitoring.install_stack: false`)."""
    mon = config.monitoring
    if not mon.install_stack:
        return {}
    return {
        mon.namespace: restricted_namespace(f"{name}-namespace", mon.namespace, "monitoring", pulumi.ResourceOptions())
    }


def web_routes(config: StackConfig) -> list[WebRoute]:
    """Grafana and the Jaeger UI on their own hosts (the edge publishes them only behind
    its allowlist). An existing monitoring stack's UIs are its installer's to publish."""
    ns = config.monitoring.namespace
    if not config.monitoring.install_stack:
        return []
    return [
        WebRoute("grafana", f"grafana.{config.domain}", ns, GRAFANA_SERVICE, GRAFANA_PORT),
        WebRoute("jaeger", f"jaeger.{config.domain}", ns, JAEGER_SERVICE, JAEGER_QUERY_PORT),
    ]


GRAFANA_ADMIN = "grafana-admin"
# The keys of the grafana-admin Secret (given or generated), named once.
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"
ALERTMANAGER_CONFIG = "alertmanager-config"
ALERTMANAGER_KEY = "alertmanager.yaml"  # the key the Alertmanager CRD reads (configSecret)


def credentials(config: StackConfig) -> list[CredentialSpec]:
    """The monitoring credentials. Both optional: without `grafana-admin` the stack
    generates a password (pulumi-random) into a Secret; without `alertmanager-config`
    Alertmanager runs the chart's default config, whose only receiver is `null`
    (alerts show in Alertmanager and Grafana but notify nobody). An existing monitoring
    stack reads neither: it has its own."""
    ns = config.monitoring.namespace
    if not config.monitoring.install_stack:
        return []
    return [
        CredentialSpec(
            id=GRAFANA_ADMIN,
            namespace=ns,
            secret_name=GRAFANA_ADMIN,
            keys=(GRAFANA_USER_KEY, GRAFANA_PASSWORD_KEY),
            purpose="Grafana admin login (grafana.admin.existingSecret); generated when not given",
            required=False,
        ),
        CredentialSpec(
            id=ALERTMANAGER_CONFIG,
            namespace=ns,
            secret_name=ALERTMANAGER_CONFIG,
            keys=(ALERTMANAGER_KEY,),
            purpose="Alertmanager configuration with the receivers (Slack, PagerDuty, mail); "
            "default: the chart's null receiver",
            required=False,
        ),
    ]


def own_scrape_targets(config: StackConfig) -> list[ScrapeTarget]:
    """This stack's own metrics endpoints (kube-prometheus-stack monitors itself; an
    existing stack's collector is its installer's to scrape)."""
    ns = config.monitoring.namespace
    if not config.monitoring.install_stack:
        return []
    return [
        ScrapeTarget(name=COLLECTOR_SERVICE, namespace=ns, selector=dict(COLLECTOR_SERVICE_LABELS), port="metrics"),
        ScrapeTarget(name=JAEGER_SERVICE, namespace=ns, selector=dict(JAEGER_LABELS), port="internal-metrics"),
    ]


# ---------------------------------------------------------------------------
# Objects (pure dicts)
# ---------------------------------------------------------------------------


def images(config: StackConfig) -> list[versions.Image]:
    """Every image the monitoring stack runs (components/images.py collects them)."""
    if not config.monitoring.install_stack:
        return []
    return [*versions.KUBE_PROMETHEUS_STACK_IMAGES.values(), versions.OTEL_COLLECTOR_IMAGE, versions.JAEGER_IMAGE]


def api_dependencies(config: StackConfig) -> list[existing.ApiDependency]:
    """What an existing monitoring stack must serve: the Prometheus operator's API."""
    if config.monitoring.install_stack:
        return []
    return [
        existing.ApiDependency(
            MONITORING_API,
            "monitoring.install_stack: false",
            f"the Prometheus operator (kube-prometheus-stack {versions.KUBE_PROMETHEUS_STACK.version} serves "
            f"{MONITORING_API})",
        )
    ]


def unique_targets(targets: Sequence[ScrapeTarget]) -> list[ScrapeTarget]:
    """Drop exact repeats; refuse two different targets with one ServiceMonitor name."""
    out: dict[str, ScrapeTarget] = {}
    for t in targets:
        old = out.get(t.name)
        if old is None:
            out[t.name] = t
        elif old != t:
            raise ValueError(f"two different scrape targets are both named {t.name!r}: {old} and {t}")
    return list(out.values())


def selected_labels(mon: MonitoringConfig) -> dict[str, str]:
    """Labels of the ServiceMonitors and the PrometheusRule: ours plus what the
    Prometheus selects them by (`monitoring.selector_labels`)."""
    return {**mon.selector_labels, **owner_labels("monitoring")}


def service_monitor(target: ScrapeTarget, mon: MonitoringConfig) -> dict[str, Any]:
    """One ServiceMonitor in the monitoring namespace for a Service anywhere."""
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": {"name": target.name, "namespace": mon.namespace, "labels": selected_labels(mon)},
        "spec": {
            "selector": {"matchLabels": dict(target.selector)},
            "namespaceSelector": {"matchNames": [target.namespace]},
            "endpoints": [
                {"port": target.port, "path": target.path, "interval": target.interval, "scheme": "http"},
            ],
        },
    }


def dashboard_files() -> dict[str, str]:
    """file name -> JSON text of every dashboard in dashboards/ (validated as JSON)."""
    out = {}
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        text = path.read_text()
        json.loads(text)
        out[path.name] = text
    if not out:
        raise FileNotFoundError(f"no dashboards in {DASHBOARD_DIR}")
    return out


def dashboard_config_maps(namespace: str) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard with the sidecar's label (`grafana_dashboard: "1"`)
    and folder annotation."""
    out = []
    for name, text in dashboard_files().items():
        stem = name.removesuffix(".json")
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"grafana-dashboard-{stem}",
                    "namespace": namespace,
                    "labels": {**labels(f"grafana-dashboard-{stem}", "monitoring"), "grafana_dashboard": "1"},
                    "annotations": {"grafana_folder": DASHBOARD_FOLDER},
                },
                "data": {name: text},
            }
        )
    return out


def _storage_claim(size: str, storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


def _pod_security(uid: int, gid: int | None = None) -> dict[str, Any]:
    gid = gid if gid is not None else uid
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "fsGroup": gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@dataclass(frozen=True)
class SecretChoice:
    """Which Secrets Grafana and Alertmanager read (names only)."""

    grafana_secret: str
    grafana_user_key: str
    grafana_password_key: str
    alertmanager_secret: str | None  # None: the chart's default config (null receiver)


def secret_choice(refs: Mapping[str, SecretRef]) -> SecretChoice:
    """Use the SecretsLayer's Secrets where provided; otherwise the generated Grafana
    Secret (same name) and no Alertmanager secret."""
    user = refs.get(f"{GRAFANA_ADMIN}/{GRAFANA_USER_KEY}")
    password = refs.get(f"{GRAFANA_ADMIN}/{GRAFANA_PASSWORD_KEY}")
    if (user is None) != (password is None):
        raise ValueError(f"{GRAFANA_ADMIN} must provide both {GRAFANA_USER_KEY} and {GRAFANA_PASSWORD_KEY}, or neither")
    if user and password and user.name != password.name:
        raise ValueError(f"grafana-admin keys are in two Secrets ({user.name}, {password.name}): use one")
    am = refs.get(f"{ALERTMANAGER_CONFIG}/{ALERTMANAGER_KEY}")
    if am is not None and am.key != ALERTMANAGER_KEY:
        raise ValueError(f"Alertmanager reads the key {ALERTMANAGER_KEY!r}, not {am.key!r}")
    return SecretChoice(
        grafana_secret=user.name if user else GRAFANA_ADMIN,
        grafana_user_key=user.key if user else GRAFANA_USER_KEY,
        grafana_password_key=password.key if password else GRAFANA_PASSWORD_KEY,
        alertmanager_secret=am.name if am else None,
    )


def kube_prometheus_stack_values(config: StackConfig, secrets: SecretChoice) -> dict[str, Any]:
    """kube-prometheus-stack 88.5.3 values (keys from its values.yaml and the grafana
    12.11.1 subchart; research/platform.md §5)."""
    mon = config.monitoring
    ns = mon.namespace
    pins = ImagePins(config.images.digests)
    kps = versions.KUBE_PROMETHEUS_STACK_IMAGES

    def image(name: str) -> dict[str, Any]:
        # kube-prometheus-stack and grafana templates write `registry/repository:tag@sha256:<sha>`
        # (templates/prometheus-operator/deployment.yaml, prometheus/prometheus.yaml,
        # alertmanager/alertmanager.yaml, admission-webhooks/job-patch/job-*.yaml; grafana
        # templates/_pod.tpl); kube-state-metrics writes `...:tag@<sha>` (its _helpers.tpl
        # "kube-state-metrics.image"), so its `sha` carries the `sha256:` prefix.
        style = "sha256" if name == "kube-state-metrics" else "sha"
        return pins.chart_image(kps[name], style, split_registry=True)

    prometheus_spec: dict[str, Any] = {
        "image": image("prometheus"),
        # Select ServiceMonitors, PodMonitors, rules, probes and scrape configs from every
        # namespace, not only those labelled release=<release> (templates/prometheus/prometheus.yaml).
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
        "scrapeConfigSelectorNilUsesHelmValues": False,
        "retention": mon.prometheus_retention,
        "retentionSize": mon.prometheus_retention_size,
        "resources": mon.prometheus_resources.as_k8s(),
        "securityContext": _pod_security(1000, 2000),
    }
    if mon.prometheus_storage:
        prometheus_spec["storageSpec"] = {
            "volumeClaimTemplate": {"spec": _storage_claim(mon.prometheus_storage, mon.storage_class)}
        }
    alertmanager_spec: dict[str, Any] = {
        "image": image("alertmanager"),
        "resources": mon.alertmanager_resources.as_k8s(),
        "securityContext": _pod_security(1000, 2000),
    }
    if mon.alertmanager_storage:
        alertmanager_spec["storage"] = {
            "volumeClaimTemplate": {"spec": _storage_claim(mon.alertmanager_storage, mon.storage_class)}
        }
    if secrets.alertmanager_secret:
        # The chart then renders no config Secret of its own; the Alertmanager CR reads
        # `alertmanager.yaml` from this Secret (Alertmanager CRD `configSecret`).
        alertmanager_spec["useExistingSecret"] = True
        alertmanager_spec["configSecret"] = secrets.alertmanager_secret
    grafana: dict[str, Any] = {
        "image": image("grafana"),
        "admin": {
            "existingSecret": secrets.grafana_secret,
            "userKey": secrets.grafana_user_key,
            "passwordKey": secrets.grafana_password_key,
        },
        "service": {"port": GRAFANA_PORT},
        "resources": mon.grafana_resources.as_k8s(),
        "securityContext": _pod_security(472),
        # Read-only root: Grafana writes only its data and search volumes, which the chart
        # mounts (grafana 12.11.1 templates/_pod.tpl), and /tmp and its log directory
        # (`paths.logs`), given emptyDirs here.
        "containerSecurityContext": READ_ONLY_CONTAINER,
        "extraEmptyDirMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "logs", "mountPath": "/var/log/grafana"},
        ],
        # Runs as root to chown a persistent volume; there is none (persistence off), set
        # explicitly so that a later `persistence.enabled` cannot bring a root container in.
        "initChownData": {"enabled": False},
        "testFramework": {"enabled": False},
        # Grafana serves its own /metrics on the UI port, unauthenticated, and the edge
        # publishes that port at '/' of grafana.<domain> (grafana.com docs, "Internal
        # Grafana metrics"): switched off, and with it the chart's ServiceMonitor.
        "serviceMonitor": {"enabled": False},
        "grafana.ini": {
            "metrics": {"enabled": False},
            "server": {"root_url": f"https://grafana.{config.domain}"},
            "analytics": {"check_for_updates": False, "reporting_enabled": False},
            "users": {"allow_sign_up": False},
        },
        "sidecar": {
            # One block for both sidecars (dashboards, datasources): _pod.tpl renders
            # sidecar.resources and sidecar.securityContext into each.
            "image": image("grafana-sidecar"),
            "resources": SIDECAR_RESOURCES,
            "securityContext": READ_ONLY_CONTAINER,
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard",
                "labelValue": "1",
                # The dashboards of this stack live in the monitoring namespace only.
                "searchNamespace": ns,
                "folderAnnotation": "grafana_folder",
                "provider": {"foldersFromFilesStructure": True},
            },
            "datasources": {
                "enabled": True,
                "defaultDatasourceEnabled": True,
                # Exemplars with a trace_id would open the trace in the Jaeger datasource.
                # Inert for now: Prometheus runs without `exemplar-storage` and no panel asks
                # for exemplars; the dashboards link latency panels to Jaeger explicitly.
                "exemplarTraceIdDestinations": {"datasourceUid": JAEGER_DATASOURCE_UID, "traceIdLabelName": "trace_id"},
            },
        },
        "additionalDataSources": [
            {
                "name": "Jaeger",
                "type": "jaeger",
                "uid": JAEGER_DATASOURCE_UID,
                "access": "proxy",
                "url": f"http://{service_host(JAEGER_SERVICE, ns)}:{JAEGER_QUERY_PORT}",
                "editable": False,
            }
        ],
    }
    return {
        "crds": {"enabled": True},
        # Managed control planes hide these components; scraping them only raises
        # TargetDown. node-exporter needs hostNetwork/hostPID/hostPath, which Pod Security
        # `restricted` (this namespace) refuses: container metrics come from cAdvisor.
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "nodeExporter": {"enabled": False},
        "prometheusOperator": {
            "image": image("prometheus-operator"),
            "resources": mon.operator_resources.as_k8s(),
            "securityContext": _pod_security(65534),
            "containerSecurityContext": READ_ONLY_CONTAINER,
            # The operator passes these to every config-reloader sidecar it adds to the
            # Prometheus and Alertmanager pods as --config-reloader-{cpu,memory}-{request,limit};
            # left unset they render as 0, i.e. no requests or limits (templates/prometheus-operator/deployment.yaml).
            # enableProbe: liveness and readiness probes on each reloader (off by default;
            # the deployment template passes --enable-config-reloader-probes=true).
            "prometheusConfigReloader": {
                "image": image("config-reloader"),
                "resources": RELOADER_RESOURCES,
                "enableProbe": True,
            },
            # The admission-webhook certificate Jobs (create, patch: Helm hooks) share these
            # (templates/prometheus-operator/admission-webhooks/job-patch/job-*.yaml).
            "admissionWebhooks": {"patch": {"image": image("admission-certgen"), "resources": HOOK_JOB_RESOURCES}},
        },
        "kube-state-metrics": {
            "image": image("kube-state-metrics"),
            "resources": mon.kube_state_metrics_resources.as_k8s(),
        },
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {"alertmanagerSpec": alertmanager_spec},
        "grafana": grafana,
    }


def collector_config(namespace: str) -> dict[str, Any]:
    """The whole collector configuration, passed as `alternateConfig`, which replaces the
    chart's default `config` instead of merging into it (a merge could only drop the
    default jaeger/zipkin receivers and debug exporter with nulls, and Pulumi drops nulls
    from values). OTLP in; traces to Jaeger over OTLP/gRPC. No metrics pipeline: the
    proxies push no metrics (Prometheus scrapes them), and a pipeline without a sender
    would only be a second, empty path. Listeners bind the pod IP, as the chart's
    defaults do (UPGRADING.md 0.46.0 -> 0.47.0)."""
    jaeger = f"{service_host(JAEGER_SERVICE, namespace)}:{OTLP_GRPC_PORT}"
    pod_ip = "${env:MY_POD_IP}"
    processors = ["memory_limiter", "batch"]
    return {
        # The chart's liveness and readiness probes call health_check on 13133.
        "extensions": {"health_check": {"endpoint": f"{pod_ip}:13133"}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"{pod_ip}:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"{pod_ip}:{OTLP_HTTP_PORT}"},
                }
            },
        },
        "processors": {
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {},
        },
        "exporters": {
            # In-cluster plaintext; the NetworkPolicies confine who reaches Jaeger.
            "otlp/jaeger": {"endpoint": jaeger, "tls": {"insecure": True}},
        },
        "service": {
            "extensions": ["health_check"],
            "telemetry": {
                "metrics": {
                    "readers": [
                        {"pull": {"exporter": {"prometheus": {"host": pod_ip, "port": COLLECTOR_METRICS_PORT}}}}
                    ]
                }
            },
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": processors, "exporters": ["otlp/jaeger"]},
            },
        },
    }


def collector_values(mon: MonitoringConfig, pins: ImagePins) -> dict[str, Any]:
    """opentelemetry-collector 0.170.0 values: `mode` and the image are required
    (no chart default). The image takes `digest` (templates/_pod.tpl: `repository@digest`)."""
    tcp = {"protocol": "TCP"}
    return {
        "mode": "deployment",
        "fullnameOverride": COLLECTOR_SERVICE,
        "image": pins.chart_image(versions.OTEL_COLLECTOR_IMAGE, "digest"),
        "command": {"name": versions.OTEL_COLLECTOR_COMMAND},
        "replicaCount": 1,
        "resources": mon.collector_resources.as_k8s(),
        "podSecurityContext": _pod_security(COLLECTOR_UID),
        "securityContext": container_security_context(COLLECTOR_UID),
        "ports": {
            "otlp": {"enabled": True, "containerPort": OTLP_GRPC_PORT, "servicePort": OTLP_GRPC_PORT, **tcp},
            "otlp-http": {"enabled": True, "containerPort": OTLP_HTTP_PORT, "servicePort": OTLP_HTTP_PORT, **tcp},
            "jaeger-compact": {"enabled": False},
            "jaeger-thrift": {"enabled": False},
            "jaeger-grpc": {"enabled": False},
            "zipkin": {"enabled": False},
            "metrics": {
                "enabled": True,
                "containerPort": COLLECTOR_METRICS_PORT,
                "servicePort": COLLECTOR_METRICS_PORT,
                **tcp,
            },
        },
        "alternateConfig": collector_config(mon.namespace),
    }


def jaeger_config(mon: MonitoringConfig) -> dict[str, Any]:
    """Jaeger v2 configuration (`userconfig`: the chart mounts it and passes --config).
    Storage: `memory` (lost on restart) or `badger` on the PVC, with a span TTL."""
    if mon.jaeger_storage == "badger":
        backend = {
            "badger": {
                "directories": {"keys": f"{BADGER_MOUNT}/keys", "values": f"{BADGER_MOUNT}/values"},
                "ephemeral": False,
                "ttl": {"spans": mon.jaeger_retention},
            }
        }
    else:
        backend = {"memory": {"max_traces": mon.jaeger_max_traces}}
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]}
            },
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {
                    "level": "detailed",
                    "readers": [
                        {"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": JAEGER_METRICS_PORT}}}}
                    ],
                },
            },
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": "0.0.0.0:13133"}},
            "jaeger_query": {
                "storage": {"traces": "primary_store"},
                "http": {"endpoint": f"0.0.0.0:{JAEGER_QUERY_PORT}"},
                "grpc": {"endpoint": "0.0.0.0:16685"},
            },
            "jaeger_storage": {"backends": {"primary_store": backend}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "primary_store"}},
    }


def jaeger_values(mon: MonitoringConfig, pins: ImagePins) -> dict[str, Any]:
    """jaeger 4.11.1 values (`jaeger.*` of the v2 all-in-one Deployment, `userconfig`).
    The image takes `digest` (bitnami common's "common.images.image": `registry/repository@digest`)."""
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if mon.jaeger_storage == "badger":
        volumes.append({"name": "badger", "persistentVolumeClaim": {"claimName": JAEGER_PVC}})
        mounts.append({"name": "badger", "mountPath": BADGER_MOUNT})
    return {
        "jaeger": {
            "image": pins.chart_image(versions.JAEGER_IMAGE, "digest", split_registry=True),
            "resources": mon.jaeger_resources.as_k8s(),
            "podSecurityContext": _pod_security(JAEGER_UID),
            "securityContext": container_security_context(JAEGER_UID),
            "serviceAccount": {"automountServiceAccountToken": False},
            # `jaeger.extraVolumes`/`extraVolumeMounts` exist from chart 4.11.1 on
            # (jaegertracing/helm-charts#761, "Chart.yaml version bumped 4.11.0 -> 4.11.1";
            # the 4.2.0 rewrite had dropped every volume but the config ConfigMaps). On an
            # older chart these keys are ignored and Badger has nowhere to write.
            "extraVolumes": volumes,
            "extraVolumeMounts": mounts,
        },
        "userconfig": jaeger_config(mon),
    }


def jaeger_pvc(mon: MonitoringConfig) -> dict[str, Any] | None:
    if mon.jaeger_storage != "badger":
        return None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": JAEGER_PVC, "namespace": mon.namespace, "labels": labels(JAEGER_PVC, "monitoring")},
        "spec": _storage_claim(mon.jaeger_storage_size, mon.storage_class),
    }


def network_policies(config: StackConfig, scrape_targets: Sequence[ScrapeTarget]) -> dict[str, dict[str, Any]]:
    """name -> NetworkPolicy spec for the monitoring namespace: default deny, then exactly
    the flows each workload needs."""
    mon, network = config.monitoring, config.network
    ns = mon.namespace
    edge_ns, edge_pods = controller_pod_selector(config)
    edge = netpol.namespace_peer(edge_ns, edge_pods)
    prometheus, grafana = netpol.pod_peer(PROMETHEUS_PODS), netpol.pod_peer(GRAFANA_PODS)
    collector, jaeger = netpol.pod_peer(COLLECTOR_LABELS), netpol.pod_peer(JAEGER_LABELS)
    scrape_namespaces = sorted({t.namespace for t in scrape_targets} - {ns})
    dns_pods = netpol.namespace_peer(network.dns_namespace, network.dns_pod_labels)
    alertmanager = netpol.pod_peer(ALERTMANAGER_PODS)
    everywhere_but_metadata = [netpol.ANY_BUT_METADATA]
    return {
        "default-deny": netpol.default_deny_spec(),
        "allow-dns": netpol.dns_spec(network),
        # The operator, kube-state-metrics, Grafana's sidecars, Prometheus' service
        # discovery and the chart's admission-webhook Jobs all read the API.
        "allow-kubernetes-api": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [netpol.api_server_egress(network)],
        },
        "prometheus": {
            "podSelector": {"matchLabels": PROMETHEUS_PODS},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [grafana, prometheus], "ports": netpol.ports([PROMETHEUS_PORT, RELOADER_PORT])}],
            "egress": [
                # Everything it scrapes here, and Alertmanager.
                {"to": [{"podSelector": {}}]},
                # Scrape targets elsewhere: each namespace's own ingress policy names the port.
                *({"to": [netpol.namespace_peer(n)]} for n in scrape_namespaces),
                # CoreDNS metrics (kube-prometheus-stack coreDns ServiceMonitor).
                {"to": [dns_pods], "ports": netpol.ports([9153])},
                # Kubelets (cAdvisor, /metrics, probes) on every node address.
                {"to": everywhere_but_metadata, "ports": netpol.ports([10250])},
            ],
        },
        "alertmanager": {
            "podSelector": {"matchLabels": ALERTMANAGER_PODS},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [prometheus, grafana], "ports": netpol.ports([ALERTMANAGER_PORT, RELOADER_PORT])},
                {"from": [alertmanager], "ports": netpol.ports([ALERTMANAGER_CLUSTER_PORT])},
                {"from": [alertmanager], "ports": netpol.ports([ALERTMANAGER_CLUSTER_PORT], "UDP")},
            ],
            "egress": [
                netpol.internet_egress(network, mon.alertmanager_egress_ports),
                {"to": [alertmanager], "ports": netpol.ports([ALERTMANAGER_CLUSTER_PORT])},
                {"to": [alertmanager], "ports": netpol.ports([ALERTMANAGER_CLUSTER_PORT], "UDP")},
            ],
        },
        "grafana": {
            "podSelector": {"matchLabels": GRAFANA_PODS},
            "policyTypes": ["Ingress", "Egress"],
            # The edge only: Grafana's /metrics is off, nothing scrapes it.
            "ingress": [{"from": [edge], "ports": netpol.ports([GRAFANA_PORT])}],
            "egress": [
                {"to": [prometheus], "ports": netpol.ports([PROMETHEUS_PORT])},
                {"to": [alertmanager], "ports": netpol.ports([ALERTMANAGER_PORT])},
                {"to": [jaeger], "ports": netpol.ports([JAEGER_QUERY_PORT])},
            ],
        },
        "otel-collector": {
            "podSelector": {"matchLabels": COLLECTOR_LABELS},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                # The MCP proxies (and vMCP) export traces; ToolHive speaks OTLP/HTTP only
                # (otlptracehttp), so 4318 is the one port they need.
                {"from": [netpol.namespace_peer(config.mcp.namespace)], "ports": netpol.ports([OTLP_HTTP_PORT])},
                {"from": [prometheus], "ports": netpol.ports([COLLECTOR_METRICS_PORT])},
            ],
            "egress": [{"to": [jaeger], "ports": netpol.ports([OTLP_GRPC_PORT])}],
        },
        "jaeger": {
            "podSelector": {"matchLabels": JAEGER_LABELS},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [collector], "ports": netpol.ports([OTLP_GRPC_PORT])},
                {"from": [grafana, edge], "ports": netpol.ports([JAEGER_QUERY_PORT])},
                {"from": [prometheus], "ports": netpol.ports([JAEGER_METRICS_PORT])},
            ],
            "egress": [],
        },
        "prometheus-operator": {
            "podSelector": {"matchLabels": OPERATOR_PODS},
            "policyTypes": ["Ingress"],
            "ingress": [
                # Admission webhooks (PrometheusRule validation) are called by the API server.
                {"from": netpol.from_api_server(network), "ports": netpol.ports([OPERATOR_PORT])},
                {"from": [prometheus], "ports": netpol.ports([OPERATOR_PORT])},
            ],
        },
        "kube-state-metrics": {
            "podSelector": {"matchLabels": KSM_PODS},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [prometheus], "ports": netpol.ports(KSM_PORTS)}],
        },
    }


# ---------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringStackArgs:
    config: StackConfig
    # Services to scrape, one ServiceMonitor each (plan, ToolHive operator, edge, ...).
    scrape_targets: Sequence[ScrapeTarget]
    # The `monitoring` namespace, created by `__main__.py` before the SecretsLayer puts
    # Grafana's and Alertmanager's Secrets into it (as the edge's namespaces are); None
    # when an existing monitoring stack owns it (`monitoring.install_stack: false`).
    namespace: KubernetesObject | None
    # SecretRefs the SecretsLayer provides, keyed `<credential id>/<key>`
    # (SecretsLayer.refs, keys from components.secrets.ref_key); only for credentials it has.
    secret_refs: Mapping[str, SecretRef] = field(default_factory=dict)
    secrets_ready: Sequence[pulumi.Input[pulumi.Resource]] = ()


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


class MonitoringStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana, the OpenTelemetry Collector and Jaeger v2 (or
    the check that an existing monitoring stack serves what the stack relies on), with
    the MCP scraping, alerts and dashboards."""

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, {}, opts)
        config = args.config
        mon = config.monitoring
        ns = mon.namespace
        self._name = name
        secrets = secret_choice(args.secret_refs)
        targets = unique_targets([*args.scrape_targets, *own_scrape_targets(config)])

        if mon.install_stack:
            if args.namespace is None:
                raise ValueError("monitoring.install_stack needs the monitoring namespace created first")
            crd_deps = self._install(config, args.namespace, targets, secrets, args)
            namespace_deps: list[pulumi.Input[pulumi.Resource]] = [args.namespace]
        else:
            # The existing stack's API, and the collector the MCP proxies send traces to.
            crd_deps = [
                *existing.require_apis(name, api_dependencies(config), parent=self),
                existing.require_service_port(
                    name,
                    service=(ns, mon.existing_collector_service),
                    port=OTLP_HTTP_PORT,
                    setting="monitoring.install_stack: false",
                    parent=self,
                ),
            ]
            namespace_deps = []

        # Custom resources of the prometheus-operator CRDs.
        for target in targets:
            KubernetesObject(
                f"{name}-servicemonitor-{target.name}", service_monitor(target, mon), self._child(*crd_deps)
            )
        scrape_namespaces = sorted({t.namespace for t in targets} | {ns})
        KubernetesObject(
            f"{name}-prometheusrule",
            {
                "apiVersion": MONITORING_API,
                "kind": "PrometheusRule",
                "metadata": {"name": "mcp-datascience-alerts", "namespace": ns, "labels": selected_labels(mon)},
                "spec": prometheus_rule_spec(mon.alerts, config.mcp.namespace, scrape_namespaces),
            },
            self._child(*crd_deps),
        )
        for cm in dashboard_config_maps(ns):
            KubernetesObject(f"{name}-{cm['metadata']['name']}", cm, self._child(*namespace_deps))

        self.telemetry = telemetry_target(config)
        self.namespace_name: pulumi.Output[str] = (
            args.namespace.metadata["name"] if args.namespace is not None else pulumi.Output.from_input(ns)
        )
        # The Secret Grafana reads its login from, None when the monitoring stack is not ours.
        self.grafana_admin_secret = secrets.grafana_secret if mon.install_stack else None
        self.register_outputs(
            {
                "namespace": self.namespace_name,
                "otlp_http_endpoint": self.telemetry.otlp_http_endpoint,
                "grafana_admin_secret": self.grafana_admin_secret,
                "service_monitors": sorted(t.name for t in targets),
            }
        )

    def _child(self, *deps: pulumi.Input[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

    def _install(
        self,
        config: StackConfig,
        namespace: KubernetesObject,
        targets: Sequence[ScrapeTarget],
        secrets: SecretChoice,
        args: MonitoringStackArgs,
    ) -> list[pulumi.Input[pulumi.Resource]]:
        """kube-prometheus-stack, Jaeger and the collector, confined by the namespace's
        NetworkPolicies; returns what the prometheus-operator's custom resources wait for."""
        name, mon = self._name, config.monitoring
        ns = mon.namespace
        # NetworkPolicies first: pods start confined.
        for policy_name, spec in network_policies(config, targets).items():
            netpol.network_policy(
                f"{name}-netpol-{policy_name}",
                name=policy_name,
                namespace=ns,
                spec=spec,
                component="monitoring",
                opts=self._child(namespace),
            )

        # Grafana's admin login: the SecretsLayer's Secret, or a generated one.
        secret_deps: list[pulumi.Input[pulumi.Resource]] = [namespace, *args.secrets_ready]
        if f"{GRAFANA_ADMIN}/{GRAFANA_PASSWORD_KEY}" not in args.secret_refs:
            password = random.RandomPassword(
                f"{name}-grafana-admin-password", length=32, special=False, opts=self._child()
            )
            secret_deps.append(
                KubernetesObject(
                    f"{name}-grafana-admin",
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {
                            "name": GRAFANA_ADMIN,
                            "namespace": ns,
                            "labels": labels(GRAFANA_ADMIN, "monitoring"),
                            "annotations": dict(GENERATED_BY),
                        },
                        "type": "Opaque",
                        "data": {
                            GRAFANA_USER_KEY: pulumi.Output.secret(_b64("admin")),
                            GRAFANA_PASSWORD_KEY: pulumi.Output.secret(password.result.apply(_b64)),
                        },
                    },
                    self._child(namespace),
                )
            )

        kube_prometheus_stack = helm_release(
            f"{name}-kube-prometheus-stack",
            versions.KUBE_PROMETHEUS_STACK,
            namespace=ns,
            values=kube_prometheus_stack_values(config, secrets),
            release_name=KPS_RELEASE,
            opts=self._child(*secret_deps),
        )
        pvc_deps: list[pulumi.Resource] = [namespace]
        pvc = jaeger_pvc(mon)
        if pvc is not None:
            pvc_deps.append(KubernetesObject(f"{name}-jaeger-badger", pvc, self._child(namespace)))
        jaeger = helm_release(
            f"{name}-jaeger",
            versions.JAEGER,
            namespace=ns,
            values=jaeger_values(mon, ImagePins(config.images.digests)),
            release_name=JAEGER_RELEASE,
            opts=self._child(*pvc_deps),
        )
        helm_release(
            f"{name}-otel-collector",
            versions.OTEL_COLLECTOR,
            namespace=ns,
            values=collector_values(mon, ImagePins(config.images.digests)),
            release_name=COLLECTOR_RELEASE,
            opts=self._child(namespace, jaeger),
        )
        # The prometheus-operator CRDs come with the stack release.
        return [kube_prometheus_stack]
