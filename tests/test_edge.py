"""EdgeIngress: routes, streaming settings, TLS, DNS providers, access control, per controller."""

from __future__ import annotations

import itertools

import pytest

from components.config_errors import ConfigError
from components.contracts import Route, WebRoute
from components.edge import (
    TYPE,
    controller_pod_selector,
    credentials,
    dns_credentials,
    nginx_ingress_values,
    scrape_targets,
)
from components.edge_plan import MCP_ALLOW_HEADERS, build_edge_plan, gateway_objects, nic_objects
from components.plan import build_plan
from components.secrets import Materialisation
from components.stack_config import parse_config
from offline.policy_run import stack_config
from tests.stackconfig import base_config

SEVEN = ("huggingface", "dataset-viewer", "data-explorer", "pandas", "datahub", "penrose", "gov-data")


def fixture_routes(namespace: str = "data-science") -> list[Route]:
    return [
        Route(n, f"/{n}", namespace, f"mcp-{n}-proxy", 8080, extra_paths=("/outputs/",) if n == "penrose" else ())
        for n in SEVEN
    ]


WEB = [
    WebRoute("grafana", "grafana.finetunings.ai", "monitoring", "kube-prometheus-stack-grafana", 80),
    WebRoute("jaeger", "jaeger.finetunings.ai", "monitoring", "jaeger-query", 16686),
]


def cfg(**sections):
    """A deployable prod config (tests/stackconfig.py) with edge/dns sections replaced."""
    return parse_config({**base_config(), **sections}, stack="prod")


def by_kind(run, kind):
    return [o for o in run.objects() if o["kind"] == kind]


# --- The render matrix: every controller x provider x environment is schema-valid ----

MATRIX = list(itertools.product(["nginx-ingress", "gateway-api", "existing"], ["godaddy", "cloudflare", "http01-only"]))


def _overrides(controller, provider, **extra):
    ov = {"edge.controller": controller, "dns.provider": provider, **extra}
    if provider == "http01-only":
        # HTTP-01 takes no wildcard and no allowlist (Let's Encrypt's validation addresses are not published).
        ov.update({"edge.wildcard": False, "edge.allowed_cidrs": None})
    return ov


@pytest.fixture(scope="module")
def matrix_runs():
    from offline.harness import run_program

    return {
        (c, p, s): run_program(s, overrides=_overrides(c, p))
        for (c, p), s in itertools.product(MATRIX, ["dev", "prod"])
    }


@pytest.mark.parametrize(("controller", "provider"), MATRIX)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_is_schema_valid(matrix_runs, validators, controller, provider, stack):
    run = matrix_runs[(controller, provider, stack)]
    validator = validators(stack_config(stack).kubernetes_version)
    failures = {
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}": errs
        for o in run.objects()
        if (errs := validator.errors(o))
    }
    assert failures == {}
    assert len(run.of_type(TYPE)) == 1


@pytest.mark.parametrize(("controller", "provider"), MATRIX)
def test_staging_issuer_in_dev_production_in_prod(matrix_runs, controller, provider):
    for stack, issuer in (("dev", "letsencrypt-staging"), ("prod", "letsencrypt-production")):
        [cert] = by_kind(matrix_runs[(controller, provider, stack)], "Certificate")
        assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer}
    issuers = {o["metadata"]["name"]: o for o in by_kind(matrix_runs[(controller, provider, "prod")], "ClusterIssuer")}
    assert issuers["letsencrypt-staging"]["spec"]["acme"]["server"].startswith("https://acme-staging-v02.")
    assert (
        issuers["letsencrypt-production"]["spec"]["acme"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    )


@pytest.mark.parametrize(("controller", "provider"), MATRIX)
def test_wildcard_only_with_dns01(matrix_runs, controller, provider):
    [cert] = by_kind(matrix_runs[(controller, provider, "prod")], "Certificate")
    names = cert["spec"]["dnsNames"]
    domain = stack_config("prod").domain
    assert names[0] == domain
    if provider == "http01-only":
        assert not any(n.startswith("*") for n in names)
    else:
        assert names == [domain, f"*.{domain}"]
    [issuer, *_] = by_kind(matrix_runs[(controller, provider, "prod")], "ClusterIssuer")
    [solver] = issuer["spec"]["acme"]["solvers"]
    assert ("http01" in solver) == (provider == "http01-only")
    assert ("dns01" in solver) == (provider != "http01-only")


# --- F5 NGINX Ingress Controller ---------------------------------------------------


@pytest.mark.parametrize("controller", ["nginx-ingress", "existing"])
def test_nic_publishes_seven_routes_stripped_streaming_and_tls(matrix_runs, controller):
    run = matrix_runs[(controller, "godaddy", "prod")]
    [cert] = by_kind(run, "Certificate")
    ingresses = by_kind(run, "Ingress")
    masters = [i for i in ingresses if i["metadata"]["annotations"]["nginx.org/mergeable-ingress-type"] == "master"]
    # the MCP routes' minions (an allowlist also publishes the web UIs, tested below)
    minions = [
        i
        for i in ingresses
        if i["metadata"]["annotations"]["nginx.org/mergeable-ingress-type"] == "minion"
        and i["metadata"]["namespace"] == stack_config("prod").mcp.namespace
    ]
    # TLS on every host, from the one Certificate's Secret, in the edge namespace
    assert {h for m in masters for h in m["spec"]["tls"][0]["hosts"]} == {
        r["host"] for i in ingresses for r in i["spec"]["rules"]
    }
    assert {m["spec"]["tls"][0]["secretName"] for m in masters} == {cert["spec"]["secretName"]}
    assert {m["metadata"]["namespace"] for m in masters} == {stack_config("prod").edge.namespace}
    published = {}
    for m in minions:
        ann = m["metadata"]["annotations"]
        [rule] = m["spec"]["rules"]
        [path] = rule["http"]["paths"]
        service = path["backend"]["service"]["name"]
        # prefix stripping: the rewrite is what the location path becomes at the Service
        assert ann["nginx.org/rewrites"].startswith(f"serviceName={service} rewrite=/")
        published[path["path"]] = (path["pathType"], ann["nginx.org/rewrites"].split("rewrite=")[1])
        assert ann["nginx.org/proxy-read-timeout"] == "3600s"
        assert ann["nginx.org/proxy-send-timeout"] == "3600s"
        assert ann["nginx.org/proxy-buffering"] == "False"
        assert ann["nginx.org/client-max-body-size"] == "16m"
        assert m["spec"]["ingressClassName"] == "nginx"
        assert not any("snippets" in k for k in ann)
    assert {p: v for p, v in published.items() if p.endswith("/mcp")} == {f"/{n}/mcp": ("Exact", "/mcp") for n in SEVEN}
    # outputs: Penrose serves its own; the sidecars of pandas and data exploration get /<name>
    assert published["/penrose/outputs/"] == ("Prefix", "/outputs/")
    with_outputs = {r.path for r in build_plan(cfg()).routes if r.outputs}
    assert with_outputs == {"/pandas", "/data-explorer"}
    assert {p: published[p] for p in published if p.endswith("/outputs/") and p != "/penrose/outputs/"} == {
        f"{path}/outputs/": ("Prefix", "/") for path in with_outputs
    }
    with_auth = {r.path for r in build_plan(cfg()).routes if r.requires_auth}
    oauth = {p for p in published if p.endswith("/.well-known/oauth-protected-resource")}
    assert oauth == {f"{path}/.well-known/oauth-protected-resource" for path in with_auth}
    assert len(published) == 8 + len(with_auth) + len(with_outputs)
    assert not any("metrics" in p or "health" in p for p in published)


def test_nic_chart_is_pinned_hardened_and_snippet_free(fixture_prod):
    release = fixture_prod.release("nginx-ingress")
    assert release.inputs["chart"] == "oci://ghcr.io/nginx/charts/nginx-ingress"
    assert release.inputs["version"] == "2.6.4"
    values = release.inputs["values"]["controller"]
    assert values["enableSnippets"] is False
    assert values["image"] == {
        "repository": "docker.io/nginx/nginx-ingress",
        "tag": "5.5.4",
        "pullPolicy": "IfNotPresent",
    }
    ctx = values["securityContext"]
    assert ctx["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert values["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert release.inputs["values"]["prometheus"]["service"]["create"] is True


def test_dev_cors_allows_mcp_headers_and_exposes_session_id(fixture_dev):
    [policy] = [o for o in by_kind(fixture_dev, "Policy") if "cors" in o["spec"]]
    cors = policy["spec"]["cors"]
    assert cors["allowOrigin"] == ["http://localhost:6274"]
    assert set(MCP_ALLOW_HEADERS) <= set(cors["allowHeaders"])
    assert cors["exposeHeaders"] == ["Mcp-Session-Id"]
    minions = [i for i in by_kind(fixture_dev, "Ingress") if "nginx.org/rewrites" in i["metadata"]["annotations"]]
    assert all(i["metadata"]["annotations"]["nginx.org/policies"] == "edge-cors" for i in minions)


def test_prod_sends_no_cors_headers_by_default(fixture_prod):
    assert by_kind(fixture_prod, "Policy") == []


def test_allowlist_reaches_policy_service_and_network_policy(run, validators):
    result = run("prod", **{"edge.allowed_cidrs": ["203.0.113.0/24"]})
    assert all(validators(stack_config("prod").kubernetes_version).errors(o) == [] for o in result.objects())
    allow = [o for o in by_kind(result, "Policy") if "accessControl" in o["spec"]]
    # The Grafana and Jaeger minions in `monitoring` carry the allowlist too.
    assert {p["metadata"]["namespace"] for p in allow} == {"nginx-ingress", "data-science", "monitoring"}
    assert all(p["spec"]["accessControl"] == {"allow": ["203.0.113.0/24"]} for p in allow)
    assert all(
        "edge-allowlist" in i["metadata"]["annotations"]["nginx.org/policies"] for i in by_kind(result, "Ingress")
    )
    service = result.release("nginx-ingress").inputs["values"]["controller"]["service"]
    assert service["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    assert service["externalTrafficPolicy"] == "Local"
    clients = result.find("NetworkPolicy", "edge-clients", "nginx-ingress").inputs["spec"]["ingress"]
    assert clients == [
        {
            "from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
            "ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 443}],
        }
    ]


def test_without_allowlist_the_edge_takes_the_internet(fixture_prod):
    clients = fixture_prod.find("NetworkPolicy", "edge-clients", "nginx-ingress").inputs["spec"]["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "0.0.0.0/0"}} in clients
    assert "loadBalancerSourceRanges" not in nginx_ingress_values(cfg())["controller"]["service"]


# --- NGINX Gateway Fabric ----------------------------------------------------------


def test_gateway_routes_strip_prefixes_and_ngf_policies_stream(matrix_runs):
    run = matrix_runs[("gateway-api", "cloudflare", "dev")]
    routes = {o["metadata"]["name"]: o for o in by_kind(run, "HTTPRoute")}
    mcp_routes = [r for n, r in routes.items() if n.startswith("mcp-")]
    published = {r["path"] for r in run.outputs["mcp_routes"]}
    assert len(mcp_routes) == len(published)
    rewrites = {}
    for route in mcp_routes:
        assert route["spec"]["hostnames"] == [stack_config("dev").domain]
        for rule in route["spec"]["rules"]:
            assert "timeouts" not in rule  # NGF rejects HTTPRoute timeouts
            match = rule["matches"][0]["path"]
            [rewrite] = [f["urlRewrite"]["path"] for f in rule["filters"] if f["type"] == "URLRewrite"]
            rewrites[match["value"]] = (match["type"], rewrite)
            [cors] = [f["cors"] for f in rule["filters"] if f["type"] == "CORS"]
            assert set(MCP_ALLOW_HEADERS) <= set(cors["allowHeaders"])
    assert rewrites["/huggingface/mcp"] == ("Exact", {"type": "ReplaceFullPath", "replaceFullPath": "/mcp"})
    assert rewrites["/penrose/outputs"] == (
        "PathPrefix",
        {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/outputs/"},
    )
    assert {k for k in rewrites if k.endswith("/mcp")} == {f"{p}/mcp" for p in published}
    [proxy] = by_kind(run, "ProxySettingsPolicy")
    assert proxy["spec"]["buffering"] == {"disable": True}
    assert proxy["spec"]["timeout"] == {"read": "3600s", "send": "3600s"}
    assert {t["name"] for t in proxy["spec"]["targetRefs"]} == {r["metadata"]["name"] for r in mcp_routes}
    [client] = by_kind(run, "ClientSettingsPolicy")
    assert client["spec"]["body"] == {"maxSize": "16m"}
    redirect = routes["edge-https-redirect"]["spec"]["rules"][0]["filters"][0]
    assert redirect == {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}


@pytest.mark.parametrize("provider", ["cloudflare", "http01-only"])
def test_gateway_listeners_terminate_tls_for_every_host(matrix_runs, provider):
    run = matrix_runs[("gateway-api", provider, "prod")]
    [gateway] = by_kind(run, "Gateway")
    [cert] = by_kind(run, "Certificate")
    https = [lis for lis in gateway["spec"]["listeners"] if lis["protocol"] == "HTTPS"]
    secret = {"kind": "Secret", "name": cert["spec"]["secretName"]}
    assert all(lis["tls"]["certificateRefs"] == [secret] for lis in https)
    domain = stack_config("prod").domain
    expected = {domain, f"*.{domain}"} if provider != "http01-only" else {domain}
    assert {lis["hostname"] for lis in https} == expected
    values = run.release("nginx-gateway-fabric").inputs["values"]
    assert values["nginx"]["image"]["tag"] == "2.6.7"
    assert values["nginxGateway"]["snippetsFilters"] == {"enable": False}


# --- DNS providers -----------------------------------------------------------------


def _objects_by_id(run):
    out = {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o for o in run.objects()}
    out.update({f"Release/{r['namespace']}/{r['name']}": r for r in run.releases()})
    return out


def test_switching_godaddy_to_cloudflare_changes_only_solver_and_records_owner(run_fixture):
    godaddy = _objects_by_id(run_fixture("prod", **{"dns.manage_records": True}))
    cloudflare = _objects_by_id(run_fixture("prod", **{"dns.provider": "cloudflare", "dns.manage_records": True}))
    changed = {k for k in godaddy.keys() & cloudflare.keys() if godaddy[k] != cloudflare[k]}
    only_godaddy = godaddy.keys() - cloudflare.keys()
    only_cloudflare = cloudflare.keys() - godaddy.keys()
    assert changed == {
        "ClusterIssuer//letsencrypt-staging",
        "ClusterIssuer//letsencrypt-production",
        "Release/external-dns/external-dns",
        # the GoDaddy webhook pod cannot run `restricted` (chart has no securityContext values)
        "Namespace//cert-manager",
    }
    assert only_godaddy == {"Release/cert-manager/godaddy-webhook", "NetworkPolicy/cert-manager/godaddy-webhook"}
    assert only_cloudflare == set()
    solver = cloudflare["ClusterIssuer//letsencrypt-production"]["spec"]["acme"]["solvers"][0]["dns01"]
    assert solver == {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-api-token", "key": "api-token"}}}
    gd = godaddy["ClusterIssuer//letsencrypt-production"]["spec"]["acme"]["solvers"][0]["dns01"]["webhook"]
    assert gd["solverName"] == "godaddy"
    assert gd["config"] == {
        "apiKeySecretRef": {"name": "godaddy-api-key", "key": "token"},
        "production": True,
        "ttl": 600,
    }
    assert cloudflare["Release/external-dns/external-dns"]["values"]["provider"] == {"name": "cloudflare"}
    assert godaddy["Release/external-dns/external-dns"]["values"]["env"][0]["name"] == "EXTERNAL_DNS_GODADDY_API_KEY"


def test_external_dns_is_restricted_to_the_domain_with_a_stack_owner(run_fixture):
    values = (
        run_fixture("dev", **{"dns.provider": "cloudflare", "dns.manage_records": True})
        .release("external-dns")
        .inputs["values"]
    )
    assert values["domainFilters"] == ["dev.finetunings.ai"]  # the fixture dev stack's domain
    assert values["txtOwnerId"] == "mcp-datascience-dev"
    assert values["policy"] == "upsert-only"
    assert values["env"] == [
        {"name": "CF_API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "external-dns-cloudflare", "key": "api-token"}}}
    ]


def test_credentials_per_provider():
    assert [(c.namespace, c.secret_name, c.keys) for c in credentials(cfg())] == [
        ("cert-manager", "godaddy-api-key", ("token",))
    ]
    assert [c.secret_name for c in credentials(cfg(dns={"provider": "cloudflare", "manage_records": True}))] == [
        "cloudflare-api-token",
        "external-dns-cloudflare",
    ]
    godaddy = credentials(cfg(dns={"manage_records": True}))
    assert godaddy[1].keys == ("api-key", "api-secret")
    assert godaddy[1].namespace == "external-dns"
    assert credentials(cfg(dns={"provider": "http01-only"}, edge={"wildcard": False})) == []


def test_dns_credentials_are_found_among_the_secrets_layer_refs():
    """The keys the edge looks up are the ones the SecretsLayer hands back."""
    for dns in ({"manage_records": True}, {"provider": "cloudflare", "manage_records": True}):
        config = cfg(dns=dns)
        specs = credentials(config)
        refs = Materialisation(present=tuple(specs), missing=(), skipped=(), problems=(), unused=()).refs
        picked = dns_credentials(config, refs)
        assert picked.solver == specs[0].ref(specs[0].keys[0])
        assert set(picked.external_dns) == {specs[1].ref(k) for k in specs[1].keys}
    assert set(refs) == {"cloudflare-api-token/api-token", "external-dns-cloudflare/api-token"}


def test_cname_strategy_follow_reaches_the_solver(run):
    issuer = run("prod", **{"dns.cname_strategy": "Follow"}).find("ClusterIssuer", "letsencrypt-production")
    assert issuer.inputs["spec"]["acme"]["solvers"][0]["dns01"]["cnameStrategy"] == "Follow"


# --- Web UIs, outputs, contracts ---------------------------------------------------


def test_web_uis_are_withheld_without_an_allowlist():
    plan = build_edge_plan(cfg(), fixture_routes(), WEB)
    assert plan.web_routes == ()
    assert plan.withheld_web_routes == ("grafana", "jaeger")
    assert not any(o["kind"] == "Ingress" and "grafana" in o["metadata"]["name"] for o in nic_objects(plan))


@pytest.mark.parametrize("controller", ["nginx-ingress", "gateway-api"])
def test_web_uis_are_published_behind_the_allowlist(controller):
    config = cfg(edge={"allowed_cidrs": ["198.51.100.0/24"], "controller": controller})
    plan = build_edge_plan(config, fixture_routes(), WEB)
    assert [w.url for w in plan.web_routes] == ["https://grafana.finetunings.ai/", "https://jaeger.finetunings.ai/"]
    objs = nic_objects(plan) if controller == "nginx-ingress" else gateway_objects(plan, {})
    ui = [o for o in objs if o["metadata"]["name"].startswith("ui-")]
    assert {o["metadata"]["namespace"] for o in ui} == {"monitoring"}
    if controller == "nginx-ingress":
        assert all(o["metadata"]["annotations"]["nginx.org/policies"] == "edge-allowlist" for o in ui)


def test_outputs(fixture_prod):
    outputs = fixture_prod.outputs
    assert outputs["base_url"] == "https://finetunings.ai"
    assert outputs["mcp_urls"]["huggingface"] == "https://finetunings.ai/huggingface/mcp"
    assert set(outputs["mcp_urls"].values()) == {f"https://finetunings.ai/{p}/mcp" for p in SEVEN}
    assert outputs["outputs_urls"] == {
        name: f"https://finetunings.ai/{path}/outputs"
        for name, path in (("penrose", "penrose"), ("pandas", "pandas"), ("data-exploration", "data-explorer"))
    }


def test_outputs_are_under_the_stacks_domain(stack_runs):
    for stack, run in stack_runs.items():
        base = f"https://{stack_config(stack).domain}"
        assert run.outputs["base_url"] == base
        assert all(url.startswith(f"{base}/") for url in run.outputs["mcp_urls"].values()), stack


def test_dedicated_host_gets_its_own_master_and_certificate_coverage(run_fixture):
    result = run_fixture("prod", **{"edge.hosts": {"huggingface": "huggingface.finetunings.ai"}})
    hosts = {
        i["spec"]["rules"][0]["host"] for i in by_kind(result, "Ingress") if "huggingface" in i["metadata"]["name"]
    }
    assert hosts == {"huggingface.finetunings.ai"}
    assert result.outputs["mcp_urls"]["huggingface"] == "https://huggingface.finetunings.ai/huggingface/mcp"


def test_health_and_oauth_metadata_only_when_asked():
    routes = [Route("x", "/x", "data-science", "mcp-x-proxy", 8080, requires_auth=True)]
    plain = build_edge_plan(cfg(), routes).route("x").paths
    assert [(p.public, p.upstream) for p in plain] == [
        ("/x/mcp", "/mcp"),
        ("/x/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"),
    ]
    with_health = build_edge_plan(cfg(edge={"publish_health": True}), routes).route("x").paths
    assert ("/x/health", "/health") in [(p.public, p.upstream) for p in with_health]


def test_scrape_targets_and_pod_selector():
    targets = {t.name: t for t in scrape_targets(cfg())}
    assert targets["nginx-ingress"].port == "prometheus"
    assert targets["cert-manager"].port == "http-metrics"
    assert targets["cert-manager"].selector["app.kubernetes.io/component"] == "controller"
    gateway = {t.name for t in scrape_targets(cfg(edge={"controller": "gateway-api"}))}
    assert gateway == {"nginx-gateway-fabric", "nginx-gateway-data-plane", "cert-manager"}
    assert controller_pod_selector(cfg()) == (
        "nginx-ingress",
        {"app.kubernetes.io/name": "nginx-ingress", "app.kubernetes.io/instance": "nginx-ingress"},
    )


def test_metrics_services_match_scrape_targets(matrix_runs):
    run = matrix_runs[("gateway-api", "godaddy", "prod")]
    services = {o["metadata"]["name"]: o for o in by_kind(run, "Service")}
    for target in scrape_targets(cfg(edge={"controller": "gateway-api"})):
        if target.name.startswith("nginx-gateway"):
            [svc] = [s for s in services.values() if target.selector.items() <= s["metadata"]["labels"].items()]
            assert target.port in {p["name"] for p in svc["spec"]["ports"]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_namespaces_default_deny_and_pod_security(stack_runs, stack):
    run = stack_runs[stack]
    config = stack_config(stack)
    # Only the GoDaddy webhook's pod keeps cert-manager's namespace from `restricted`.
    cert_manager = "baseline" if config.dns.provider == "godaddy" else "restricted"
    for ns, level in (("nginx-ingress", "restricted"), ("cert-manager", cert_manager)):
        labels = run.find("Namespace", ns).inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == level
        deny = run.find("NetworkPolicy", "default-deny", ns).inputs["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    acme = run.find("NetworkPolicy", "cert-manager-acme", "cert-manager").inputs["spec"]["egress"][0]
    assert acme["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "169.254.0.0/16" in acme["to"][0]["ipBlock"]["except"]  # cloud metadata
    backends = run.find("NetworkPolicy", "edge-backends", "nginx-ingress").inputs["spec"]["egress"]
    # only the namespaces and ports of the stack's published routes (proxies, outputs sidecars), nothing else
    routes = run.outputs["mcp_routes"]
    ports = sorted({r["port"] for r in routes} | {r["outputs"]["port"] for r in routes if r["outputs"]})
    [mcp, *uis] = backends
    assert mcp == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": config.mcp.namespace}}}],
        "ports": [{"protocol": "TCP", "port": p} for p in ports],
    }
    # and the web UIs' namespace, when an allowlist publishes them
    ui_namespaces = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": config.monitoring.namespace}}}
    ]
    assert [ui["to"] for ui in uis] == ([ui_namespaces] if run.outputs["web_urls"] else [])


def test_cert_manager_is_pinned_with_crds(fixture_prod):
    release = fixture_prod.release("cert-manager")
    assert release.inputs["chart"] == "oci://quay.io/jetstack/charts/cert-manager"
    assert release.inputs["version"] == "v1.21.1"
    assert release.inputs["values"]["crds"] == {"enabled": True, "keep": True}
    webhook = fixture_prod.release("godaddy-webhook").inputs
    assert webhook["version"] == "0.8.0"
    assert webhook["values"]["certManager"] == {"namespace": "cert-manager", "serviceAccountName": "cert-manager"}


# --- Bad edge config ---------------------------------------------------------------

BAD = [
    (
        {"edge": {"controller": "traefik"}},
        "mcp-datascience:edge.controller",
        "'nginx-ingress', 'gateway-api' or 'existing'",
    ),
    ({"dns": {"provider": "http01-only"}}, "mcp-datascience:edge.wildcard", "needs DNS-01"),
    ({"edge": {"allowed_cidrs": ["10.0.0.300/8"]}}, "mcp-datascience:edge.allowed_cidrs[0]", "is not a CIDR block"),
    ({"edge": {"allowed_cidrs": ["10.0.0.1/8"]}}, "mcp-datascience:edge.allowed_cidrs[0]", "has host bits set"),
    (
        {"dns": {"provider": "http01-only"}, "edge": {"wildcard": False, "allowed_cidrs": ["203.0.113.0/24"]}},
        "mcp-datascience:edge.allowed_cidrs",
        "block every renewal",
    ),
    ({"edge": {"hosts": {"pandas": "pandas.example.com"}}}, "mcp-datascience:edge.hosts.pandas", "not finetunings.ai"),
    (
        {"edge": {"cors_origins": ["https://app.example.com/path"]}},
        "mcp-datascience:edge.cors_origins",
        "not an origin",
    ),
    ({"edge": {"client_max_body_size": "1g"}}, "mcp-datascience:edge.client_max_body_size", "nginx size"),
]


@pytest.mark.parametrize(("overrides", "key", "allowed"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_edge_config_is_rejected(overrides, key, allowed):
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), **overrides}, stack="prod")
    assert key in str(caught.value)
    assert allowed in str(caught.value)


def test_colliding_route_paths_are_rejected():
    routes = [*fixture_routes(), Route("data", "/data", "data-science", "mcp-data-proxy", 8080)]
    routes.append(Route("datahub-admin", "/datahub/admin", "data-science", "mcp-datahub-admin-proxy", 8080))
    with pytest.raises(ConfigError) as caught:
        build_edge_plan(cfg(), routes, stack="prod")
    message = str(caught.value)
    assert "'datahub' (/datahub) and 'datahub-admin' (/datahub/admin) collide on host finetunings.ai" in message
    assert "mcp-datascience:edge.hosts.datahub-admin" in message
    assert "'data' (/data)" not in message  # /data and /data-explorer do not share a path segment


def test_unknown_route_in_edge_hosts_and_metrics_paths_are_rejected():
    with pytest.raises(ConfigError, match=r"edge.hosts.hugginface: no MCP route is named 'hugginface'"):
        build_edge_plan(cfg(edge={"hosts": {"hugginface": "hf.finetunings.ai"}}), fixture_routes())
    bad = [Route("x", "/x", "data-science", "mcp-x-proxy", 8080, extra_paths=("/metrics/",))]
    with pytest.raises(ConfigError, match="would publish metrics"):
        build_edge_plan(cfg(), bad)
