"""EdgeIngress: a maintained NGINX edge, cert-manager, Let's Encrypt, DNS.

- Controller (`edge.controller`): F5 NGINX Ingress Controller (chart nginx-ingress 2.6.4,
  standard Ingress objects with `nginx.org/*` annotations, snippets off), NGINX Gateway
  Fabric (chart 2.6.7, Gateway + HTTPRoutes + NGF policies), or an existing F5 controller.
- TLS: cert-manager v1.21.1, Let's Encrypt staging and production ClusterIssuers, one
  Certificate for `domain` and `*.domain` (DNS-01) or for explicit hosts (HTTP-01).
- DNS (`dns.provider`): GoDaddy through the snowdrop webhook, Cloudflare built in, or
  HTTP-01 only; optional external-dns for the records.

The route table and every object are computed by pure functions in
`components/edge_plan.py` and here (values builders, NetworkPolicies, credentials,
scrape targets); the component only applies them.

Bring your own: with `edge.install_cert_manager: false` cert-manager (and, with GoDaddy,
its solver webhook) already runs and its namespace is not ours: the stack creates only
the issuers, the Certificate and the DNS credential. With `edge.controller: existing` (or
`edge.install_controller: false`) the routes are written for a controller already
installed. Either way the program first reads from the cluster what it relies on
(components/existing.py).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pulumi

from components import existing, netpol, versions
from components.config import StackConfig
from components.contracts import CredentialSpec, Route, ScrapeTarget, SecretRef, WebRoute
from components.edge_plan import (
    CERT_MANAGER_RELEASE,
    EXTERNAL_DNS_RELEASE,
    GATEWAY_NAME,
    GODADDY_RELEASE,
    NGF_RELEASE,
    NIC_RELEASE,
    DnsCredentials,
    EdgePlan,
    backend_services,
    build_edge_plan,
    certificate_objects,
    gateway_objects,
    godaddy_group,
    issuer_objects,
    nic_objects,
    outputs,
)
from components.helm import helm_release
from components.image_pins import ImagePins
from components.k8s import KubernetesObject, container_security_context, restricted_namespace

TYPE = "mcp-datascience:index:EdgeIngress"

METRICS_PORT = 9113  # NIC prometheus.port and NGF metrics.port defaults
# cert-manager chart v1.21.1 templates/service.yaml: Service `cert-manager` has one port,
# `http-metrics` 9402 (the chart's own ServiceMonitor scrapes targetPort http-metrics).
CERT_MANAGER_METRICS_PORT = 9402
CERT_MANAGER_METRICS_PORT_NAME = "http-metrics"
CERT_MANAGER_WEBHOOK_PORT = 10250  # cert-manager chart webhook.securePort default
GODADDY_WEBHOOK_PORT = 8443  # set via pod.securePort: the chart's 443 needs root
EXTERNAL_DNS_METRICS_PORT = 7979  # external-dns chart service.port
HTTP01_SOLVER_PORT = 8089  # cert-manager acmesolver listen port


# ---------------------------------------------------------------------------
# What other components consume (pure)
# ---------------------------------------------------------------------------


def credentials(config: StackConfig) -> list[CredentialSpec]:
    """The DNS API credentials this edge needs, by provider (none for http01-only)."""
    dns, cm_ns = config.dns, config.edge.cert_manager_namespace
    out: list[CredentialSpec] = []
    if dns.provider == "godaddy":
        out.append(
            CredentialSpec(
                id="godaddy-api-key",
                namespace=cm_ns,
                secret_name="godaddy-api-key",
                keys=("token",),
                purpose="GoDaddy API key and secret as KEY:SECRET for the cert-manager DNS-01 webhook "
                "(snowdrop/godaddy-webhook README)",
            )
        )
        if dns.manage_records:
            out.append(
                CredentialSpec(
                    id="external-dns-godaddy",
                    namespace=dns.external_dns_namespace,
                    secret_name="external-dns-godaddy",
                    keys=("api-key", "api-secret"),
                    purpose="GoDaddy API key and secret for external-dns (--godaddy-api-key/--godaddy-api-secret)",
                )
            )
    elif dns.provider == "cloudflare":
        out.append(
            CredentialSpec(
                id="cloudflare-api-token",
                namespace=cm_ns,
                secret_name="cloudflare-api-token",
                keys=("api-token",),
                purpose="Cloudflare API token (Zone:DNS:Edit, Zone:Zone:Read) for cert-manager DNS-01",
            )
        )
        if dns.manage_records:
            out.append(
                CredentialSpec(
                    id="external-dns-cloudflare",
                    namespace=dns.external_dns_namespace,
                    secret_name="external-dns-cloudflare",
                    keys=("api-token",),
                    purpose="Cloudflare API token for external-dns (CF_API_TOKEN)",
                )
            )
    return out


def dns_credentials(config: StackConfig, refs: dict[str, SecretRef]) -> DnsCredentials:
    """Pick the solver's and external-dns' refs (SecretsLayer.refs: `<credential id>/<key>`)."""
    provider = config.dns.provider
    if provider == "http01-only":
        return DnsCredentials()
    solver_key = "godaddy-api-key/token" if provider == "godaddy" else "cloudflare-api-token/api-token"
    extdns = tuple(ref for key, ref in sorted(refs.items()) if key.startswith("external-dns-"))
    return DnsCredentials(solver=refs[solver_key], external_dns=extdns)


def controller_pod_selector(config: StackConfig) -> tuple[str, dict[str, str]]:
    """(namespace, pod labels) of the pods that proxy to MCP Services: what the MCP
    layer's NetworkPolicies admit."""
    edge = config.edge
    if edge.controller == "existing":
        return edge.namespace, dict(edge.existing_controller_labels)
    if edge.controller == "gateway-api":
        # NGF provisions the data plane per Gateway and labels its pods with the
        # Gateway's name (GEP-1762 label, used by NGF's provisioner).
        return edge.namespace, {"gateway.networking.k8s.io/gateway-name": GATEWAY_NAME}
    # nginx-ingress chart selectorLabels (templates/_helpers.tpl): name + instance.
    return edge.namespace, {"app.kubernetes.io/name": "nginx-ingress", "app.kubernetes.io/instance": NIC_RELEASE}


def scrape_targets(config: StackConfig) -> list[ScrapeTarget]:
    """Metrics Services of the edge controller and cert-manager, for ServiceMonitors."""
    edge = config.edge
    out: list[ScrapeTarget] = []
    if edge.controller == "nginx-ingress" and edge.install_controller:
        # Chart `prometheus.service.create` makes `<fullname>-prometheus-service` with port
        # `prometheus` and label service=nginx-ingress-prometheus-service (chart README,
        # docs "Prometheus ServiceMonitor").
        out.append(
            ScrapeTarget(
                name="nginx-ingress",
                namespace=edge.namespace,
                selector={"service": "nginx-ingress-prometheus-service"},
                port="prometheus",
            )
        )
    elif edge.controller == "gateway-api":
        if edge.install_controller:
            out.append(
                ScrapeTarget(
                    name="nginx-gateway-fabric",
                    namespace=edge.namespace,
                    selector=_edge_metrics_labels("control-plane"),
                    port="metrics",
                )
            )
        out.append(
            ScrapeTarget(
                name="nginx-gateway-data-plane",
                namespace=edge.namespace,
                selector=_edge_metrics_labels("data-plane"),
                port="metrics",
            )
        )
    if edge.install_cert_manager:
        # An existing cert-manager's metrics are its installer's to scrape (its labels
        # follow its own release name).
        out.append(
            ScrapeTarget(
                name="cert-manager",
                namespace=edge.cert_manager_namespace,
                selector=CERT_MANAGER_CONTROLLER_LABELS,
                port=CERT_MANAGER_METRICS_PORT_NAME,
            )
        )
    return out


def _edge_metrics_labels(part: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"edge-metrics-{part}", "app.kubernetes.io/part-of": "mcp-datascience"}


# cert-manager chart v1.21.1 pod labels (templates/deployment.yaml, webhook-deployment.yaml).
CERT_MANAGER_CONTROLLER_LABELS = {
    "app.kubernetes.io/name": "cert-manager",
    "app.kubernetes.io/instance": CERT_MANAGER_RELEASE,
    "app.kubernetes.io/component": "controller",
}
CERT_MANAGER_WEBHOOK_LABELS = {
    "app.kubernetes.io/name": "webhook",
    "app.kubernetes.io/instance": CERT_MANAGER_RELEASE,
    "app.kubernetes.io/component": "webhook",
}
# snowdrop godaddy-webhook chart templates/deployment.yaml pod labels.
GODADDY_LABELS = {"app.kubernetes.io/name": "godaddy-webhook", "app.kubernetes.io/instance": GODADDY_RELEASE}
EXTERNAL_DNS_LABELS = {"app.kubernetes.io/name": "external-dns", "app.kubernetes.io/instance": EXTERNAL_DNS_RELEASE}
NGF_CONTROL_PLANE_LABELS = {"app.kubernetes.io/name": "nginx-gateway-fabric", "app.kubernetes.io/instance": NGF_RELEASE}


def images(config: StackConfig) -> list[versions.Image]:
    """Every image the edge runs with this config (components/images.py collects them)."""
    edge, dns = config.edge, config.dns
    out: list[versions.Image] = []
    if edge.install_cert_manager:
        out += versions.CERT_MANAGER_IMAGES.values()  # acmesolver: the controller's --acme-http01-solver-image
        if dns.provider == "godaddy":
            out.append(versions.GODADDY_WEBHOOK_IMAGE)
    if edge.install_controller and edge.controller == "nginx-ingress":
        out.append(versions.NGINX_INGRESS_IMAGE)
    if edge.install_controller and edge.controller == "gateway-api":
        out += versions.NGINX_GATEWAY_FABRIC_IMAGES.values()
    if dns.manage_records:
        out.append(versions.EXTERNAL_DNS_IMAGE)
    return out


def cert_manager_dependencies(
    config: StackConfig, plan: EdgePlan, creds: DnsCredentials
) -> list[existing.ApiDependency]:
    """What an existing cert-manager must serve: the API of the issuers and the
    Certificate and, with GoDaddy, the solver webhook's API (cert-manager webhook solvers
    serve `<groupName>/v1alpha1`, cert-manager pkg/acme/webhook/apis/acme/v1alpha1)."""
    if config.edge.install_cert_manager:
        return []
    setting = "edge.install_cert_manager: false"
    objects = [*issuer_objects(plan, config, creds), *certificate_objects(plan)]
    out = [
        existing.ApiDependency(api, setting, f"cert-manager ({versions.CERT_MANAGER.version} serves {api})")
        for api in existing.custom_apis(objects)
    ]
    if config.dns.provider == "godaddy":
        out.append(
            existing.ApiDependency(
                f"{godaddy_group(config)}/v1alpha1",
                setting,
                f"the GoDaddy DNS-01 solver webhook (chart {versions.GODADDY_WEBHOOK.version}, groupName "
                f"{godaddy_group(config)})",
            )
        )
    return out


def controller_dependencies(config: StackConfig, plan: EdgePlan) -> list[existing.ApiDependency]:
    """What an existing edge controller must serve besides the routes' built-in kinds:
    the API of every custom resource the routes use (F5 NGINX Ingress Controller's
    Policies, NGINX Gateway Fabric's Gateway API and policies)."""
    if plan.installs_controller:
        return []
    setting = controller_setting(config)
    provider = "NGINX Gateway Fabric" if plan.controller == "gateway-api" else "F5 NGINX Ingress Controller"
    remedy = (
        "let the stack install one (edge.controller: nginx-ingress or gateway-api)"
        if config.edge.controller == "existing"
        else "let the stack install it (edge.install_controller: true)"
    )
    return [
        existing.ApiDependency(api, setting, f"{provider} (its CRDs serve {api})", remedy)
        for api in existing.custom_apis(_route_objects(plan, config))
    ]


def controller_setting(config: StackConfig) -> str:
    """The setting that makes the edge use a controller it does not install."""
    edge = config.edge
    if edge.controller == "existing":
        return "edge.controller: existing"
    return f"edge.install_controller: false (edge.controller: {edge.controller})"


def _route_objects(plan: EdgePlan, config: StackConfig) -> list[dict[str, Any]]:
    if plan.controller == "gateway-api":
        return gateway_objects(plan, dict(config.edge.service_annotations))
    return nic_objects(plan)


# ---------------------------------------------------------------------------
# Helm values (keys read from each chart's values.yaml; sources in comments)
# ---------------------------------------------------------------------------


def _hardened(uid: int, bind_low_ports: bool = False) -> dict[str, Any]:
    ctx = container_security_context(uid)
    if bind_low_ports:
        # Pod Security `restricted` allows adding exactly this capability.
        ctx["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    return ctx


_POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _service_values(config: StackConfig) -> dict[str, Any]:
    edge = config.edge
    service: dict[str, Any] = {"type": edge.service_type}
    if edge.service_type != "ClusterIP":
        # Local keeps the client source IP, so the allowlist and logs see real clients.
        service["externalTrafficPolicy"] = "Local"
    if edge.allowed_cidrs and edge.service_type == "LoadBalancer":
        service["loadBalancerSourceRanges"] = list(edge.allowed_cidrs)
    return service


def nginx_ingress_values(config: StackConfig) -> dict[str, Any]:
    """F5 NGINX Ingress Controller chart 2.6.4 values (charts/nginx-ingress/values.yaml)."""
    edge = config.edge
    service = _service_values(config)
    if edge.service_annotations:
        service["annotations"] = dict(edge.service_annotations)
    controller: dict[str, Any] = {
        "kind": "deployment",
        "replicaCount": edge.replicas,
        # templates/_helpers.tpl "nginx-ingress.image-digest-or-tag": `repository@digest` when set.
        "image": {
            **ImagePins(config.images.digests).chart_image(versions.NGINX_INGRESS_IMAGE, "digest"),
            "pullPolicy": "IfNotPresent",
        },
        "ingressClass": {"name": edge.ingress_class, "create": True, "setAsDefaultIngress": False},
        # Policies (CORS, allowlist) are custom resources; snippets stay off.
        "enableCustomResources": True,
        "enableSnippets": False,
        "enableCertManager": False,
        "enableExternalDNS": False,
        "resources": edge.resources.as_k8s(),
        "podSecurityContext": _POD_SECURITY,
        # uid 101 is nginx in the image (values.yaml securityContext example).
        "securityContext": _hardened(101, bind_low_ports=True),
        "initContainerSecurityContext": _hardened(101),
        "initContainerResources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "service": service,
        "telemetryReporting": {"enable": False},
        "podDisruptionBudget": {"enabled": edge.replicas > 1, "minAvailable": 1},
    }
    return {
        "controller": controller,
        "prometheus": {"create": True, "port": METRICS_PORT, "service": {"create": True}},
    }


def gateway_fabric_values(config: StackConfig) -> dict[str, Any]:
    """NGINX Gateway Fabric chart 2.6.7 values (charts/nginx-gateway-fabric/values.yaml).
    The chart sets restricted-compatible securityContexts on both planes itself."""
    edge = config.edge
    pins = ImagePins(config.images.digests)
    # No digest value: the chart writes `repository:tag` (v2.6.7 templates/deployment.yaml)
    # and the provisioner the data plane's `repository:tag` (internal/controller/provisioner
    # objects.go DetermineNginxImageName), so the digest rides in the tag.
    images = versions.NGINX_GATEWAY_FABRIC_IMAGES
    return {
        "nginxGateway": {
            "gatewayClassName": edge.ingress_class,
            "image": {**pins.chart_image(images["control-plane"], "tag"), "pullPolicy": "IfNotPresent"},
            "replicas": 1,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "metrics": {"enable": True, "port": METRICS_PORT, "secure": False},
            "productTelemetry": {"enable": False},
            "snippetsFilters": {"enable": False},
        },
        "nginx": {
            "image": {**pins.chart_image(images["nginx"], "tag"), "pullPolicy": "IfNotPresent"},
            "replicas": edge.replicas,
            "service": _service_values(config),
            "container": {"resources": edge.resources.as_k8s()},
        },
    }


def cert_manager_values(config: StackConfig) -> dict[str, Any]:
    """cert-manager chart v1.21.1 values (deploy/charts/cert-manager/values.yaml)."""
    small = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
    hardened = {"securityContext": _POD_SECURITY, "containerSecurityContext": _hardened(1000)}
    pins = ImagePins(config.images.digests)

    def image(component: str) -> dict[str, Any]:
        # templates/_helpers.tpl "cert-manager.image": `repository:tag@digest` when both are set.
        return pins.chart_image(versions.CERT_MANAGER_IMAGES[component], "digest")

    values: dict[str, Any] = {
        "crds": {"enabled": True, "keep": True},
        "image": image("controller"),
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        **hardened,
        "webhook": {"image": image("webhook"), "resources": small, **hardened},
        "cainjector": {
            "image": image("cainjector"),
            "resources": small | {"limits": {"cpu": "200m", "memory": "256Mi"}},
            **hardened,
        },
        "startupapicheck": {"image": image("startupapicheck"), "resources": small, **hardened},
        "acmesolver": {"image": image("acmesolver")},
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
    }
    if config.dns.provider != "http01-only":
        # The DNS-01 self-check asks only these resolvers, never the zone's authoritative
        # nameservers (chart templates/deployment.yaml renders both flags;
        # cert_manager_network_policies opens exactly these endpoints).
        values["dns01RecursiveNameserversOnly"] = True
        values["dns01RecursiveNameservers"] = ",".join(config.dns.self_check_nameservers)
    if config.edge.controller == "gateway-api":
        # HTTP-01 through a Gateway needs the Gateway API feature (website usage/gateway.md).
        values["config"] = {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        }
    return values


def godaddy_webhook_values(config: StackConfig) -> dict[str, Any]:
    """snowdrop godaddy-webhook chart 0.8.0 values (deploy/charts/godaddy-webhook/values.yaml)."""
    return {
        "groupName": godaddy_group(config),
        "certManager": {"namespace": config.edge.cert_manager_namespace, "serviceAccountName": CERT_MANAGER_RELEASE},
        # No digest value: templates/deployment.yaml writes `repository:tag`.
        "image": {
            **ImagePins(config.images.digests).chart_image(versions.GODADDY_WEBHOOK_IMAGE, "tag"),
            "pullPolicy": "IfNotPresent",
        },
        "pod": {"securePort": GODADDY_WEBHOOK_PORT},
        "logging": {"level": "info", "format": "json"},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
    }


def external_dns_values(config: StackConfig, refs: Sequence[SecretRef]) -> dict[str, Any]:
    """external-dns chart 1.21.1 values; GoDaddy flags read EXTERNAL_DNS_GODADDY_API_KEY /
    _SECRET (docs/flags.md), Cloudflare reads CF_API_TOKEN (docs/tutorials/cloudflare.md)."""
    dns, edge = config.dns, config.edge
    by_key = {ref.key: ref for ref in refs}

    def env(name: str, ref: SecretRef) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}

    if dns.provider == "godaddy":
        envs = [
            env("EXTERNAL_DNS_GODADDY_API_KEY", by_key["api-key"]),
            env("EXTERNAL_DNS_GODADDY_API_SECRET", by_key["api-secret"]),
        ]
    else:
        envs = [env("CF_API_TOKEN", by_key["api-token"])]
    return {
        "provider": {"name": dns.provider},
        "sources": ["gateway-httproute"] if edge.controller == "gateway-api" else ["ingress"],
        "policy": dns.records_policy,
        "registry": "txt",
        "txtOwnerId": dns.owner_id or f"mcp-datascience-{config.environment}",
        "domainFilters": [config.domain],
        "interval": "1m",
        "env": envs,
        # No digest value: templates/_helpers.tpl "external-dns.image" writes `repository:tag`.
        "image": {
            **ImagePins(config.images.digests).chart_image(versions.EXTERNAL_DNS_IMAGE, "tag"),
            "pullPolicy": "IfNotPresent",
        },
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "podSecurityContext": {**_POD_SECURITY, "fsGroup": 65534},
        "securityContext": _hardened(65534),
        "serviceMonitor": {"enabled": False},
    }


# ---------------------------------------------------------------------------
# NetworkPolicies (pure)
# ---------------------------------------------------------------------------


# netpol.policy_object with this component's label.
_np = functools.partial(netpol.policy_object, component="edge")


def edge_network_policies(plan: EdgePlan, config: StackConfig) -> list[dict[str, Any]]:
    """The controller namespace: clients in on 80/443, out only to the routed Services."""
    ns = plan.namespace
    _, proxy = controller_pod_selector(config)
    clients = [{"ipBlock": {"cidr": c}} for c in plan.allowed_cidrs] or [
        {"ipBlock": {"cidr": "0.0.0.0/0"}},
        {"ipBlock": {"cidr": "::/0"}},
    ]
    backends: dict[str, set[int]] = {}
    for route in plan.routes:
        backends.setdefault(route.namespace, set()).update(route.target(p)[1] for p in route.paths)
    for web in plan.web_routes:
        backends.setdefault(web.namespace, set()).add(web.port)
    egress = [{"to": [netpol.namespace_peer(n)], "ports": netpol.ports(p)} for n, p in sorted(backends.items())]
    if plan.dns_provider == "http01-only":
        # HTTP-01 solver pods run beside the Certificate, in this namespace.
        egress.append(
            {
                "to": [netpol.pod_peer({"acme.cert-manager.io/http01-solver": "true"})],
                "ports": netpol.ports([HTTP01_SOLVER_PORT]),
            }
        )
    out = [
        *netpol.baseline_policies(ns, "edge", config.network),
        _np("edge-clients", ns, proxy, ingress=[{"from": clients, "ports": netpol.ports([80, 443])}]),
        _np("edge-backends", ns, proxy, egress=egress),
        _np(
            "edge-metrics",
            ns,
            proxy,
            ingress=[
                {"from": [netpol.namespace_peer(plan.monitoring_namespace)], "ports": netpol.ports([METRICS_PORT])}
            ],
        ),
    ]
    if plan.dns_provider == "http01-only":
        out.append(
            _np(
                "acme-http01-solver",
                ns,
                {"acme.cert-manager.io/http01-solver": "true"},
                ingress=[{"from": [netpol.pod_peer(proxy)], "ports": netpol.ports([HTTP01_SOLVER_PORT])}],
            )
        )
    if plan.controller == "gateway-api":
        # The data plane's agent connects to the control plane over gRPC (NGF 2.x
        # architecture docs); the control plane Service listens on 443 -> 8443.
        out += [
            _np(
                "gateway-agent-to-control-plane",
                ns,
                proxy,
                egress=[{"to": [netpol.pod_peer(NGF_CONTROL_PLANE_LABELS)], "ports": netpol.ports([443, 8443])}],
            ),
            _np(
                "gateway-control-plane",
                ns,
                NGF_CONTROL_PLANE_LABELS,
                ingress=[
                    {"from": [netpol.pod_peer(proxy)], "ports": netpol.ports([443, 8443])},
                    {"from": [netpol.namespace_peer(plan.monitoring_namespace)], "ports": netpol.ports([METRICS_PORT])},
                ],
            ),
        ]
    return out


def self_check_egress(config: StackConfig) -> list[dict[str, Any]]:
    """Egress rules to the DNS-01 self-check resolvers (`dns.self_check_nameservers`):
    DNS-over-HTTPS is TCP to the URL's host (443 unless the URL names a port), plain DNS is
    UDP and TCP (cert-manager's DNSQuery retries over TCP: pkg/issuer/acme/dns/util/wait.go).
    A DoH server named by host name may resolve to any public address."""
    rules = []
    for server in config.dns.self_check_nameservers:
        if server.startswith("https://"):
            url = urlsplit(server)
            host, port, protocols = url.hostname or "", url.port or 443, ("TCP",)
        else:
            address, _, number = server.rpartition(":")
            host, port, protocols = address.strip("[]"), int(number), ("UDP", "TCP")
        port_rules = [rule for proto in protocols for rule in netpol.ports([port], proto)]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            rules.append({**netpol.internet_egress(config.network, [port]), "ports": port_rules})
            continue
        rules.append({"to": [{"ipBlock": {"cidr": f"{ip}/{ip.max_prefixlen}"}}], "ports": port_rules})
    return rules


def cert_manager_network_policies(config: StackConfig) -> list[dict[str, Any]]:
    ns = config.edge.cert_manager_namespace
    acme_ports = [443, 80] if config.dns.provider == "http01-only" else [443]  # 80: HTTP-01 self-check
    out = [
        *netpol.baseline_policies(ns, "edge", config.network),
        # ACME and the DNS provider API are both HTTPS on the internet.
        _np(
            "cert-manager-acme",
            ns,
            CERT_MANAGER_CONTROLLER_LABELS,
            egress=[netpol.internet_egress(config.network, acme_ports)],
        ),
        _np(
            "cert-manager-metrics",
            ns,
            CERT_MANAGER_CONTROLLER_LABELS,
            ingress=[
                {
                    "from": [netpol.namespace_peer(config.monitoring.namespace)],
                    "ports": netpol.ports([CERT_MANAGER_METRICS_PORT]),
                }
            ],
        ),
        _np(
            "cert-manager-webhook",
            ns,
            CERT_MANAGER_WEBHOOK_LABELS,
            ingress=[
                {"from": netpol.from_api_server(config.network), "ports": netpol.ports([CERT_MANAGER_WEBHOOK_PORT])}
            ],
        ),
    ]
    if config.dns.provider != "http01-only":
        out.append(
            _np("cert-manager-dns01-self-check", ns, CERT_MANAGER_CONTROLLER_LABELS, egress=self_check_egress(config))
        )
    if config.dns.provider == "godaddy":
        out.append(
            _np(
                "godaddy-webhook",
                ns,
                GODADDY_LABELS,
                ingress=[
                    {"from": netpol.from_api_server(config.network), "ports": netpol.ports([GODADDY_WEBHOOK_PORT])}
                ],
                egress=[netpol.internet_egress(config.network)],
            )
        )
    return out


def external_dns_network_policies(config: StackConfig) -> list[dict[str, Any]]:
    ns = config.dns.external_dns_namespace
    return [
        *netpol.baseline_policies(ns, "edge", config.network),
        _np("external-dns-provider-api", ns, EXTERNAL_DNS_LABELS, egress=[netpol.internet_egress(config.network)]),
        _np(
            "external-dns-metrics",
            ns,
            EXTERNAL_DNS_LABELS,
            ingress=[
                {
                    "from": [netpol.namespace_peer(config.monitoring.namespace)],
                    "ports": netpol.ports([EXTERNAL_DNS_METRICS_PORT]),
                }
            ],
        ),
    ]


def gateway_metrics_services(plan: EdgePlan, config: StackConfig) -> list[dict[str, Any]]:
    """ClusterIP Services for NGF metrics (control plane and data plane pods, port 9113)."""
    _, proxy = controller_pod_selector(config)
    parts = [("data-plane", proxy)]
    if plan.installs_controller:
        parts.insert(0, ("control-plane", NGF_CONTROL_PLANE_LABELS))
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"edge-metrics-{part}",
                "namespace": plan.namespace,
                "labels": _edge_metrics_labels(part),
            },
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT, "protocol": "TCP"}],
            },
        }
        for part, selector in parts
    ]


# ---------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeIngressArgs:
    config: StackConfig
    routes: Sequence[Route]
    # `create_namespaces(name, config)`, created by the caller first: the SecretsLayer
    # writes the DNS credentials into them before cert-manager starts.
    namespaces: Mapping[str, pulumi.Resource]
    web_routes: Sequence[WebRoute] = ()
    # SecretsLayer.refs: `<credential id>/<key>` -> SecretRef (for `credentials(config)`).
    credential_refs: dict[str, SecretRef] = field(default_factory=dict)
    # What the DNS credentials need first (SecretsLayer.ready): issuers and external-dns wait.
    credentials_ready: Sequence[pulumi.Resource] = ()
    # Route name -> the resource its Service comes from (MCPServerSet.route_backends: the
    # MCPServer or VirtualMCPServer the operator turns into it). Each route object waits
    # for exactly the backends it sends traffic to, never a whole component: the engine
    # expands a component to every child, which grows as servers times routes.
    route_backends: Mapping[str, pulumi.Resource] = field(default_factory=dict)


def create_namespaces(name: str, config: StackConfig) -> dict[str, pulumi.Resource]:
    """The namespaces the edge owns, by name: the controller's (unless `existing`: then it
    is not ours), cert-manager's (unless an existing cert-manager runs there), and
    external-dns' when it manages records."""
    edge, dns = config.edge, config.dns
    opts = pulumi.ResourceOptions()
    out: dict[str, pulumi.Resource] = {}
    if edge.controller != "existing":
        out[edge.namespace] = restricted_namespace(f"{name}-namespace", edge.namespace, "edge", opts)
    if edge.install_cert_manager:
        # The snowdrop GoDaddy webhook chart offers no securityContext values, so its pod
        # cannot pass Pod Security `restricted`: with GoDaddy this namespace is `baseline`.
        out[edge.cert_manager_namespace] = restricted_namespace(
            f"{name}-cert-manager-namespace",
            edge.cert_manager_namespace,
            "cert-manager",
            opts,
            pod_security="baseline" if dns.provider == "godaddy" else "restricted",
        )
    if dns.manage_records:
        out[dns.external_dns_namespace] = restricted_namespace(
            f"{name}-external-dns-namespace", dns.external_dns_namespace, "external-dns", opts
        )
    return out


class EdgeIngress(pulumi.ComponentResource):
    """The edge: controller, cert-manager, issuers, the Certificate, DNS and routes."""

    def __init__(self, name: str, args: EdgeIngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, {}, opts)
        config = args.config
        edge, dns = config.edge, config.dns
        self.plan = build_edge_plan(config, args.routes, args.web_routes, stack=pulumi.get_stack())
        plan = self.plan
        creds = dns_credentials(config, args.credential_refs)
        self._name = name

        # Namespaces: created by the caller (EdgeIngressArgs.namespaces).
        owned = args.namespaces
        edge_ns = owned.get(edge.namespace) if plan.controller != "existing" else None
        cm_ns = owned[edge.cert_manager_namespace] if edge.install_cert_manager else None
        extdns_ns = owned.get(dns.external_dns_namespace) if dns.manage_records else None
        namespaces = [n for n in (edge_ns, cm_ns, extdns_ns) if n is not None]

        # NetworkPolicies first: pods start confined.
        policies = cert_manager_network_policies(config) if cm_ns is not None else []
        if edge_ns is not None:
            policies += edge_network_policies(plan, config)
        if extdns_ns is not None:
            policies += external_dns_network_policies(config)
        self._apply(policies, namespaces)

        # cert-manager (CRDs included), then the GoDaddy solver webhook; or the check that
        # an existing cert-manager serves their APIs.
        issuer_deps: list[pulumi.Input[pulumi.Resource]] = []
        if cm_ns is not None:
            issuer_deps.append(
                helm_release(
                    f"{name}-cert-manager",
                    versions.CERT_MANAGER,
                    namespace=edge.cert_manager_namespace,
                    values=cert_manager_values(config),
                    release_name=CERT_MANAGER_RELEASE,
                    opts=self._child([cm_ns]),
                )
            )
            if dns.provider == "godaddy":
                issuer_deps.append(
                    helm_release(
                        f"{name}-godaddy-webhook",
                        versions.GODADDY_WEBHOOK,
                        namespace=edge.cert_manager_namespace,
                        values=godaddy_webhook_values(config),
                        release_name=GODADDY_RELEASE,
                        opts=self._child(issuer_deps[:1]),
                    )
                )
        else:
            issuer_deps += existing.require_apis(name, cert_manager_dependencies(config, plan, creds), parent=self)

        # The controller, or the check that the existing one is what the routes are written for.
        controller_deps: list[pulumi.Input[pulumi.Resource]] = []
        if not plan.installs_controller:
            setting = controller_setting(config)
            kind = "GatewayClass" if plan.controller == "gateway-api" else "IngressClass"
            controller_deps.append(existing.require_edge_class(kind, name, edge.ingress_class, setting, parent=self))
            controller_deps += existing.require_apis(name, controller_dependencies(config, plan), parent=self)
        if plan.installs_controller and plan.controller == "nginx-ingress":
            controller_deps.append(
                helm_release(
                    f"{name}-nginx-ingress",
                    versions.NGINX_INGRESS,
                    namespace=edge.namespace,
                    values=nginx_ingress_values(config),
                    release_name=NIC_RELEASE,
                    opts=self._child(namespaces),
                )
            )
        elif plan.installs_controller and plan.controller == "gateway-api":
            controller_deps.append(
                helm_release(
                    f"{name}-nginx-gateway-fabric",
                    versions.NGINX_GATEWAY_FABRIC,
                    namespace=edge.namespace,
                    values=gateway_fabric_values(config),
                    release_name=NGF_RELEASE,
                    opts=self._child(namespaces),
                )
            )
        if plan.controller == "gateway-api" and edge_ns is not None:
            self._apply(gateway_metrics_services(plan, config), namespaces)

        issuers = self._apply(issuer_objects(plan, config, creds), [*issuer_deps, *args.credentials_ready])
        certificate = self._apply(certificate_objects(plan), [*issuers, *namespaces])

        backends = {
            (r.namespace, r.service): args.route_backends[r.name] for r in plan.routes if r.name in args.route_backends
        }
        self._apply(
            _route_objects(plan, config),
            [*controller_deps, *certificate],
            backends=lambda obj: [backends[s] for s in sorted(backend_services(obj)) if s in backends],
        )

        if dns.manage_records:
            helm_release(
                f"{name}-external-dns",
                versions.EXTERNAL_DNS,
                namespace=dns.external_dns_namespace,
                values=external_dns_values(config, creds.external_dns),
                release_name=EXTERNAL_DNS_RELEASE,
                opts=self._child([*namespaces, *args.credentials_ready]),
            )

        out = outputs(plan)
        self.base_url: pulumi.Output[str] = pulumi.Output.from_input(out["base_url"])
        self.mcp_urls: pulumi.Output[dict[str, str]] = pulumi.Output.from_input(out["mcp_urls"])
        self.outputs_urls: pulumi.Output[dict[str, str]] = pulumi.Output.from_input(out["outputs_urls"])
        self.web_urls: pulumi.Output[dict[str, str]] = pulumi.Output.from_input(out["web_urls"])
        self.register_outputs(
            {
                "base_url": self.base_url,
                "mcp_urls": self.mcp_urls,
                "outputs_urls": self.outputs_urls,
                "web_urls": self.web_urls,
                "issuer": plan.issuer,
            }
        )

    def _child(self, depends_on: Sequence[pulumi.Input[pulumi.Resource]] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _apply(
        self,
        manifests: list[dict[str, Any]],
        depends_on: Sequence[pulumi.Input[pulumi.Resource]],
        backends: Callable[[dict[str, Any]], list[pulumi.Resource]] = lambda obj: [],
    ) -> list[pulumi.Resource]:
        """Register each manifest after `depends_on` and the resources `backends(obj)` names."""
        created = []
        for obj in manifests:
            meta = obj["metadata"]
            resource_name = "-".join(
                filter(None, [self._name, obj["kind"].lower(), meta.get("namespace", ""), meta["name"]])
            )
            created.append(KubernetesObject(resource_name, obj, self._child([*depends_on, *backends(obj)])))
        return created
