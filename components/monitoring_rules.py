"""The MCP alert rules (one PrometheusRule), built from config thresholds (pure).

Every expression uses only metrics that exist upstream (the allowlist and its sources
are in tests/test_monitoring.py):
- ToolHive proxy (`pkg/telemetry/middleware.go`, research/toolhive.md §4):
  `toolhive_mcp_requests_total{server, status, method, mcp_method, ...}`,
  `toolhive_mcp_request_duration_seconds_bucket`, `toolhive_mcp_tool_calls_total{server, tool, status}`;
- kube-state-metrics: pod restarts, waiting reason, readiness, limits, HPA replicas;
- cAdvisor (kubelet): container working set and CFS throttling;
- cert-manager: `certmanager_certificate_expiration_timestamp_seconds`;
- Prometheus itself: `up`.

Each alert has a `severity` label and `summary`, `description` and `runbook` annotations
(the runbook is short text: what to check first, in order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.config import AlertThresholds

# Requests per second below which ratios are noise (one request in ~2 minutes).
MIN_RATE = 0.008
GROUP_NAME_PREFIX = "mcp-datascience"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str  # warning | critical
    summary: str
    description: str
    runbook: str

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "description": self.description, "runbook": self.runbook},
        }


def _fmt(value: float) -> str:
    return f"{value:g}"


def mcp_alerts(t: AlertThresholds) -> list[Alert]:
    """Traffic alerts on the ToolHive proxy metrics, per server (and tool)."""
    total = "sum by (namespace, server) (rate(toolhive_mcp_requests_total[5m]))"
    errors = 'sum by (namespace, server) (rate(toolhive_mcp_requests_total{status="error"}[5m]))'
    calls = "sum by (namespace, server, tool) (rate(toolhive_mcp_tool_calls_total[10m]))"
    failed = 'sum by (namespace, server, tool) (rate(toolhive_mcp_tool_calls_total{status="error"}[10m]))'
    p95 = (
        "histogram_quantile(0.95, sum by (namespace, server, le) "
        '(rate(toolhive_mcp_request_duration_seconds_bucket{method="POST"}[5m])))'
    )
    quiet = f"{t.no_traffic_minutes}m"
    busy = f"{total} > {MIN_RATE}"
    return [
        Alert(
            "McpErrorRatioHigh",
            f"({errors} / {total}) > {_fmt(t.error_ratio)} and {busy}",
            "10m",
            "critical",
            "MCP server {{ $labels.server }}: {{ $value | humanizePercentage }} of requests fail",
            f"More than {_fmt(t.error_ratio * 100)}% of the MCP requests to {{{{ $labels.server }}}} "
            "in {{ $labels.namespace }} returned an error over 10 minutes.",
            "1. Grafana 'MCP server' dashboard for this server: which mcp_method fails, since when. "
            "2. Jaeger: search service = the server name, tag error=true. "
            "3. kubectl -n <namespace> logs deploy/<server> (proxy) and logs <server>-0 -c mcp (backend). "
            "4. Upstream API down or a credential expired? Check the backend's egress target.",
        ),
        Alert(
            "McpLatencyP95High",
            # A quantile of a handful of requests is one slow request: judge busy servers only.
            f"({p95} > {_fmt(t.p95_latency_seconds)}) and on (namespace, server) ({busy})",
            "15m",
            "warning",
            "MCP server {{ $labels.server }}: p95 latency {{ $value | humanizeDuration }}",
            f"The 95th percentile of MCP request latency to {{{{ $labels.server }}}} stayed above "
            f"{_fmt(t.p95_latency_seconds)} s for 15 minutes.",
            "1. Dashboard latency panel: one method or all? Follow its 'Traces' link to slow spans. "
            "2. CPU throttling or memory pressure on the backend (same dashboard, resources row). "
            "3. HPA at max? Raise mcp.autoscale.max_replicas or the server's size class.",
        ),
        Alert(
            "McpToolCallFailures",
            f"({failed} / {calls}) > {_fmt(t.tool_failure_ratio)} and {calls} > {MIN_RATE}",
            "15m",
            "warning",
            "Tool {{ $labels.tool }} on {{ $labels.server }} fails {{ $value | humanizePercentage }} of calls",
            f"More than {_fmt(t.tool_failure_ratio * 100)}% of calls of tool {{{{ $labels.tool }}}} on "
            "{{ $labels.server }} failed over 15 minutes.",
            "1. Jaeger: service = the server, operation 'tools/call <tool>', error=true: read the error. "
            "2. Bad arguments from one client, or an upstream failure for every caller? "
            "3. Backend logs: kubectl -n <namespace> logs <server>-0 -c mcp.",
        ),
        Alert(
            "McpNoTraffic",
            # `unless`, not `== 0`: a restarted proxy has no series until its first request
            # (OTel counters start on first use), and a silent outage must still fire.
            f"(sum by (namespace, server) (increase(toolhive_mcp_requests_total[1d] offset {quiet})) > 10) "
            "unless on (namespace, server) "
            f"(sum by (namespace, server) (increase(toolhive_mcp_requests_total[{quiet}])) > 0)",
            "5m",
            "warning",
            "MCP server {{ $labels.server }} received no request for " + quiet,
            f"{{{{ $labels.server }}}} served requests during the previous day but none in the last {quiet} "
            "(also fires for a day after a server is removed from the stack).",
            "1. Is the route still published? curl -sS https://<domain>/<path>/health (with edge.publish_health). "
            "2. Edge controller logs and the Ingress/HTTPRoute status. "
            "3. Clients may have moved: check the other servers' traffic before paging anyone.",
        ),
    ]


def workload_alerts(t: AlertThresholds, mcp_namespace: str) -> list[Alert]:
    """Pod health and resources of the MCP namespace (proxies `toolhive`, backends `mcp`)."""
    ns = f'namespace="{mcp_namespace}"'
    by = "by (namespace, pod, container)"
    working_set = f'max {by} (container_memory_working_set_bytes{{{ns}, container!=""}})'
    limit = f'max {by} (kube_pod_container_resource_limits{{{ns}, resource="memory"}})'
    throttled = f'sum {by} (increase(container_cpu_cfs_throttled_periods_total{{{ns}, container!=""}}[5m]))'
    periods = f'sum {by} (increase(container_cpu_cfs_periods_total{{{ns}, container!=""}}[5m]))'
    hpa = "kube_horizontalpodautoscaler"
    by_hpa = "by (namespace, horizontalpodautoscaler)"
    return [
        Alert(
            "McpPodCrashLooping",
            f"(increase(kube_pod_container_status_restarts_total{{{ns}}}[15m]) >= {t.restarts_per_15m}) "
            f'or (max_over_time(kube_pod_container_status_waiting_reason{{{ns}, reason="CrashLoopBackOff"}}[5m]) >= 1)',
            "5m",
            "critical",
            "{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
            "Container {{ $labels.container }} of {{ $labels.pod }} restarted repeatedly "
            "(container toolhive = the proxy, mcp = the MCP server).",
            "1. kubectl -n <namespace> describe pod <pod>: last state, exit code, OOMKilled? "
            "2. kubectl -n <namespace> logs <pod> -c <container> --previous. "
            "3. OOMKilled: raise the size class; probe failures: compare with the backend's startup time.",
        ),
        Alert(
            "McpPodNotReady",
            # Only live pods: a Failed (evicted) or Succeeded pod stays ready=false until it is
            # garbage-collected and would otherwise alert for days.
            f'(sum by (namespace, pod) (kube_pod_status_ready{{{ns}, condition="false"}}) > 0) '
            "and on (namespace, pod) "
            f'(max by (namespace, pod) (kube_pod_status_phase{{{ns}, phase=~"Pending|Running"}}) == 1)',
            "10m",
            "warning",
            "{{ $labels.pod }} has not been ready for 10 minutes",
            "Pod {{ $labels.pod }} in {{ $labels.namespace }} fails its readiness probe.",
            "1. kubectl -n <namespace> describe pod <pod> (events, probe messages). "
            "2. Proxy not ready usually means its backend does not answer: check the backend pod <server>-0. "
            "3. Pending pods: node capacity or PVC binding.",
        ),
        Alert(
            "McpContainerMemoryNearLimit",
            f"({working_set} / {limit}) > {_fmt(t.memory_limit_ratio)}",
            "15m",
            "warning",
            "{{ $labels.pod }}/{{ $labels.container }} uses {{ $value | humanizePercentage }} of its memory limit",
            f"The working set stayed above {_fmt(t.memory_limit_ratio * 100)}% of the memory limit for 15 minutes; "
            "the kernel kills the container at the limit.",
            "1. Dashboard resources row: steady growth (leak) or load spikes? "
            "2. Raise the server's size (mcp.servers.<name>.size or resources) or scale out if stateless.",
        ),
        Alert(
            "McpContainerCpuThrottled",
            f"({throttled} / {periods}) > {_fmt(t.cpu_throttle_ratio)}",
            "15m",
            "warning",
            "{{ $labels.pod }}/{{ $labels.container }} is CPU-throttled {{ $value | humanizePercentage }} of the time",
            f"More than {_fmt(t.cpu_throttle_ratio * 100)}% of CFS periods were throttled over 15 minutes: "
            "requests slow down although the node may have idle CPU.",
            "1. Correlate with the latency panel. 2. Raise the CPU limit of the size class, "
            "or let the HPA scale earlier (mcp.autoscale.cpu_utilization).",
        ),
        Alert(
            "McpAutoscalerAtMax",
            f"(max {by_hpa} ({hpa}_status_current_replicas{{{ns}}}) >= max {by_hpa} ({hpa}_spec_max_replicas{{{ns}}})) "
            # An autoscaler whose bounds are equal has nowhere to go: not worth an alert.
            f"and (max {by_hpa} ({hpa}_spec_max_replicas{{{ns}}}) > max {by_hpa} ({hpa}_spec_min_replicas{{{ns}}}))",
            f"{t.hpa_at_max_minutes}m",
            "warning",
            "HPA {{ $labels.horizontalpodautoscaler }} is pinned at its maximum",
            f"The autoscaler has run at maxReplicas for {t.hpa_at_max_minutes} minutes: load exceeds what it may add.",
            "1. Latency and error panels: are users affected? "
            "2. Raise mcp.autoscale.max_replicas (or the server's autoscale) if the cluster has room.",
        ),
    ]


def platform_alerts(t: AlertThresholds, scrape_namespaces: Sequence[str]) -> list[Alert]:
    """Certificates and scraping."""
    namespaces = "|".join(sorted(set(scrape_namespaces)))
    days = t.certificate_expiry_days
    return [
        Alert(
            "CertificateExpiringSoon",
            f"(certmanager_certificate_expiration_timestamp_seconds - time()) < {days * 86400}",
            "1h",
            "critical" if days <= 7 else "warning",
            # The Certificate's namespace arrives as `exported_namespace`: the ServiceMonitor
            # does not honor labels, so `namespace` is cert-manager's own (the target's).
            "Certificate {{ $labels.exported_namespace }}/{{ $labels.name }} expires in "
            "{{ $value | humanizeDuration }}",
            f"cert-manager renews 30 days before expiry by default; a certificate within {days} days of "
            "expiry means renewals fail.",
            "1. kubectl -n <namespace> describe certificate <name>, then the latest CertificateRequest and Order. "
            "2. DNS-01: is the DNS API credential valid (GoDaddy/Cloudflare)? "
            "3. kubectl -n cert-manager logs deploy/cert-manager.",
        ),
        Alert(
            "ScrapeTargetDown",
            f'up{{namespace=~"{namespaces}"}} == 0',
            "10m",
            "warning",
            "Prometheus cannot scrape {{ $labels.job }} ({{ $labels.instance }})",
            "A metrics endpoint of the stack has been unreachable for 10 minutes; its dashboards and alerts are blind.",
            "1. Prometheus UI > Status > Targets shows the error. "
            "2. Pod running? kubectl -n <namespace> get pods. "
            "3. 'context deadline exceeded' usually means a NetworkPolicy drops the scrape: "
            "the target namespace must admit the monitoring namespace on the metrics port.",
        ),
    ]


def prometheus_rule_spec(t: AlertThresholds, mcp_namespace: str, scrape_namespaces: Sequence[str]) -> dict[str, Any]:
    groups = [
        ("mcp-traffic", mcp_alerts(t)),
        ("mcp-workloads", workload_alerts(t, mcp_namespace)),
        ("platform", platform_alerts(t, scrape_namespaces)),
    ]
    return {
        "groups": [
            {"name": f"{GROUP_NAME_PREFIX}.{name}", "rules": [a.rule() for a in alerts]} for name, alerts in groups
        ]
    }
