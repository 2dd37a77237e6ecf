"""Maps of the pinned charts whose keys the chart does not list, and why.

Beneath these paths the contract check (offline/chart_contract.py) accepts keys the
chart's defaults do not show, because the chart passes the map through unread: as a
Kubernetes object (`kind` names the type: the map is then validated strictly as one, so
a misspelt field still fails), as a program's own configuration file, or as a map whose
keys the chart names only in a comment (`keys`). Each reason quotes the chart at the
pinned tag: its values.yaml comment, its values.schema.json description, or the
template that renders the map. Paths are dotted; `*` stands for any one key. A map the
chart's values.schema.json leaves open, or types as a Kubernetes object, needs no entry
(the schema is the reason), but may have one to be checked as a Kubernetes type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FreeForm:
    reason: str
    kind: str | None = None  # Kubernetes definition the chart renders it as; `[]`: a list of them
    keys: tuple[str, ...] | None = None  # the only keys the chart's comment names
    chart_keys: tuple[str, ...] = ()  # keys the chart itself reads and drops before rendering


RESOURCES = "io.k8s.api.core.v1.ResourceRequirements"
CONTAINER_SECURITY = "io.k8s.api.core.v1.SecurityContext"
POD_SECURITY = "io.k8s.api.core.v1.PodSecurityContext"

_KPS_OPERATOR = "kube-prometheus-stack 88.5.3 templates/prometheus-operator/deployment.yaml"
_GRAFANA_POD = "grafana 12.11.1 templates/_pod.tpl"

FREE_FORM: dict[str, dict[str, FreeForm]] = {
    "cert-manager": {
        # values.schema.json types these as plain objects; checked as the Kubernetes types
        # its descriptions name.
        "containerSecurityContext": FreeForm(
            "schema: 'Container Security Context to be set on the controller component container'", CONTAINER_SECURITY
        ),
        "*.containerSecurityContext": FreeForm(
            "schema: 'Container Security Context to be set on the <component> container'", CONTAINER_SECURITY
        ),
        "securityContext": FreeForm("schema: 'Pod Security Context.'", POD_SECURITY),
        "*.securityContext": FreeForm("schema: 'Pod Security Context.'", POD_SECURITY),
        "resources": FreeForm("schema: 'Resources to provide to the cert-manager controller pod.'", RESOURCES),
        "*.resources": FreeForm("schema: 'Resources to provide to the <component> pods.'", RESOURCES),
    },
    "godaddy-webhook": {
        "resources": FreeForm(
            "templates/deployment.yaml: `resources: {{- toYaml .Values.resources }}` (default {})", RESOURCES
        ),
    },
    "sealed-secrets": {
        "resources": FreeForm("values.yaml: '## Sealed Secret resource requests and limits'", RESOURCES),
        "podSecurityContext": FreeForm(
            "values.yaml: '## Configure Pods Security Context'; templates/deployment.yaml drops `enabled`",
            POD_SECURITY,
            chart_keys=("enabled",),
        ),
        "containerSecurityContext": FreeForm(
            "values.yaml: '## Configure Container Security Context'; templates/deployment.yaml drops `enabled`",
            CONTAINER_SECURITY,
            chart_keys=("enabled",),
        ),
    },
    "toolhive-operator": {
        "operator.podSecurityContext": FreeForm("values.yaml: '# -- Pod security context settings'", POD_SECURITY),
        "operator.containerSecurityContext": FreeForm(
            "values.yaml: '# -- Container security context settings for the operator'", CONTAINER_SECURITY
        ),
        "operator.resources": FreeForm(
            "values.yaml: '# -- Resource requests and limits for the operator container'", RESOURCES
        ),
        "operator.env": FreeForm(
            "values.yaml: '# -- Environment variables to set in the operator container'", "io.k8s.api.core.v1.EnvVar[]"
        ),
    },
    "jaeger": {
        "jaeger.resources": FreeForm(
            "values.yaml: a commented `# resources:` example; templates/jaeger/jaeger-deploy.yaml renders it",
            RESOURCES,
        ),
        "jaeger.podSecurityContext": FreeForm(
            "templates/jaeger/jaeger-deploy.yaml: the pod's `securityContext`", POD_SECURITY
        ),
        "jaeger.securityContext": FreeForm(
            "templates/jaeger/jaeger-deploy.yaml: the container's `securityContext`", CONTAINER_SECURITY
        ),
        "jaeger.extraVolumes": FreeForm(
            "values.yaml: example `- name: badger-data / persistentVolumeClaim`", "io.k8s.api.core.v1.Volume[]"
        ),
        "jaeger.extraVolumeMounts": FreeForm(
            "templates/jaeger/jaeger-deploy.yaml: the container's volumeMounts", "io.k8s.api.core.v1.VolumeMount[]"
        ),
        "userconfig": FreeForm(
            "values.yaml: '# User provided config to override the config completely' (Jaeger v2's own configuration)"
        ),
    },
    "opentelemetry-collector": {
        # values.schema.json: `{"type": "object"}`; checked as the Kubernetes types the
        # pod template renders them as (templates/_pod.tpl).
        "podSecurityContext": FreeForm("schema: object; templates/_pod.tpl: the pod's securityContext", POD_SECURITY),
        "securityContext": FreeForm(
            "schema: object; templates/_pod.tpl: the container's securityContext", CONTAINER_SECURITY
        ),
    },
    "kube-prometheus-stack": {
        "prometheusOperator.resources": FreeForm(
            f"values.yaml: '## Resource limits & requests' ({_KPS_OPERATOR})", RESOURCES
        ),
        "prometheusOperator.securityContext": FreeForm(f"{_KPS_OPERATOR}: the pod's securityContext", POD_SECURITY),
        "prometheusOperator.containerSecurityContext": FreeForm(
            f"{_KPS_OPERATOR}: the container's securityContext", CONTAINER_SECURITY
        ),
        "prometheusOperator.prometheusConfigReloader.resources": FreeForm(
            f"values.yaml: '# resource config for prometheusConfigReloader' ({_KPS_OPERATOR}: flags)",
            RESOURCES,
        ),
        "prometheusOperator.admissionWebhooks.patch.resources": FreeForm(
            "templates/prometheus-operator/admission-webhooks/job-patch/job-*.yaml: each Job container's resources",
            RESOURCES,
        ),
        "prometheus.prometheusSpec.resources": FreeForm(
            "values.yaml: '## Define resources requests and limits for single Pods.'", RESOURCES
        ),
        "prometheus.prometheusSpec.securityContext": FreeForm(
            "values.yaml: '## SecurityContext holds pod-level security attributes and common container settings.'",
            POD_SECURITY,
        ),
        "prometheus.prometheusSpec.storageSpec": FreeForm(
            "values.yaml: '## Prometheus StorageSpec for persistent data' (the Prometheus CRD's spec.storage)"
        ),
        "alertmanager.alertmanagerSpec.resources": FreeForm(
            "values.yaml: '## Define resources requests and limits for single Pods.'", RESOURCES
        ),
        "alertmanager.alertmanagerSpec.securityContext": FreeForm(
            "values.yaml: '## SecurityContext holds pod-level security attributes ... *v1.PodSecurityContext'",
            POD_SECURITY,
        ),
        "alertmanager.alertmanagerSpec.configSecret": FreeForm(
            "values.yaml: '## ConfigSecret is the name of a Kubernetes Secret ... which contains configuration for "
            "this Alertmanager instance' (the key only in a comment, `# configSecret:`); "
            "templates/alertmanager/alertmanager.yaml renders it as the Alertmanager's spec.configSecret"
        ),
        "alertmanager.alertmanagerSpec.storage": FreeForm(
            "values.yaml: '## Storage is the definition of how storage will be used by the Alertmanager instances.'"
        ),
        "kube-state-metrics.resources": FreeForm(
            "kube-state-metrics 8.4.0 templates/deployment.yaml: the container's resources", RESOURCES
        ),
        "grafana.resources": FreeForm(
            f"grafana values.yaml: `resources: {{}}` with a commented limits/requests example ({_GRAFANA_POD})",
            RESOURCES,
        ),
        "grafana.securityContext": FreeForm(f"{_GRAFANA_POD}: the pod's securityContext", POD_SECURITY),
        "grafana.containerSecurityContext": FreeForm(
            f"{_GRAFANA_POD}: the grafana container's securityContext", CONTAINER_SECURITY
        ),
        "grafana.sidecar.resources": FreeForm(
            f"grafana values.yaml: `resources: {{}}` with a commented example ({_GRAFANA_POD}: every sidecar)",
            RESOURCES,
        ),
        "grafana.sidecar.securityContext": FreeForm(
            f"{_GRAFANA_POD}: every sidecar container's securityContext", CONTAINER_SECURITY
        ),
        "grafana.grafana.ini": FreeForm(
            "grafana values.yaml: '## Grafana's primary configuration' ('values in map will be converted to ini')"
        ),
        "grafana.sidecar.datasources.exemplarTraceIdDestinations": FreeForm(
            "values.yaml: '## Field with internal link pointing to existing data source in Grafana.' (commented keys)",
            keys=("datasourceUid", "traceIdLabelName", "urlDisplayLabel"),
        ),
    },
}
