"""Edge rules: TLS for every host, streaming settings on MCP routes, no /metrics, and no
retired ingress-nginx."""

from __future__ import annotations

import pytest

from policies.mcp_policies import edge, kube
from tests.policy_support import (
    STREAMING,
    certificate,
    helm,
    ingress,
    master,
    mcpserver,
    messages,
    resource,
    stack_violations,
    violations,
)

DOMAIN = "finetunings.ai"


def minion(host: str = DOMAIN, annotations: dict | None = None, service: str = "mcp-pandas-proxy") -> dict:
    return ingress(
        "mcp-pandas-mcp", "data-science", host, "/pandas/mcp", service, 8004, annotations=annotations or STREAMING
    )


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


def test_minion_host_served_by_tls_master_with_certificate_passes():
    resources = [
        resource(kube.INGRESS, master()),
        resource(kube.INGRESS, minion()),
        resource(kube.CERTIFICATE, certificate([DOMAIN, f"*.{DOMAIN}"])),
    ]
    assert stack_violations(edge.ROUTE_TLS, resources) == []


def test_host_without_tls_fails():
    resources = [
        resource(kube.INGRESS, minion(host=f"api.{DOMAIN}")),
        resource(kube.INGRESS, master()),
        resource(kube.CERTIFICATE, certificate([DOMAIN])),
    ]
    found = stack_violations(edge.ROUTE_TLS, resources)
    assert messages(found) == [
        "Ingress data-science/mcp-pandas-mcp: host api.finetunings.ai has no TLS (spec.tls on the Ingress or its "
        "mergeable master)"
    ]
    assert found[0][1] == resources[0].urn


def test_tls_secret_must_come_from_a_covering_certificate():
    resources = [
        resource(kube.INGRESS, master(f"api.{DOMAIN}")),
        resource(kube.CERTIFICATE, certificate([DOMAIN])),
    ]
    assert messages(stack_violations(edge.ROUTE_TLS, resources)) == [
        "Ingress nginx-ingress/edge-api-finetunings-ai: host api.finetunings.ai: Certificate for Secret "
        "nginx-ingress/finetunings-ai-tls covers ['finetunings.ai'], not api.finetunings.ai"
    ]
    assert messages(stack_violations(edge.ROUTE_TLS, resources[:1])) == [
        "Ingress nginx-ingress/edge-api-finetunings-ai: host api.finetunings.ai: no cert-manager Certificate in this "
        "stack issues Secret nginx-ingress/finetunings-ai-tls"
    ]


def _gateway(listeners: list[dict]) -> dict:
    return {"metadata": {"name": "edge", "namespace": "nginx-ingress"}, "spec": {"listeners": listeners}}


HTTPS = {
    "name": "https-finetunings-ai",
    "hostname": DOMAIN,
    "port": 443,
    "protocol": "HTTPS",
    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "finetunings-ai-tls"}]},
}
HTTP = {"name": "http", "port": 80, "protocol": "HTTP"}


def _httproute(section: str, rules: list[dict] | None = None, hostnames: tuple[str, ...] = (DOMAIN,)) -> dict:
    return {
        "metadata": {"name": "mcp-pandas", "namespace": "data-science"},
        "spec": {
            "parentRefs": [{"name": "edge", "namespace": "nginx-ingress", "sectionName": section}],
            "hostnames": list(hostnames),
            "rules": rules
            or [
                {
                    "matches": [{"path": {"type": "Exact", "value": "/pandas/mcp"}}],
                    "backendRefs": [{"name": "mcp-pandas-proxy", "port": 8004}],
                }
            ],
        },
    }


def test_httproute_on_https_listener_passes_and_on_http_fails():
    base = [resource(kube.GATEWAY, _gateway([HTTP, HTTPS])), resource(kube.CERTIFICATE, certificate([DOMAIN]))]
    assert stack_violations(edge.ROUTE_TLS, [*base, resource(kube.HTTP_ROUTE, _httproute(HTTPS["name"]))]) == []
    found = stack_violations(edge.ROUTE_TLS, [*base, resource(kube.HTTP_ROUTE, _httproute("http"))])
    assert messages(found) == [
        "HTTPRoute data-science/mcp-pandas: attaches to Gateway listener 'http', which does not terminate TLS"
    ]


def test_https_redirect_route_on_http_listener_is_exempt():
    redirect = _httproute(
        "http",
        rules=[{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
        hostnames=(),
    )
    resources = [resource(kube.GATEWAY, _gateway([HTTP, HTTPS])), resource(kube.HTTP_ROUTE, redirect)]
    assert stack_violations(edge.ROUTE_TLS, resources) == []


# ---------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------


def test_mcp_ingress_with_streaming_annotations_passes():
    resources = [resource(kube.MCP_SERVER, mcpserver()), resource(kube.INGRESS, minion())]
    assert stack_violations(edge.MCP_ROUTE_STREAMING, resources) == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"nginx.org/proxy-read-timeout": "60s"}, "nginx.org/proxy-read-timeout is 60s (< 3600s)"),
        ({"nginx.org/proxy-send-timeout": "soon"}, "nginx.org/proxy-send-timeout 'soon' is not an nginx time"),
        ({"nginx.org/proxy-buffering": "True"}, "nginx.org/proxy-buffering is not false"),
    ],
)
def test_mcp_ingress_without_streaming_settings_fails(change, fragment):
    route = minion(annotations={**STREAMING, **change})
    found = stack_violations(
        edge.MCP_ROUTE_STREAMING, [resource(kube.MCP_SERVER, mcpserver()), resource(kube.INGRESS, route)]
    )
    [msg] = messages(found)
    assert msg.startswith("Ingress data-science/mcp-pandas-mcp (MCP route to mcp-pandas-proxy): ")
    assert fragment in msg


def test_missing_annotation_is_named():
    annotations = {k: v for k, v in STREAMING.items() if k != "nginx.org/proxy-read-timeout"}
    found = stack_violations(edge.MCP_ROUTE_STREAMING, [resource(kube.INGRESS, minion(annotations=annotations))])
    assert messages(found) == [
        "Ingress data-science/mcp-pandas-mcp (MCP route to mcp-pandas-proxy): nginx.org/proxy-read-timeout is not set"
    ]


def test_nginx_times():
    assert kube.nginx_seconds("3600s") == 3600
    assert kube.nginx_seconds("1h") == 3600
    assert kube.nginx_seconds("1h30m") == 5400
    assert kube.nginx_seconds("90") == 90
    assert kube.nginx_seconds("1 hour") is None


def _proxy_settings(buffering: bool, read: str) -> dict:
    return {
        "metadata": {"name": "mcp-streaming", "namespace": "data-science"},
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "mcp-pandas"}],
            "buffering": {"disable": buffering},
            "timeout": {"read": read, "send": "3600s"},
        },
    }


def test_gateway_fabric_route_needs_a_proxy_settings_policy():
    route = resource(kube.HTTP_ROUTE, _httproute("https-finetunings-ai"))
    ok = resource(kube.PROXY_SETTINGS_POLICY, _proxy_settings(True, "3600s"))
    assert stack_violations(edge.MCP_ROUTE_STREAMING, [route, ok]) == []
    assert messages(stack_violations(edge.MCP_ROUTE_STREAMING, [route])) == [
        "HTTPRoute data-science/mcp-pandas (MCP route to mcp-pandas-proxy): no NGINX Gateway Fabric "
        "ProxySettingsPolicy targets it (buffering and timeouts stay at defaults)"
    ]
    bad = resource(kube.PROXY_SETTINGS_POLICY, _proxy_settings(False, "60s"))
    msgs = messages(stack_violations(edge.MCP_ROUTE_STREAMING, [route, bad]))
    assert [m.split(": ", 1)[1] for m in msgs] == [
        "ProxySettingsPolicy mcp-streaming does not disable buffering",
        "ProxySettingsPolicy timeout.read is 60s (< 3600s)",
    ]


def test_non_mcp_routes_are_not_streaming_routes():
    ui = ingress("grafana", "monitoring", f"grafana.{DOMAIN}", "/", "grafana", 80, path_type="Prefix")
    assert stack_violations(edge.MCP_ROUTE_STREAMING, [resource(kube.INGRESS, ui)]) == []


# ---------------------------------------------------------------------------
# /metrics
# ---------------------------------------------------------------------------


def test_exact_mcp_paths_and_named_directories_pass():
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, minion()) == []
    outputs = ingress(
        "mcp-penrose-outputs",
        "data-science",
        DOMAIN,
        "/penrose/outputs/",
        "mcp-penrose-proxy",
        8006,
        path_type="Prefix",
        annotations={"nginx.org/rewrites": "serviceName=mcp-penrose-proxy rewrite=/outputs/"},
    )
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, outputs) == []


def test_metrics_paths_and_whole_service_prefixes_fail():
    metrics = ingress("m", "data-science", DOMAIN, "/pandas/metrics", "mcp-pandas-proxy", 8004)
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, metrics) == [
        "Ingress data-science/m publishes /pandas/metrics -> mcp-pandas-proxy, a metrics path"
    ]
    whole = ingress(
        "w",
        "data-science",
        DOMAIN,
        "/pandas/",
        "mcp-pandas-proxy",
        8004,
        path_type="Prefix",
        annotations={"nginx.org/rewrites": "serviceName=mcp-pandas-proxy rewrite=/"},
    )
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, whole) == [
        "Ingress data-science/w publishes the whole of mcp-pandas-proxy under prefix /pandas/, which includes its /metrics"
    ]
    rewrite = _httproute(
        "https",
        rules=[
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/stats"}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/metrics"}},
                    }
                ],
                "backendRefs": [{"name": "vmcp-gov-data", "port": 4483}],
            }
        ],
    )
    assert violations(edge.ROUTE_NO_METRICS, kube.HTTP_ROUTE, rewrite) == [
        "HTTPRoute data-science/mcp-pandas publishes /stats -> vmcp-gov-data/metrics, a metrics path"
    ]


def _grafana_ui(path: str = "/") -> dict:
    return ingress(
        "ui-grafana", "monitoring", "grafana." + DOMAIN, path, "kube-prometheus-stack-grafana", 3000, path_type="Prefix"
    )


def test_a_ui_published_at_its_root_publishes_its_metrics():
    """Grafana serves /metrics on its HTTP port (grafana.ini [metrics] enabled by default), so
    publishing it at '/' publishes /metrics too."""
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, _grafana_ui()) == [
        "Ingress monitoring/ui-grafana publishes the whole of kube-prometheus-stack-grafana under prefix /, which "
        "includes its /metrics"
    ]
    route = _httproute(
        "https",
        rules=[
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [{"name": "kube-prometheus-stack-grafana", "port": 3000}],
            }
        ],
    )
    assert len(violations(edge.ROUTE_NO_METRICS, kube.HTTP_ROUTE, route)) == 1


def test_metrics_services_are_configurable():
    # A Grafana whose /metrics sits behind basic auth may be taken off the list.
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, _grafana_ui(), {"metricsServices": ["^mcp-"]}) == []
    # Services that do not serve /metrics on the routed port pass at their root.
    jaeger = ingress("ui-jaeger", "monitoring", "jaeger." + DOMAIN, "/", "jaeger", 16686, path_type="Prefix")
    assert violations(edge.ROUTE_NO_METRICS, kube.INGRESS, jaeger) == []


# ---------------------------------------------------------------------------
# Maintained controller
# ---------------------------------------------------------------------------


def test_maintained_controllers_pass():
    nic = helm({"controller": {"image": {"repository": "nginx/nginx-ingress", "tag": "5.5.4"}}})
    assert violations(edge.EDGE_CONTROLLER_MAINTAINED, kube.HELM_RELEASE, nic) == []
    assert violations(edge.EDGE_CONTROLLER_MAINTAINED, kube.INGRESS, minion()) == []


def test_retired_ingress_nginx_is_refused():
    chart = helm({}, name="ingress-nginx", chart="ingress-nginx")
    chart["repositoryOpts"] = {"repo": "https://kubernetes.github.io/ingress-nginx"}
    assert violations(edge.EDGE_CONTROLLER_MAINTAINED, kube.HELM_RELEASE, chart) == [
        "Helm release edge/ingress-nginx installs the retired kubernetes/ingress-nginx chart (ingress-nginx from "
        "https://kubernetes.github.io/ingress-nginx)"
    ]
    image = helm({"controller": {"image": "registry.k8s.io/ingress-nginx/controller:v1.12.0"}})
    [msg] = violations(edge.EDGE_CONTROLLER_MAINTAINED, kube.HELM_RELEASE, image)
    assert "is the retired ingress-nginx controller" in msg
    old = minion(annotations={"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"})
    assert violations(edge.EDGE_CONTROLLER_MAINTAINED, kube.INGRESS, old) == [
        "Ingress data-science/mcp-pandas-mcp carries ingress-nginx annotations "
        "['nginx.ingress.kubernetes.io/proxy-read-timeout'], which the F5 NGINX controller ignores"
    ]
