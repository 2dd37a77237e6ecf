"""MonitoringStack: schema-valid renders, scraping every MCP proxy, PromQL that parses and
names only real metrics, complete alerts, the OTLP endpoint, and credentials only in Secrets."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import promql_parser
import pytest

from components import monitoring
from components.config import AlertThresholds
from components.config_errors import ConfigError
from components.contracts import SecretRef
from components.edge import controller_pod_selector
from components.monitoring_rules import prometheus_rule_spec
from components.plan import proxy_selector
from components.stack_config import parse_config
from offline.harness import ProgramRun
from offline.policy_run import stack_config
from policies.mcp_policies import secrets as policy_secrets
from tests.stackconfig import base_config

TYPE = "mcp-datascience:index:MonitoringStack"
MON = "monitoring"
MCP_NS = "data-science"

# Metrics the dashboards and alerts may name, by upstream source, with the labels each
# series carries once scraped (the metric's own labels; TARGET_LABELS are added by the
# ServiceMonitor). ToolHive proxy v0.44.0: pkg/telemetry/middleware.go and
# docs/observability.md (Prometheus names asserted in test/e2e; research/toolhive.md §4).
_TOOLHIVE_REQUEST = frozenset(
    {"method", "status_code", "status", "mcp_method", "mcp_resource_id", "server", "transport"}
)
TOOLHIVE_LABELS = {
    "toolhive_mcp_requests_total": _TOOLHIVE_REQUEST,
    "toolhive_mcp_request_duration_seconds_bucket": _TOOLHIVE_REQUEST | {"le"},
    "toolhive_mcp_request_duration_seconds_sum": _TOOLHIVE_REQUEST,
    "toolhive_mcp_request_duration_seconds_count": _TOOLHIVE_REQUEST,
    "toolhive_mcp_tool_calls_total": frozenset({"server", "tool", "status"}),
    "toolhive_mcp_active_connections": frozenset({"server", "transport", "connection_type"}),
}
TOOLHIVE = set(TOOLHIVE_LABELS)
# kube-state-metrics v2: docs/metrics/workload/pod-metrics.md and
# docs/metrics/workload/horizontalpodautoscaler-metrics.md (kube-prometheus-stack scrapes
# it with honorLabels, so `namespace`/`pod`/`container` are the object's).
_POD = frozenset({"namespace", "pod", "uid"})
_HPA = frozenset({"namespace", "horizontalpodautoscaler"})
KSM_LABELS = {
    "kube_pod_container_status_restarts_total": _POD | {"container"},
    "kube_pod_container_status_waiting_reason": _POD | {"container", "reason"},
    "kube_pod_status_ready": _POD | {"condition"},
    "kube_pod_status_phase": _POD | {"phase"},
    "kube_pod_container_resource_limits": _POD | {"container", "node", "resource", "unit"},
    "kube_horizontalpodautoscaler_status_current_replicas": _HPA,
    "kube_horizontalpodautoscaler_spec_max_replicas": _HPA,
    "kube_horizontalpodautoscaler_spec_min_replicas": _HPA,
}
KUBE_STATE_METRICS = set(KSM_LABELS)
# cAdvisor through the kubelet's /metrics/cadvisor: google/cadvisor docs/storage/prometheus.md
# (honorLabels in kube-prometheus-stack's kubelet ServiceMonitor).
_CONTAINER = frozenset({"namespace", "pod", "container", "id", "image", "name"})
CADVISOR_LABELS = {
    "container_memory_working_set_bytes": _CONTAINER,
    "container_cpu_usage_seconds_total": _CONTAINER | {"cpu"},
    "container_cpu_cfs_periods_total": _CONTAINER,
    "container_cpu_cfs_throttled_periods_total": _CONTAINER,
}
CADVISOR = set(CADVISOR_LABELS)
# cert-manager controller metrics (cert-manager.io docs, devops-tips/prometheus-metrics):
# labels name, namespace, issuer_*. Its ServiceMonitor does not honor labels, so Prometheus
# renames the Certificate's `namespace` to `exported_namespace` and `namespace` is
# cert-manager's own.
CERT_MANAGER_LABELS = {
    "certmanager_certificate_expiration_timestamp_seconds": frozenset(
        {"name", "exported_namespace", "issuer_name", "issuer_kind", "issuer_group"}
    )
}
CERT_MANAGER = set(CERT_MANAGER_LABELS)
# Prometheus' own per-target series.
PROMETHEUS = {"up"}
METRIC_LABELS: dict[str, frozenset[str]] = {
    **TOOLHIVE_LABELS,
    **KSM_LABELS,
    **CADVISOR_LABELS,
    **CERT_MANAGER_LABELS,
    "up": frozenset(),
}
ALLOWED_METRICS = TOOLHIVE | KUBE_STATE_METRICS | CADVISOR | CERT_MANAGER | PROMETHEUS
# Labels Prometheus sets from a ServiceMonitor target (prometheus-operator relabelling).
TARGET_LABELS = frozenset({"namespace", "service", "pod", "container", "endpoint", "job", "instance"})
# Values the sources emit for labels the queries compare with `=`.
KNOWN_VALUES = {
    "status": {"success", "error"},  # ToolHive (status_code < 400 or not)
    "method": {"GET", "POST", "DELETE"},  # HTTP method of the MCP transport
    "condition": {"true", "false", "unknown"},
    "resource": {"cpu", "memory", "ephemeral_storage"},
    "reason": {
        "ContainerCreating",
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerConfigError",
    },
}
COUNTERS = ("_total", "_bucket", "_count", "_sum")

# Grafana variables, replaced by sample values before parsing.
GRAFANA_VARS = {"$__rate_interval": "5m", "$namespace": MCP_NS, "$server": "huggingface"}


def by_kind(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    return [o for o in run.objects() if o["kind"] == kind]


def release_values(run: ProgramRun, name: str) -> dict[str, Any]:
    return run.release(name).inputs["values"]


def _policies(run: ProgramRun, namespace: str = MON) -> dict[str, dict[str, Any]]:
    """name -> spec of the NetworkPolicies in one namespace."""
    return {
        p["metadata"]["name"]: p["spec"]
        for p in by_kind(run, "NetworkPolicy")
        if p["metadata"]["namespace"] == namespace
    }


def metric_names(expr: str) -> set[str]:
    """Parse with a real PromQL parser and collect every selected metric name."""
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


Scalar = None  # labels_of() of a scalar expression


def labels_of(node: Any, problems: list[str]) -> frozenset[str] | None:
    """The labels the result of `node` carries (None for a scalar), recording every
    semantic mistake found on the way in `problems`: a label a series does not have,
    a value its source never emits, rate() of a gauge, a quantile not grouped by `le`,
    a `by`/`on` label missing below."""
    if isinstance(node, promql_parser.VectorSelector):
        own = METRIC_LABELS.get(node.name, frozenset())
        have = own | TARGET_LABELS
        for m in node.matchers.matchers:
            if m.name == "__name__":
                continue
            if m.name not in have:
                problems.append(f"{node.name} has no label {m.name!r}")
            known = KNOWN_VALUES.get(m.name)
            if known and str(m.op) == "MatchOp.Equal" and m.value not in known:
                problems.append(f"{node.name}{{{m.name}={m.value!r}}}: the source emits {sorted(known)}")
        return have
    if isinstance(node, promql_parser.MatrixSelector):
        return labels_of(node.vector_selector, problems)
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr)):
        return labels_of(node.expr, problems)
    if isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        return Scalar
    if isinstance(node, promql_parser.Call):
        name = node.func.name
        vectors = [
            a for a in node.args if not isinstance(a, (promql_parser.NumberLiteral, promql_parser.StringLiteral))
        ]
        if name in ("rate", "increase", "irate"):
            [selector] = vectors
            metric = selector.vector_selector.name
            if not metric.endswith(COUNTERS):
                problems.append(f"{name}() of {metric}, which is not a counter")
        if name == "histogram_quantile":
            inner = vectors[0]
            while isinstance(inner, promql_parser.ParenExpr):
                inner = inner.expr
            grouped = isinstance(inner, promql_parser.AggregateExpr) and inner.modifier is not None
            if not grouped or (
                "le" not in inner.modifier.labels
                if str(inner.modifier.type).endswith("By")
                else "le" in inner.modifier.labels
            ):
                problems.append("histogram_quantile over an aggregation that drops `le`")
            found = labels_of(inner, problems) or frozenset()
            return found - {"le"}
        if not vectors:
            return Scalar  # time(), vector(…) aside
        return labels_of(vectors[0], problems)
    if isinstance(node, promql_parser.AggregateExpr):
        below = labels_of(node.expr, problems) or frozenset()
        if node.modifier is None:
            return frozenset()
        wanted = frozenset(node.modifier.labels)
        if not wanted <= below:
            problems.append(f"{node.op} by {sorted(wanted - below)}: not on the aggregated series")
        return wanted if str(node.modifier.type).endswith("By") else below - wanted
    if isinstance(node, promql_parser.BinaryExpr):
        lhs, rhs = labels_of(node.lhs, problems), labels_of(node.rhs, problems)
        if lhs is None or rhs is None:
            return rhs if lhs is None else lhs
        matching = node.modifier.matching if node.modifier else None
        if matching is not None and str(matching.type).endswith("Include"):
            on = frozenset(matching.labels)
            if not (on <= lhs and on <= rhs):
                problems.append(f"on {sorted(on)}: missing on one side ({sorted(lhs)} vs {sorted(rhs)})")
        elif lhs != rhs and str(node.op) not in ("or",):
            problems.append(f"{node.op} between differently labelled sides ({sorted(lhs)} vs {sorted(rhs)})")
        return lhs | rhs if str(node.op) == "or" else lhs
    raise AssertionError(f"unhandled PromQL node {type(node).__name__}")


def semantic_problems(expr: str) -> tuple[list[str], frozenset[str]]:
    problems: list[str] = []
    result = labels_of(promql_parser.parse(expr), problems)
    return problems, result or frozenset()


def grafana_to_promql(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


def dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in monitoring.dashboard_files().items()}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def alerts(run: ProgramRun) -> list[dict[str, Any]]:
    [rule] = by_kind(run, "PrometheusRule")
    return [r for g in rule["spec"]["groups"] for r in g["rules"]]


# --- Renders --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_is_schema_valid(stack_runs, validators, stack):
    run = stack_runs[stack]
    validator = validators(stack_config(stack).kubernetes_version)
    failures = {
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}": errs
        for o in run.objects()
        if (errs := validator.errors(o))
    }
    assert failures == {}
    assert len(run.of_type(TYPE)) == 1
    assert {r["name"] for r in run.releases()} >= {"kube-prometheus-stack", "otel-collector", "jaeger"}


def test_charts_are_pinned(prod):
    pins = {r["name"]: (r["chart"], r["version"]) for r in prod.releases()}
    assert pins["kube-prometheus-stack"] == ("kube-prometheus-stack", "88.5.3")
    assert pins["otel-collector"] == ("opentelemetry-collector", "0.170.0")
    assert pins["jaeger"] == ("jaeger", "4.11.1")


def test_monitoring_children_belong_to_the_component(prod):
    [component] = prod.of_type(TYPE)
    children = [r for r in prod.resources if r.parent == component.urn]
    kinds = {r.kind for r in children}
    assert {"NetworkPolicy", "Release", "ServiceMonitor", "PrometheusRule", "ConfigMap"} <= kinds


# --- Scraping -------------------------------------------------------------------------


def _selects(monitor: dict[str, Any], namespace: str, service_labels: dict[str, str], port: str) -> bool:
    spec = monitor["spec"]
    wanted = spec["selector"]["matchLabels"]
    return (
        namespace in spec["namespaceSelector"]["matchNames"]
        and all(service_labels.get(k) == v for k, v in wanted.items())
        and any(e["port"] == port and e["path"] == "/metrics" for e in spec["endpoints"])
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_service_monitor_selects_each_mcp_proxy_service(stack_runs, stack):
    """The operator labels Service mcp-<name>-proxy with labelsForMCPServer plus the
    MCPServer's resourceOverrides.proxyService.labels, port name `http`."""
    run = stack_runs[stack]
    monitors = by_kind(run, "ServiceMonitor")
    servers = by_kind(run, "MCPServer")
    assert len(servers) >= 7
    for server in servers:
        name = server["metadata"]["name"]
        overrides = server["spec"].get("resourceOverrides", {}).get("proxyService", {}).get("labels", {})
        service_labels = {**proxy_selector(name), **overrides}
        hits = [m["metadata"]["name"] for m in monitors if _selects(m, MCP_NS, service_labels, "http")]
        assert hits == [f"mcp-{name}-proxy"], name
        # ...and no other server's Service.
        other = {**proxy_selector(name + "x"), **overrides}
        assert not any(_selects(m, MCP_NS, other, "http") for m in monitors if m["metadata"]["name"] in hits)


def test_service_monitors_cover_operator_edge_cert_manager_collector_and_jaeger(prod):
    monitors = {m["metadata"]["name"]: m for m in by_kind(prod, "ServiceMonitor")}
    assert monitors["toolhive-operator-metrics"]["spec"]["namespaceSelector"]["matchNames"] == ["toolhive-system"]
    assert monitors["nginx-ingress"]["spec"]["namespaceSelector"]["matchNames"] == ["nginx-ingress"]
    assert monitors["cert-manager"]["spec"]["endpoints"][0]["port"] == "http-metrics"
    collector = monitors["otel-collector"]["spec"]
    # Only the chart's common labels, which every chart version puts on the Service
    # (`component` is certain only on the pods), and exactly the pods' own values.
    assert collector["selector"]["matchLabels"] == monitoring.COLLECTOR_SERVICE_LABELS
    assert monitoring.COLLECTOR_SERVICE_LABELS.items() <= monitoring.COLLECTOR_LABELS.items()
    assert "component" not in collector["selector"]["matchLabels"]
    assert collector["endpoints"][0]["port"] == "metrics"
    # Metrics come only from scraping: no monitor of a collector re-export of pushed metrics.
    assert "otel-collector-otlp" not in monitors
    assert monitors["jaeger"]["spec"]["endpoints"][0]["port"] == "internal-metrics"
    assert all(m["metadata"]["namespace"] == MON for m in monitors.values())


def test_collector_service_ports_match_the_monitors(prod):
    ports = release_values(prod, "otel-collector")["ports"]
    assert ports["metrics"]["servicePort"] == monitoring.COLLECTOR_METRICS_PORT
    assert ports["metrics"]["enabled"]
    assert "prom-export" not in ports


def test_prometheus_selects_monitors_and_rules_from_every_namespace(prod):
    spec = release_values(prod, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False


def test_duplicate_monitor_names_are_refused():
    from components.contracts import ScrapeTarget

    a = ScrapeTarget("x", "ns1", {"a": "1"})
    assert monitoring.unique_targets([a, a]) == [a]
    with pytest.raises(ValueError, match="both named 'x'"):
        monitoring.unique_targets([a, ScrapeTarget("x", "ns2", {"a": "1"})])
    # Any field counts: one ServiceMonitor cannot keep two scrape intervals.
    with pytest.raises(ValueError, match="both named 'x'"):
        monitoring.unique_targets([a, ScrapeTarget("x", "ns1", {"a": "1"}, interval="10s")])


# --- PromQL ---------------------------------------------------------------------------


def test_dashboard_queries_parse_and_name_only_known_metrics():
    seen: set[str] = set()
    count = variables = 0
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel["targets"]:
                promql = grafana_to_promql(target["expr"])
                names = metric_names(promql)
                assert names, f"{name}: {panel['title']} selects no metric"
                assert names <= ALLOWED_METRICS, f"{name}: {panel['title']}: {names - ALLOWED_METRICS}"
                problems, result = semantic_problems(promql)
                assert problems == [], f"{name}: {panel['title']}: {problems}"
                # The legend names only labels the query's result has.
                legend = set(re.findall(r"{{\s*(\w+)\s*}}", target.get("legendFormat", "")))
                assert legend <= result, f"{name}: {panel['title']}: legend {legend - result}"
                seen |= names
                count += 1
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                # label_values(<selector>, <label>): the selector parses, names one ToolHive
                # metric, and the label is one its series carry.
                query = var["query"]["query"]
                match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
                assert match, query
                selector, label = match.groups()
                [metric] = metric_names(grafana_to_promql(selector))
                assert metric in TOOLHIVE, query
                assert label in METRIC_LABELS[metric] | TARGET_LABELS, query
                variables += 1
    assert count >= 20
    assert variables >= 3  # namespace on both boards, server on the server board
    # The overview covers every ToolHive series the issue names.
    assert {
        "toolhive_mcp_requests_total",
        "toolhive_mcp_request_duration_seconds_bucket",
        "toolhive_mcp_tool_calls_total",
        "toolhive_mcp_active_connections",
        "kube_pod_container_status_restarts_total",
    } <= seen


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_alert_expressions_parse_and_name_only_known_metrics(stack_runs, stack):
    rules = alerts(stack_runs[stack])
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= ALLOWED_METRICS, f"{rule['alert']}: {names - ALLOWED_METRICS}"
        problems, result = semantic_problems(rule["expr"])
        assert problems == [], f"{rule['alert']}: {problems}"
        # Summary, description and runbook template only labels the alert carries.
        templated = {m for text in rule["annotations"].values() for m in re.findall(r"\$labels\.(\w+)", text)}
        assert templated <= result, f"{rule['alert']}: {templated - result}"


def test_the_toolhive_metric_vocabulary_matches_the_pinned_toolhive():
    """TOOLHIVE_LABELS is v0.44.0's. Later releases rename `server`/`mcp_method`/`tool` and
    delete toolhive_mcp_requests_total (ToolHive's telemetry migration guide): a bump must
    re-check the vocabulary above and every dashboard and alert query, then move this pin."""
    from components import versions

    assert versions.TOOLHIVE_OPERATOR.version == "0.44.0"
    assert versions.TOOLHIVE_IMAGES["proxyrunner"].tag == "v0.44.0"


def test_a_bad_query_is_caught_by_the_parser():
    with pytest.raises(ValueError, match="unclosed left parenthesis"):
        metric_names("sum by (server (rate(toolhive_mcp_requests_total[5m]))")
    assert metric_names("rate(made_up_metric_total[5m])") - ALLOWED_METRICS == {"made_up_metric_total"}


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        # A quantile over buckets summed without `le` is meaningless.
        (
            "histogram_quantile(0.95, sum by (server) (rate(toolhive_mcp_request_duration_seconds_bucket[5m])))",
            "drops `le`",
        ),
        ("rate(toolhive_mcp_active_connections[5m])", "not a counter"),
        ('sum(rate(toolhive_mcp_requests_total{status="failed"}[5m]))', "the source emits"),
        # Later ToolHive releases renamed `server` to `mcp_server`; v0.44.0 has `server`.
        ('sum(rate(toolhive_mcp_requests_total{mcp_server="fetch"}[5m]))', "no label 'mcp_server'"),
        ("sum by (namespace, tool) (rate(toolhive_mcp_requests_total[5m]))", "not on the aggregated series"),
        (
            "sum by (server) (rate(toolhive_mcp_requests_total[5m])) and on (tool) "
            "sum by (server, tool) (rate(toolhive_mcp_tool_calls_total[5m]))",
            "missing on one side",
        ),
        (
            "sum by (namespace, pod) (kube_pod_status_ready) and sum by (pod) (kube_pod_status_phase)",
            "differently labelled",
        ),
    ],
)
def test_semantic_mistakes_are_caught(expr, problem):
    problems, _ = semantic_problems(expr)
    assert any(problem in p for p in problems), problems


def test_certificate_alert_names_the_certificate_namespace(prod):
    """cert-manager's `namespace` label arrives as `exported_namespace` (its ServiceMonitor
    does not honor labels); `namespace` would be cert-manager's own namespace."""
    [rule] = [r for r in alerts(prod) if r["alert"] == "CertificateExpiringSoon"]
    [monitor] = [m for m in by_kind(prod, "ServiceMonitor") if m["metadata"]["name"] == "cert-manager"]
    assert not any(e.get("honorLabels") for e in monitor["spec"]["endpoints"])
    assert "$labels.exported_namespace" in rule["annotations"]["summary"]
    assert "$labels.namespace" not in json.dumps(rule["annotations"])


# --- Alerts ---------------------------------------------------------------------------

ISSUE_ALERTS = {
    "McpErrorRatioHigh",
    "McpLatencyP95High",
    "McpToolCallFailures",
    "McpNoTraffic",
    "McpPodCrashLooping",
    "McpPodNotReady",
    "McpContainerMemoryNearLimit",
    "McpContainerCpuThrottled",
    "McpAutoscalerAtMax",
    "CertificateExpiringSoon",
    "ScrapeTargetDown",
}


def test_every_alert_has_severity_summary_and_runbook(prod):
    rules = alerts(prod)
    assert {r["alert"] for r in rules} == ISSUE_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        notes = rule["annotations"]
        assert notes["summary"], rule["alert"]
        assert notes["description"], rule["alert"]
        assert notes["runbook"].startswith("1. "), rule["alert"]
        assert rule["for"]


def test_workload_alerts_watch_the_mcp_namespace(prod):
    rules = {r["alert"]: r["expr"] for r in alerts(prod)}
    for name in ("McpPodCrashLooping", "McpPodNotReady", "McpContainerMemoryNearLimit", "McpAutoscalerAtMax"):
        assert f'namespace="{MCP_NS}"' in rules[name]
    # Scrape-down covers every namespace Prometheus scrapes for this stack.
    for ns in (MCP_NS, "toolhive-system", "nginx-ingress", "cert-manager", MON):
        assert ns in rules["ScrapeTargetDown"]


def test_thresholds_come_from_config(run):
    spec = prometheus_rule_spec(
        AlertThresholds(error_ratio=0.2, p95_latency_seconds=3, certificate_expiry_days=7), MCP_NS, [MON]
    )
    rules = {r["alert"]: r for g in spec["groups"] for r in g["rules"]}
    assert ") > 0.2 and" in rules["McpErrorRatioHigh"]["expr"]
    assert ") > 3) and on (namespace, server)" in rules["McpLatencyP95High"]["expr"]
    assert "< 604800" in rules["CertificateExpiringSoon"]["expr"]
    assert rules["CertificateExpiringSoon"]["labels"]["severity"] == "critical"
    rendered = run("prod", **{"monitoring.alerts.tool_failure_ratio": 0.3})
    [failures] = [r for r in alerts(rendered) if r["alert"] == "McpToolCallFailures"]
    assert ") > 0.3 and" in failures["expr"]


def test_retention_size_must_fit_the_volume():
    config = base_config()
    config["monitoring"] = {"prometheus_retention_size": "48GB"}
    with pytest.raises(ConfigError, match="prometheus_retention_size 48GB does not fit prometheus_storage 50Gi"):
        parse_config(config, "prod")
    config["monitoring"] = {"prometheus_retention_size": "48GB", "prometheus_storage": "100Gi"}
    assert parse_config(config, "prod").monitoring.prometheus_storage == "100Gi"


@pytest.mark.parametrize("value", ["0s", "0h", "500ms", "1.5h", "168"])
def test_jaeger_retention_is_a_positive_whole_duration(value):
    config = base_config()
    config["monitoring"] = {"jaeger_retention": value}
    with pytest.raises(ConfigError, match=r"monitoring\.jaeger_retention = '[^']+': must be a duration in hours"):
        parse_config(config, "prod")
    config["monitoring"] = {"jaeger_retention": "72h"}
    assert parse_config(config, "prod").monitoring.jaeger_retention == "72h"


def test_bad_threshold_is_a_config_error():
    config = base_config()
    config["monitoring"] = {"alerts": {"error_ratio": 5}}
    with pytest.raises(ConfigError, match=r"monitoring\.alerts\.error_ratio = 5"):
        parse_config(config, "prod")


# --- Tracing --------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "rate"), [("dev", "1"), ("prod", "0.05")])
def test_telemetry_endpoint_is_the_collector_service(stack_runs, stack, rate):
    run = stack_runs[stack]
    [telemetry] = by_kind(run, "MCPTelemetryConfig")
    otel = telemetry["spec"]["openTelemetry"]
    values = release_values(run, "otel-collector")
    # The chart names the Service after fullnameOverride (templates/service.yaml).
    service = values["fullnameOverride"]
    port = values["ports"]["otlp-http"]["servicePort"]
    assert otel["endpoint"] == f"{service}.{MON}.svc.cluster.local:{port}"
    assert port == 4318  # ToolHive exports OTLP over HTTP
    assert otel["tracing"] == {"enabled": True, "samplingRate": rate}
    # One source per metric: the proxies push no OTLP metrics and the collector has no
    # metrics pipeline, so the scraped toolhive_* series are the only copy.
    assert otel["metrics"] == {"enabled": False}
    assert set(values["alternateConfig"]["service"]["pipelines"]) == {"traces"}
    # The MCP proxies may reach it: their egress and the collector's ingress name 4318.
    collector_in = _policies(run)["otel-collector"]["ingress"][0]
    assert collector_in["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MCP_NS}}}]
    assert collector_in["ports"] == [{"protocol": "TCP", "port": 4318}]


def test_collector_mode_image_and_pipeline(prod):
    values = release_values(prod, "otel-collector")
    assert values["mode"] == "deployment"
    assert values["image"]["repository"].endswith("/opentelemetry-collector-contrib")
    assert values["image"]["tag"] == "0.158.0"
    assert values["command"]["name"] == "otelcol-contrib"
    config = values["alternateConfig"]  # replaces the chart's default config
    pipelines = config["service"]["pipelines"]
    # Traces only: the proxies push no metrics (one source: the /metrics scrape).
    assert set(pipelines) == {"traces"}
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger"]
    assert set(config["exporters"]) == {"otlp/jaeger"}
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == f"jaeger.{MON}.svc.cluster.local:4317"
    # Every component a pipeline names is defined, and the probes' health_check is on.
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind])
    assert config["service"]["extensions"] == ["health_check"]
    # The Service ports the OTLP receivers listen on.
    otlp = config["receivers"]["otlp"]["protocols"]
    assert otlp["http"]["endpoint"].endswith(f":{values['ports']['otlp-http']['containerPort']}")
    assert otlp["grpc"]["endpoint"].endswith(f":{values['ports']['otlp']['containerPort']}")


def test_jaeger_memory_in_dev_badger_on_a_pvc_in_prod(fixture_dev, fixture_prod):
    dev_values = release_values(fixture_dev, "jaeger")
    backend = dev_values["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"]
    assert backend == {"memory": {"max_traces": 20000}}
    assert not [p for p in by_kind(fixture_dev, "PersistentVolumeClaim") if p["metadata"]["namespace"] == MON]

    prod_values = release_values(fixture_prod, "jaeger")
    badger = prod_values["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"]["badger"]
    assert badger["ephemeral"] is False
    assert badger["ttl"] == {"spans": "168h"}
    mount = next(m for m in prod_values["jaeger"]["extraVolumeMounts"] if m["name"] == "badger")
    assert badger["directories"]["keys"].startswith(mount["mountPath"] + "/")
    [pvc] = [p for p in by_kind(fixture_prod, "PersistentVolumeClaim") if p["metadata"]["namespace"] == MON]
    claim = next(v for v in prod_values["jaeger"]["extraVolumes"] if v["name"] == "badger")
    assert claim["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_prometheus_storage_and_retention_per_environment(fixture_dev, fixture_prod):
    dev_spec = release_values(fixture_dev, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    prod_spec = release_values(fixture_prod, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    assert "storageSpec" not in dev_spec
    assert dev_spec["retention"] == "3d"
    claim = prod_spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert prod_spec["retention"] == "15d"
    assert prod_spec["retentionSize"] == "45GB"


# --- Dashboards and UIs ---------------------------------------------------------------


def test_dashboards_are_config_maps_the_sidecar_loads(prod):
    sidecar = release_values(prod, "kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    maps = [c for c in by_kind(prod, "ConfigMap") if c["metadata"]["name"].startswith("grafana-dashboard-")]
    assert len(maps) == len(dashboards()) == 2
    for cm in maps:
        assert cm["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"]
        assert cm["metadata"]["namespace"] == sidecar["searchNamespace"] == MON
        assert cm["metadata"]["annotations"][sidecar["folderAnnotation"]] == "MCP"
        [(file_name, text)] = cm["data"].items()
        assert json.loads(text)["uid"] in ("mcp-overview", "mcp-server")
        assert file_name.endswith(".json")


def test_latency_panels_link_to_traces_and_server_dashboard_has_a_server_variable():
    boards = dashboards()
    for board in boards.values():
        latency = [p for p in panels(board) if "atency" in p["title"]]
        assert latency
        for panel in latency:
            links = panel.get("links", []) + panel["fieldConfig"]["defaults"].get("links", [])
            assert any("jaeger" in link["url"] and link["url"].startswith("/explore") for link in links), panel["title"]
    variables = {v["name"] for v in boards["mcp-server.json"]["templating"]["list"]}
    assert {"datasource", "namespace", "server"} <= variables
    for panel in panels(boards["mcp-server.json"]):
        assert all("$server" in t["expr"] for t in panel["targets"]), panel["title"]


def _urls(node: Any) -> list[str]:
    """Every link `url` anywhere in a dashboard (dashboard, panel and field links)."""
    if isinstance(node, list):
        return [u for v in node for u in _urls(v)]
    if not isinstance(node, dict):
        return []
    own = [node["url"]] if isinstance(node.get("url"), str) else []
    return own + [u for v in node.values() for u in _urls(v)]


def test_dashboard_links_open_provisioned_dashboards_and_the_jaeger_datasource(prod):
    """Grafana resolves a link's target only at click time: a dashboard uid or a
    datasource uid that does not exist gives an empty page, and nothing else fails."""
    boards = dashboards()
    uids = {board["uid"] for board in boards.values()}
    [jaeger] = release_values(prod, "kube-prometheus-stack")["grafana"]["additionalDataSources"]
    explore = 0
    for name, board in boards.items():
        for url in _urls(board):
            if url.startswith("/d/"):
                assert url.split("/")[2] in uids, (name, url)
                continue
            assert url.startswith("/explore?"), (name, url)
            [panes] = parse_qs(urlsplit(url).query)["panes"]
            for pane in json.loads(panes).values():
                assert pane["datasource"] == jaeger["uid"], (name, url)
                assert {q["datasource"]["uid"] for q in pane["queries"]} == {jaeger["uid"]}, (name, url)
            explore += 1
    assert explore >= len(boards)


def _dashboard_patterns(label: str) -> set[str]:
    board = dashboards()["mcp-server.json"]
    exprs = [t["expr"] for p in panels(board) for t in p["targets"]]
    return {m for e in exprs for m in re.findall(label + r'=~"([^"]+)"', e)}


def test_server_dashboard_selects_only_that_servers_pods_and_autoscalers(prod):
    """`$server-.*` would also match every server whose name extends it (`data` vs
    `data-exploration`): the patterns name the exact pod and HPA shapes instead.
    Prometheus anchors regexes, hence fullmatch."""
    servers = [s["metadata"]["name"] for s in by_kind(prod, "MCPServer")] + ["data", "data-exploration"]
    # Backend StatefulSet pods <name>-<ordinal>; proxy Deployment pods
    # <name>-<pod-template-hash>-<5 chars> (the ReplicaSet name generator's alphabet).
    pods = {s: [f"{s}-0", f"{s}-12", f"{s}-7d9f8c6b5-x2x4q", f"{s}-5b4d7-zv9kq"] for s in servers}
    hpas = {s: [f"{s}-proxy", f"{s}-backend"] for s in servers}
    rendered = {h["metadata"]["name"] for h in by_kind(prod, "HorizontalPodAutoscaler")}
    assert rendered
    assert rendered <= {n for names in hpas.values() for n in names}
    for label, owned in (("pod", pods), ("horizontalpodautoscaler", hpas)):
        [pattern] = _dashboard_patterns(label)
        for server in servers:
            regex = re.compile(pattern.replace("$server", server))
            for other, names in owned.items():
                for name in names:
                    assert bool(regex.fullmatch(name)) == (other == server), (label, server, name)


def test_grafana_has_prometheus_and_jaeger_datasources(prod):
    grafana = release_values(prod, "kube-prometheus-stack")["grafana"]
    assert grafana["sidecar"]["datasources"]["defaultDatasourceEnabled"] is True
    [jaeger] = grafana["additionalDataSources"]
    assert jaeger["type"] == "jaeger"
    assert jaeger["uid"] == "jaeger"
    assert jaeger["url"] == f"http://jaeger.{MON}.svc.cluster.local:16686"


def test_web_routes_name_the_chart_services(prod):
    config = parse_config(base_config(), "prod")
    routes = {r.name: r for r in monitoring.web_routes(config)}
    assert routes["grafana"].host == "grafana.finetunings.ai"
    assert routes["jaeger"].host == "jaeger.finetunings.ai"
    grafana = release_values(prod, "kube-prometheus-stack")["grafana"]
    # Service `<release>-grafana`, its port set to the pod port.
    assert routes["grafana"].service == "kube-prometheus-stack-grafana"
    assert routes["grafana"].port == grafana["service"]["port"] == 3000
    assert (routes["jaeger"].service, routes["jaeger"].port) == ("jaeger", 16686)


def test_uis_are_published_only_behind_the_allowlist(fixture_prod, run_fixture):
    assert fixture_prod.outputs["web_urls"] == {}
    guarded = run_fixture("prod", **{"edge.allowed_cidrs": ["203.0.113.0/24"]})
    assert guarded.outputs["web_urls"] == {
        "grafana": "https://grafana.finetunings.ai/",
        "jaeger": "https://jaeger.finetunings.ai/",
    }
    hosts = {r["host"] for i in by_kind(guarded, "Ingress") for r in i["spec"].get("rules", [])}
    assert {"grafana.finetunings.ai", "jaeger.finetunings.ai"} <= hosts


# --- Credentials ----------------------------------------------------------------------


def test_no_credential_in_any_rendered_object(stack_runs):
    for run in stack_runs.values():
        # The mocks make every generated password "x" * 32: it must appear nowhere.
        for obj in run.objects():
            text = json.dumps(obj)
            assert "x" * 32 not in text, obj["metadata"]["name"]
        for release in run.releases():
            text = json.dumps(release["values"])
            assert "x" * 32 not in text
            assert "adminPassword" not in text, release["name"]
        # Alertmanager receivers never sit inline in the values.
        assert "receivers" not in json.dumps(release_values(run, "kube-prometheus-stack")["alertmanager"])
        [secret] = [
            r for r in run.k8s_objects() if r.inputs["kind"] == "Secret" and r.inputs["metadata"]["namespace"] == MON
        ]
        # Both values are Pulumi secrets: redacted in every render, encrypted in state.
        for key in ("admin-user", "admin-password"):
            path = ("data", key)
            assert any(path[: len(p)] == tuple(p) for p in secret.secret_paths), key
        # Exactly the annotation the policy pack exempts (it cannot import components/).
        assert secret.inputs["metadata"]["annotations"] == {policy_secrets.GENERATED_BY: policy_secrets.PULUMI_RANDOM}


def test_grafana_admin_and_alertmanager_config_come_from_secrets(fixture_prod):
    values = release_values(fixture_prod, "kube-prometheus-stack")
    assert values["grafana"]["admin"] == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    # Without an alertmanager-config credential: the chart's default (null receiver).
    assert "useExistingSecret" not in values["alertmanager"]["alertmanagerSpec"]
    assert "config" not in values["alertmanager"]

    config = parse_config(base_config(), "prod")
    refs = {
        "grafana-admin/admin-user": SecretRef(MON, "ops-grafana", "user"),
        "grafana-admin/admin-password": SecretRef(MON, "ops-grafana", "password"),
        "alertmanager-config/alertmanager.yaml": SecretRef(MON, "ops-alertmanager", "alertmanager.yaml"),
    }
    provided = monitoring.kube_prometheus_stack_values(config, monitoring.secret_choice(refs))
    assert provided["grafana"]["admin"] == {
        "existingSecret": "ops-grafana",
        "userKey": "user",
        "passwordKey": "password",
    }
    spec = provided["alertmanager"]["alertmanagerSpec"]
    assert spec["useExistingSecret"] is True
    assert spec["configSecret"] == "ops-alertmanager"


def test_credentials_are_optional_and_match_the_secret_keys():
    config = parse_config(base_config(), "prod")
    specs = {c.id: c for c in monitoring.credentials(config)}
    assert specs["grafana-admin"].keys == ("admin-user", "admin-password")
    assert specs["alertmanager-config"].keys == ("alertmanager.yaml",)
    assert not any(c.required for c in specs.values())
    assert {c.namespace for c in specs.values()} == {MON}
    with pytest.raises(ValueError, match="both admin-user and admin-password"):
        monitoring.secret_choice({"grafana-admin/admin-user": SecretRef(MON, "g", "admin-user")})
    with pytest.raises(ValueError, match="reads the key"):
        monitoring.secret_choice({"alertmanager-config/alertmanager.yaml": SecretRef(MON, "a", "config.yaml")})


# --- NetworkPolicies ------------------------------------------------------------------


def test_monitoring_namespace_denies_by_default(prod):
    policies = _policies(prod)
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name in ("prometheus", "grafana", "otel-collector", "jaeger", "alertmanager"):
        assert policies[name]["policyTypes"] == ["Ingress", "Egress"], name


def test_prometheus_may_reach_every_scraped_namespace_and_they_admit_it(prod):
    policies = _policies(prod)
    reached = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in policies["prometheus"]["egress"]
        for peer in rule.get("to", [])
        if "namespaceSelector" in peer and "podSelector" not in peer
    }
    monitors = by_kind(prod, "ServiceMonitor")
    scraped = {n for m in monitors for n in m["spec"]["namespaceSelector"]["matchNames"]} - {MON}
    assert scraped <= reached
    # Each MCP proxy admits the monitoring namespace on its proxy port (= the scraped `http` port).
    mcp = _policies(prod, MCP_NS)
    for server in by_kind(prod, "MCPServer"):
        name, port = server["metadata"]["name"], server["spec"]["proxyPort"]
        ingress = mcp[f"mcp-{name}-proxy"]["ingress"]
        assert any(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MON}}} in rule["from"]
            and {"protocol": "TCP", "port": port} in rule["ports"]
            for rule in ingress
        ), name


def test_vmcp_services_are_scraped_on_a_port_their_policy_admits(prod):
    from components.plan import VMCP_PORT, vmcp_selector

    monitors = by_kind(prod, "ServiceMonitor")
    mcp = _policies(prod, MCP_NS)
    vmcps = by_kind(prod, "VirtualMCPServer")
    assert vmcps
    for vmcp in vmcps:
        name = vmcp["metadata"]["name"]
        assert [m["metadata"]["name"] for m in monitors if _selects(m, MCP_NS, vmcp_selector(name), "http")] == [
            f"vmcp-{name}"
        ]
        assert any(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MON}}} in rule["from"]
            and {"protocol": "TCP", "port": VMCP_PORT} in rule["ports"]
            for rule in mcp[f"vmcp-{name}"]["ingress"]
        )


def test_uis_admit_only_the_edge_and_grafana(prod):
    policies = _policies(prod)
    [grafana_in] = policies["grafana"]["ingress"]
    edge = grafana_in["from"][0]
    assert edge["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "nginx-ingress"}
    assert edge["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "nginx-ingress"
    assert grafana_in["ports"] == [{"protocol": "TCP", "port": 3000}]
    jaeger_ui = [r for r in policies["jaeger"]["ingress"] if {"protocol": "TCP", "port": 16686} in r["ports"]]
    assert len(jaeger_ui) == 1
    assert edge in jaeger_ui[0]["from"]
    assert policies["jaeger"]["egress"] == []


# --- Hardening ------------------------------------------------------------------------


def test_workloads_run_restricted(prod):
    kps = release_values(prod, "kube-prometheus-stack")
    assert kps["prometheus"]["prometheusSpec"]["securityContext"]["runAsNonRoot"] is True
    assert kps["grafana"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert kps["nodeExporter"] == {"enabled": False}  # hostNetwork/hostPath: not `restricted`
    collector = release_values(prod, "otel-collector")
    jaeger = release_values(prod, "jaeger")["jaeger"]
    for ctx in (collector["securityContext"], jaeger["securityContext"]):
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["allowPrivilegeEscalation"] is False
    for values in (collector, kps["grafana"], kps["prometheus"]["prometheusSpec"]):
        assert values["resources"]["limits"]["memory"]
    [namespace] = [n for n in by_kind(prod, "Namespace") if n["metadata"]["name"] == MON]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_grafana_serves_no_metrics_on_its_published_port(prod):
    """The edge publishes Grafana's port at '/' of grafana.<domain>: its unauthenticated
    /metrics is switched off there, and so is the chart's ServiceMonitor that scraped it
    (else a permanently failing scrape target)."""
    grafana = release_values(prod, "kube-prometheus-stack")["grafana"]
    assert grafana["grafana.ini"]["metrics"] == {"enabled": False}
    assert grafana["serviceMonitor"] == {"enabled": False}
    # Nothing scrapes it, so only the edge controller may reach Grafana's port.
    edge_ns, edge_pods = controller_pod_selector(parse_config(base_config(), "prod"))  # shipped prod: default edge
    [rule] = _policies(prod)["grafana"]["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": edge_ns}},
            "podSelector": {"matchLabels": edge_pods},
        }
    ]
