"""Edge security: no configuration injection, monitoring UIs behind the allowlist,
certificates from Let's Encrypt production. Each rule: a violating resource caught and
its correct twin passing."""

from __future__ import annotations

from typing import Any

import pytest

from policies.mcp_policies import edge_security as es
from policies.mcp_policies import kube
from tests.policy_support import STREAMING, certificate, helm, ingress, master, messages, resource, stack_violations
from tests.policy_support import violations as resource_violations

HOST = "finetunings.ai"

# ---------------------------------------------------------------------------
# edge-no-config-injection
# ---------------------------------------------------------------------------


def _route(annotations: dict[str, str] | None = None, path: str = "/pandas/mcp") -> dict:
    notes = {**STREAMING, **(annotations or {})}
    return ingress("mcp-pandas", "data-science", HOST, path, "mcp-pandas-proxy", 8004, annotations=notes)


@pytest.mark.parametrize(
    ("annotations", "problem"),
    [
        ({"nginx.org/server-snippets": "location /x { return 200; }"}, "annotation nginx.org/server-snippets hands"),
        ({"nginx.org/location-snippets": "deny all;"}, "annotation nginx.org/location-snippets hands"),
        ({"nginx.ingress.kubernetes.io/configuration-snippet": "x"}, "configuration-snippet hands raw NGINX"),
        ({"nginx.org/proxy-read-timeout": "3600s;\nlocation /leak { alias /etc/; }"}, "proxy-read-timeout holds ';'"),
        ({"nginx.org/client-max-body-size": "16m; include /etc/passwd"}, "client-max-body-size holds ';'"),
    ],
    ids=["server-snippets", "location-snippets", "ingress-nginx-snippet", "line-break", "semicolon"],
)
def test_snippets_and_directive_breakouts_are_caught(annotations, problem):
    [found] = resource_violations(es.EDGE_NO_CONFIG_INJECTION, kube.INGRESS, _route(annotations))
    assert found.startswith("Ingress data-science/mcp-pandas: ")
    assert problem in found


def test_typed_annotations_pass_including_the_rewrites_list():
    rewrites = {"nginx.org/rewrites": "serviceName=a rewrite=/mcp;serviceName=b rewrite=/sse"}
    assert resource_violations(es.EDGE_NO_CONFIG_INJECTION, kube.INGRESS, _route(rewrites)) == []


def test_a_path_that_breaks_out_of_its_location_is_caught():
    bad = _route(path="/pandas/mcp { return 200; }")
    [found] = resource_violations(es.EDGE_NO_CONFIG_INJECTION, kube.INGRESS, bad)
    assert "path '/pandas/mcp { return 200; }' holds whitespace" in found


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"controller": {"enableSnippets": True}}, "controller.enableSnippets"),
        ({"controller": {"config": {"entries": {"http-snippets": "lua_code_cache off;"}}}}, "http-snippets"),
        ({"nginxGateway": {"snippetsFilters": {"enable": True}}}, "nginxGateway.snippetsFilters.enable"),
    ],
)
def test_chart_values_that_switch_snippets_on_are_caught(values, path):
    [found] = resource_violations(es.EDGE_NO_CONFIG_INJECTION, kube.HELM_RELEASE, helm(values))
    assert path in found
    assert found.endswith("switches snippets on")


def test_chart_values_with_snippets_off_pass():
    values = {"controller": {"enableSnippets": False}, "nginxGateway": {"snippetsFilters": {"enable": False}}}
    assert resource_violations(es.EDGE_NO_CONFIG_INJECTION, kube.HELM_RELEASE, helm(values)) == []


def test_snippet_objects_and_fields_are_caught():
    snippets = {"metadata": {"name": "raw", "namespace": "data-science"}, "spec": {"snippets": []}}
    found = resource_violations(
        es.EDGE_NO_CONFIG_INJECTION, "kubernetes:gateway.nginx.org/v1alpha1:SnippetsFilter", snippets
    )
    assert found == ["SnippetsFilter data-science/raw: SnippetsFilter injects raw NGINX configuration"]
    vs_type = "kubernetes:k8s.nginx.org/v1:VirtualServer"
    vs = {"metadata": {"name": "vs", "namespace": "edge"}, "spec": {"host": HOST, "server-snippets": "deny all;"}}
    assert resource_violations(es.EDGE_NO_CONFIG_INJECTION, vs_type, vs) == [
        "VirtualServer edge/vs: spec server-snippets sets a snippet"
    ]
    vs["spec"].pop("server-snippets")
    assert resource_violations(es.EDGE_NO_CONFIG_INJECTION, vs_type, vs) == []
    config_map = {"metadata": {"name": "nginx-config", "namespace": "edge"}, "data": {"http-snippets": "x"}}
    assert resource_violations(es.EDGE_NO_CONFIG_INJECTION, es.CONFIG_MAP, config_map) == [
        "ConfigMap edge/nginx-config: data key http-snippets sets a snippet"
    ]


# ---------------------------------------------------------------------------
# monitoring-ui-behind-allowlist
# ---------------------------------------------------------------------------

ALLOWLIST = "nginx.org/policies"


def _ui_route(policies: str | None = None) -> Any:
    notes = {"nginx.org/mergeable-ingress-type": "minion"}
    if policies:
        notes[ALLOWLIST] = policies
    props = ingress(
        "ui-grafana", "monitoring", "grafana.finetunings.ai", "/", "kube-prometheus-stack-grafana", 80,
        annotations=notes, path_type="Prefix",
    )  # fmt: skip
    return resource(kube.INGRESS, props)


def _nic_policy(allow: list[str], namespace: str = "monitoring") -> Any:
    props = {
        "metadata": {"name": "edge-allowlist", "namespace": namespace},
        "spec": {"accessControl": {"allow": allow}},
    }
    return resource(es.NIC_POLICY, props)


def test_a_public_monitoring_ui_is_caught():
    found = stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, [_ui_route()])
    assert messages(found) == [
        "Ingress monitoring/ui-grafana publishes monitoring Service monitoring/kube-prometheus-stack-grafana "
        "without an allowlist in front of it"
    ]


def test_a_monitoring_ui_behind_the_allowlist_passes():
    resources = [_ui_route("edge-allowlist"), _nic_policy(["203.0.113.0/24"])]
    assert stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, resources) == []
    # Through the host's mergeable master, with a namespace-qualified reference.
    grafana_master = master("grafana.finetunings.ai")
    grafana_master["metadata"]["annotations"][ALLOWLIST] = "nginx-ingress/edge-allowlist"
    resources = [_ui_route(), resource(kube.INGRESS, grafana_master), _nic_policy(["203.0.113.0/24"], "nginx-ingress")]
    assert stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, resources) == []


@pytest.mark.parametrize("allow", [["0.0.0.0/0"], [], ["203.0.113.0/24", "::/0"]])
def test_an_allowlist_that_allows_everyone_does_not_count(allow):
    resources = [_ui_route("edge-allowlist"), _nic_policy(allow)]
    assert stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, resources)


def test_an_mcp_route_is_not_this_rules_business():
    mcp = resource(kube.INGRESS, _route())
    assert stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, [mcp]) == []


def _gateway_route_and_policies(clients: list[dict]) -> list[Any]:
    gateway = {"metadata": {"name": "edge", "namespace": "nginx-ingress"}, "spec": {"listeners": []}}
    route = {
        "metadata": {"name": "ui-jaeger", "namespace": "monitoring"},
        "spec": {
            "parentRefs": [{"name": "edge", "namespace": "nginx-ingress"}],
            "hostnames": ["jaeger.finetunings.ai"],
            "rules": [{"backendRefs": [{"name": "jaeger", "port": 16686}]}],
        },
    }
    data_plane = {"gateway.networking.k8s.io/gateway-name": "edge"}
    netpol = {
        "metadata": {"name": "edge-clients", "namespace": "nginx-ingress"},
        "spec": {
            "podSelector": {"matchLabels": data_plane},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": clients, "ports": [{"port": 443}]}],
        },
    }
    return [
        resource(kube.GATEWAY, gateway),
        resource(kube.HTTP_ROUTE, route),
        resource(kube.NETWORK_POLICY, netpol),
    ]


def test_gateway_api_ui_route_needs_the_data_plane_confined():
    open_ = _gateway_route_and_policies([{"ipBlock": {"cidr": "0.0.0.0/0"}}])
    [(msg, _)] = stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, open_)
    assert msg.startswith("HTTPRoute monitoring/ui-jaeger publishes monitoring Service monitoring/jaeger without")
    allowlisted = _gateway_route_and_policies([{"ipBlock": {"cidr": "203.0.113.0/24"}}])
    assert stack_violations(es.MONITORING_UI_BEHIND_ALLOWLIST, allowlisted) == []


# ---------------------------------------------------------------------------
# certificate-production-issuer
# ---------------------------------------------------------------------------

STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


def _issuer(server: str | None, name: str = "letsencrypt") -> Any:
    spec: dict[str, Any] = {"acme": {"server": server}} if server else {"selfSigned": {}}
    return resource(es.CLUSTER_ISSUER, {"metadata": {"name": name}, "spec": spec})


def _certificate(issuer: str = "letsencrypt", kind: str = "ClusterIssuer") -> Any:
    cert = certificate([HOST])
    cert["spec"]["issuerRef"] = {"group": "cert-manager.io", "kind": kind, "name": issuer}
    return resource(kube.CERTIFICATE, cert)


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        (STAGING, f"ClusterIssuer letsencrypt uses {STAGING}"),
        (None, "ClusterIssuer letsencrypt uses no ACME server"),
    ],
    ids=["staging", "self-signed"],
)
def test_a_certificate_from_another_issuer_is_caught(issuer, problem):
    found = stack_violations(es.CERTIFICATE_PRODUCTION_ISSUER, [_issuer(issuer), _certificate()])
    assert messages(found) == [
        f"Certificate nginx-ingress/finetunings-ai-tls: {problem} (allowed: ['{es.LETS_ENCRYPT_PRODUCTION}'])"
    ]
    assert (
        stack_violations(es.CERTIFICATE_PRODUCTION_ISSUER, [_issuer(es.LETS_ENCRYPT_PRODUCTION), _certificate()]) == []
    )


def test_an_issuer_outside_the_stack_cannot_be_checked():
    found = stack_violations(es.CERTIFICATE_PRODUCTION_ISSUER, [_certificate("letsencrypt", "Issuer")])
    assert messages(found) == [
        "Certificate nginx-ingress/finetunings-ai-tls: Issuer letsencrypt is not in this stack, so its ACME server "
        "cannot be checked"
    ]


def test_an_ingress_asking_cert_manager_for_a_certificate_is_checked_too():
    props = ingress("web", "apps", HOST, "/", "web", 80, annotations={"cert-manager.io/cluster-issuer": "letsencrypt"})
    [(msg, _)] = stack_violations(es.CERTIFICATE_PRODUCTION_ISSUER, [_issuer(STAGING), resource(kube.INGRESS, props)])
    assert msg.startswith(f"Ingress apps/web: ClusterIssuer letsencrypt uses {STAGING}")


def test_an_environment_may_allow_staging_with_config():
    config = {"allowedAcmeServers": [es.LETS_ENCRYPT_PRODUCTION, STAGING], "reason": "dev"}
    assert stack_violations(es.CERTIFICATE_PRODUCTION_ISSUER, [_issuer(STAGING), _certificate()], config) == []
