"""Edge security: no NGINX configuration injection, monitoring UIs only behind the
allowlist, and certificates from a Let's Encrypt production issuer.

Injection (research/platform.md §1.2-1.3): a snippet hands raw NGINX configuration to
whoever writes the route (CVE-2021-25742: reading every Secret the controller can);
F5 NGINX Ingress Controller takes them as `nginx.org/*-snippets` annotations, in
VirtualServer fields and ConfigMap keys once `controller.enableSnippets` is on; NGINX
Gateway Fabric as SnippetsFilter/SnippetsPolicy objects once enabled in its chart. An
annotation value or path that breaks out of its NGINX directive (`;`, `{`, `}`, a line
break) is the same attack without the snippet switch (CVE-2026-24512, path injection).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .base import resource_policy, stack_policy, string_list
from .edge import MERGEABLE
from .kube import (
    CERTIFICATE,
    GATEWAY,
    HELM_RELEASE,
    HTTP_ROUTE,
    INGRESS,
    NETWORK_POLICY,
    annotations,
    as_dict,
    as_list,
    describe,
    dotted,
    get,
    ingress_hosts,
    kind_of,
    name_of,
    namespace_of,
    route_backends,
    selector_matches,
    walk,
)
from .stackview import StackView

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NIC_POLICY = "kubernetes:k8s.nginx.org/v1:Policy"
NIC_GROUP = "k8s.nginx.org"
NGF_GROUP = "gateway.nginx.org"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
ISSUER = "kubernetes:cert-manager.io/v1:Issuer"
# Annotations NGINX controllers turn into configuration (F5 NIC, NGINX App Protect, and
# the retired ingress-nginx, whose annotations a controller of it would still read).
NGINX_ANNOTATIONS = ("nginx.org/", "nginx.com/", "appprotect.f5.com/", "nginx.ingress.kubernetes.io/")
# F5 NIC's `nginx.org/rewrites` separates its entries with `;` (examples/ingress-resources/rewrites).
SEMICOLON_LISTS = ("nginx.org/rewrites",)
_BREAKOUT = re.compile(r"[\n\r{}]")
_UNSAFE_PATH = re.compile(r"[\s;{}\"'\\]")
_FALSE = ("", "false", "False", "0", "off")


def _group_of(resource_type: str) -> str:
    api_version = resource_type.split(":")[1] if resource_type.count(":") >= 2 else ""
    return api_version.split("/")[0]


def _truthy(node: Any) -> bool:
    if isinstance(node, bool):
        return node
    if isinstance(node, str):
        return node.strip() not in _FALSE
    return bool(node) and not isinstance(node, (Mapping, Sequence))


def _annotation_problems(props: Mapping[str, Any]) -> Iterator[str]:
    for key, value in sorted(annotations(props).items()):
        if not key.startswith(NGINX_ANNOTATIONS):
            continue
        if "snippet" in key.lower():
            yield f"annotation {key} hands raw NGINX configuration to the route"
        elif _BREAKOUT.search(value) or (";" in value and key not in SEMICOLON_LISTS):
            yield f"annotation {key} holds ';', '{{', '}}' or a line break, which ends its NGINX directive"


def _path_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for backend in route_backends(resource_type, props):
        if backend.path and _UNSAFE_PATH.search(backend.path):
            yield f"path {backend.path!r} holds whitespace, ';', braces, quotes or a backslash"
    if resource_type == HTTP_ROUTE:
        for rule in as_list(get(props, "spec", "rules")):
            for f in as_list(get(rule, "filters")):
                if get(f, "type") == "ExtensionRef" and "Snippets" in str(get(f, "extensionRef", "kind")):
                    yield f"filter references {get(f, 'extensionRef', 'kind')} {get(f, 'extensionRef', 'name')}"


def _snippet_fields(value: Any) -> Iterator[str]:
    """Dotted paths of every switched-on snippet setting in a values tree or a spec."""
    for path, node in walk(value):
        if path and any("snippet" in part.lower() for part in path) and _truthy(node):
            yield dotted(path)


def _check_injection(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    where = describe(args.resource_type, args.props, args.name)
    problems = list(_annotation_problems(args.props))
    if args.resource_type in (INGRESS, HTTP_ROUTE):
        problems += list(_path_problems(args.resource_type, args.props))
    group = _group_of(args.resource_type)
    if group == NGF_GROUP and "Snippets" in kind_of(args.resource_type):
        problems.append(f"{kind_of(args.resource_type)} injects raw NGINX configuration")
    elif group == NIC_GROUP:
        problems += [f"spec {p} sets a snippet" for p in _snippet_fields(args.props.get("spec"))]
    if args.resource_type == CONFIG_MAP:
        problems += [f"data key {k} sets a snippet" for k in sorted(as_dict(args.props.get("data"))) if "snippet" in k]
    if args.resource_type == HELM_RELEASE:
        problems += [f"values {p} switches snippets on" for p in _snippet_fields(args.props.get("values"))]
    for problem in problems:
        report(f"{where}: {problem}", None)


EDGE_NO_CONFIG_INJECTION = resource_policy(
    "edge-no-config-injection",
    "Nothing writes raw NGINX configuration at the edge: no snippet annotations, VirtualServer snippet fields, "
    "snippet ConfigMap keys, NGINX Gateway Fabric SnippetsFilter/SnippetsPolicy, or chart values that switch "
    "snippets on; no NGINX annotation value or route path that can end its directive (';', braces, line breaks).",
    _check_injection,
    severity=Severity.CRITICAL,
    remediation="Express the setting with the controller's typed annotations or policies (components/edge_plan.py "
    "uses nginx.org/* annotations and k8s.nginx.org Policies); keep controller.enableSnippets false.",
)


# ---------------------------------------------------------------------------
# Monitoring UIs behind the allowlist
# ---------------------------------------------------------------------------

UI_CONFIG = {
    "uiServices": string_list(
        "Regular expressions (Python re, searched) for the Services of monitoring UIs and APIs, which show the "
        "whole stack's internals to whoever reaches them.",
        ["grafana", "jaeger", "prometheus", "alertmanager"],
    )
}


def _narrow(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen > 0
    except ValueError:
        return False


def _nic_allowlisted(view: StackView, ingress: PolicyResource) -> bool:
    """The Ingress, or its F5 NIC mergeable master for the same host, names a NIC Policy
    whose accessControl allows only narrow address ranges."""
    candidates = [ingress]
    if annotations(ingress.props).get(MERGEABLE) == "minion":
        hosts = set(ingress_hosts(ingress.props))
        candidates += [
            m
            for m in view.of_type(INGRESS)
            if annotations(m.props).get(MERGEABLE) == "master" and hosts & set(ingress_hosts(m.props))
        ]
    for candidate in candidates:
        for ref in annotations(candidate.props).get("nginx.org/policies", "").split(","):
            ns, _, name = ref.strip().rpartition("/")
            policy = view.find(NIC_POLICY, ns or namespace_of(candidate.props), name)
            allow = [str(c) for c in as_list(get(policy.props, "spec", "accessControl", "allow"))] if policy else []
            if allow and all(_narrow(c) for c in allow):
                return True
    return False


def _gateway_allowlisted(view: StackView, route: PolicyResource) -> bool:
    """Every parent Gateway's data-plane pods (Gateway API label gateway-name, GEP-1762)
    admit only narrow address ranges, namespaces or pods, through NetworkPolicies."""
    parents = as_list(get(route.props, "spec", "parentRefs"))
    if not parents:
        return False
    for ref in parents:
        ns = str(get(ref, "namespace") or namespace_of(route.props))
        gateway = view.find(GATEWAY, ns, str(get(ref, "name")))
        if gateway is None:
            return False
        pods = {"gateway.networking.k8s.io/gateway-name": name_of(gateway.props, gateway.name)}
        policies = [
            p
            for p in view.of_type(NETWORK_POLICY)
            if namespace_of(p.props) == ns
            and selector_matches(get(p.props, "spec", "podSelector"), pods)
            and "Ingress" in [str(t) for t in as_list(get(p.props, "spec", "policyTypes"))]
        ]
        rules = [as_dict(r) for p in policies for r in as_list(get(p.props, "spec", "ingress"))]
        if not policies or any(_open(rule) for rule in rules):
            return False
    return True


def _open(rule: Mapping[str, Any]) -> bool:
    peers = as_list(rule.get("from"))
    return not peers or any(get(p, "ipBlock", "cidr") and not _narrow(str(get(p, "ipBlock", "cidr"))) for p in peers)


def _check_ui_allowlist(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    patterns = [re.compile(str(p)) for p in config["uiServices"]]
    seen: set[str] = set()
    for route in view.routes():
        r = route.resource
        if r.urn in seen or not any(p.search(route.backend.service) for p in patterns):
            continue
        seen.add(r.urn)
        guarded = _nic_allowlisted(view, r) if r.resource_type == INGRESS else _gateway_allowlisted(view, r)
        if not guarded:
            report(
                f"{route.where} publishes monitoring Service {route.backend.namespace}/{route.backend.service} "
                "without an allowlist in front of it",
                r.urn,
            )


MONITORING_UI_BEHIND_ALLOWLIST = stack_policy(
    "monitoring-ui-behind-allowlist",
    "A route to Grafana, Jaeger, Prometheus or Alertmanager (uiServices) is reachable only from the edge "
    "allowlist: F5 NIC, an Ingress (or its mergeable master) naming a k8s.nginx.org Policy whose accessControl "
    "allows only narrow ranges; Gateway API, the parent Gateway's pods admit only narrow ranges (NetworkPolicy).",
    _check_ui_allowlist,
    severity=Severity.HIGH,
    remediation="Set edge.allowed_cidrs (the edge then publishes the UIs behind its allowlist) or "
    "edge.publish_web_uis: false; reach them with kubectl port-forward otherwise.",
    config=UI_CONFIG,
    relaxing=("uiServices",),
)


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

# cert-manager website configuration/acme/README.md.
LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
ISSUER_ANNOTATIONS = {"cert-manager.io/cluster-issuer": "ClusterIssuer", "cert-manager.io/issuer": "Issuer"}

ISSUER_CONFIG = {
    "allowedAcmeServers": string_list(
        "ACME directories a Certificate's issuer may use: Let's Encrypt production, whose certificates browsers "
        "and MCP clients trust.",
        [LETS_ENCRYPT_PRODUCTION],
    )
}


def _issuer(view: StackView, kind: str, name: str, namespace: str) -> PolicyResource | None:
    if kind == "ClusterIssuer":
        return next((r for r in view.of_type(CLUSTER_ISSUER) if name_of(r.props, r.name) == name), None)
    return view.find(ISSUER, namespace, name)


def _issuer_problem(view: StackView, kind: str, name: str, namespace: str, allowed: Sequence[str]) -> str | None:
    issuer = _issuer(view, kind, name, namespace)
    if issuer is None:
        return f"{kind} {name} is not in this stack, so its ACME server cannot be checked"
    server = get(issuer.props, "spec", "acme", "server")
    if server not in allowed:
        return f"{kind} {name} uses {server or 'no ACME server'} (allowed: {list(allowed)})"
    return None


def _issuer_refs(view: StackView) -> Iterator[tuple[PolicyResource, str, str, str]]:
    """(resource, issuer kind, issuer name, namespace) for Certificates and for Ingresses
    and Gateways that ask cert-manager for one by annotation (ingress-shim)."""
    for cert in view.of_type(CERTIFICATE):
        ref = as_dict(get(cert.props, "spec", "issuerRef"))
        if ref.get("group") not in (None, "", "cert-manager.io"):
            yield cert, f"{ref.get('kind')}.{ref.get('group')}", str(ref.get("name")), namespace_of(cert.props)
            continue
        # cert-manager defaults issuerRef.kind to Issuer (Certificate CRD).
        yield cert, str(ref.get("kind") or "Issuer"), str(ref.get("name") or ""), namespace_of(cert.props)
    for r in view.of_type(INGRESS, GATEWAY):
        for key, kind in ISSUER_ANNOTATIONS.items():
            name = annotations(r.props).get(key)
            if name:
                yield r, kind, name, namespace_of(r.props)


def _check_issuers(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    allowed = [str(s) for s in config["allowedAcmeServers"]]
    for resource, kind, name, namespace in _issuer_refs(view):
        problem = _issuer_problem(view, kind, name, namespace, allowed)
        if problem:
            report(f"{describe(resource.resource_type, resource.props, resource.name)}: {problem}", resource.urn)


CERTIFICATE_PRODUCTION_ISSUER = stack_policy(
    "certificate-production-issuer",
    "Every Certificate (and every Ingress or Gateway asking cert-manager for one by annotation) is issued by an "
    "Issuer or ClusterIssuer of the stack whose ACME server is Let's Encrypt production (allowedAcmeServers).",
    _check_issuers,
    severity=Severity.HIGH,
    remediation="Keep edge.issuer auto or production (components/edge_plan.py issues from letsencrypt-production "
    "outside dev); an environment that takes staging certificates lists the staging directory in "
    "allowedAcmeServers with the reason.",
    config=ISSUER_CONFIG,
    relaxing=("allowedAcmeServers",),
)

POLICIES = [EDGE_NO_CONFIG_INJECTION, MONITORING_UI_BEHIND_ALLOWLIST, CERTIFICATE_PRODUCTION_ISSUER]
