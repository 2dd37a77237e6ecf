"""NetworkPolicy breadth: no ingress rule admits every source, except the edge
controller's HTTP(S) listeners, and pods that run caller-supplied code never reach
public addresses.

"Every source" is a rule without `from` (`ingress: [{}]`), a peer with an empty
namespaceSelector (every namespace, where anyone may label a pod), or an ipBlock of
prefix length 0. The edge is recognised by its chart, as in exposure.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from .base import stack_policy, string_list
from .codeexec import CODE_FACTS_CONFIG, describe_tools, executing_servers
from .exposure import EDGE_CONTROLLER_SERVICES
from .kube import (
    HELM_RELEASE,
    MCP_SERVER,
    NETWORK_POLICY,
    as_dict,
    as_list,
    chart_name,
    describe,
    get,
    namespace_of,
    number,
    pod_templates,
    selector_is_empty,
    selector_matches,
)
from .stackview import StackView

# ---------------------------------------------------------------------------
# Open ingress
# ---------------------------------------------------------------------------


def _prefix_zero(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def open_sources(rule: Mapping[str, Any]) -> list[str]:
    """How an ingress rule admits every source (empty when it does not)."""
    peers = as_list(rule.get("from"))
    if not peers:
        return ["it has no `from`, so every source is admitted"]
    out = []
    for peer in peers:
        p = as_dict(peer)
        if "namespaceSelector" in p and selector_is_empty(p.get("namespaceSelector")):
            out.append("an empty namespaceSelector admits every namespace")
        cidr = get(p, "ipBlock", "cidr")
        if cidr and _prefix_zero(str(cidr)):
            out.append(f"ipBlock {cidr} admits every address")
    return out


def _rule_ports(rule: Mapping[str, Any]) -> list[Any]:
    return [get(p, "port") for p in as_list(rule.get("ports"))]


BREADTH_CONFIG = {
    "edgeControllerCharts": string_list(
        "Charts whose release namespace is the edge controller's: there, a rule on publicPorts only may admit the "
        "internet (the edge's clients, or edge.allowed_cidrs).",
        sorted(EDGE_CONTROLLER_SERVICES),
    ),
    "publicPorts": {
        "type": "array",
        "items": {"type": "integer"},
        "description": "Ports the edge controller serves to the internet.",
        "default": [80, 443],
    },
}


def _edge_namespaces(view: StackView, charts: Sequence[str]) -> set[str]:
    return {
        str(r.props.get("namespace") or "default") for r in view.of_type(HELM_RELEASE) if chart_name(r.props) in charts
    }


def _check_open_ingress(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    edge = _edge_namespaces(view, config["edgeControllerCharts"])
    public_ports = {int(p) for p in config["publicPorts"]}
    for policy in view.of_type(NETWORK_POLICY):
        where = describe(policy.resource_type, policy.props, policy.name)
        for i, raw in enumerate(as_list(get(policy.props, "spec", "ingress"))):
            rule = as_dict(raw)
            problems = open_sources(rule)
            if not problems:
                continue
            ports = _rule_ports(rule)
            edge_listener = ports and all(number(p) is not None and int(number(p)) in public_ports for p in ports)
            if namespace_of(policy.props) in edge and edge_listener:
                continue  # the edge controller's own listeners face the internet
            report(f"{where} ingress[{i}]: {'; '.join(problems)}", policy.urn)


NETWORK_POLICY_NO_OPEN_INGRESS = stack_policy(
    "network-policy-no-open-ingress",
    "No NetworkPolicy ingress rule admits every source (no `from`, an empty namespaceSelector, an ipBlock of "
    "prefix length 0 such as 0.0.0.0/0), except on the HTTP(S) ports of pods in the edge controller's namespace.",
    _check_open_ingress,
    severity=Severity.HIGH,
    remediation="Name the sources: pods by label, namespaces by kubernetes.io/metadata.name, or the exact "
    "addresses (network.api_server_cidrs for the API server calling a webhook; components/netpol.py "
    "from_api_server).",
    config=BREADTH_CONFIG,
    relaxing=("edgeControllerCharts", "publicPorts"),
)


# ---------------------------------------------------------------------------
# Code execution: no public egress
# ---------------------------------------------------------------------------

EGRESS_CONFIG = {
    **CODE_FACTS_CONFIG,
    "privateCidrs": string_list(
        "Address ranges that are not public (RFC 1918, CGNAT, link-local, IPv6 unique local and link-local): "
        "egress there stays inside the cluster's networks.",
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"],
    ),
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _minus(pieces: list[Network], removed: Network) -> list[Network]:
    out: list[Network] = []
    for piece in pieces:
        if piece.version != removed.version or not piece.overlaps(removed):
            out.append(piece)
        elif removed.supernet_of(piece):  # type: ignore[arg-type]
            continue
        else:
            out.extend(piece.address_exclude(removed))  # type: ignore[arg-type]
    return out


def public_part(cidr: str, excepted: Sequence[str], private: Sequence[str]) -> list[str]:
    """The public addresses an ipBlock admits (empty when none)."""
    try:
        pieces: list[Network] = [ipaddress.ip_network(cidr, strict=False)]
        for block in [*excepted, *private]:
            pieces = _minus(pieces, ipaddress.ip_network(block, strict=False))
    except ValueError:
        return [cidr]  # not an address range Kubernetes would accept: judged as open
    return [str(p) for p in pieces]


def _public_egress(policy: PolicyResource, private: Sequence[str]) -> Iterator[str]:
    where = describe(policy.resource_type, policy.props, policy.name)
    for i, raw in enumerate(as_list(get(policy.props, "spec", "egress"))):
        peers = as_list(get(raw, "to"))
        if not peers:
            yield f"{where} egress[{i}] has no `to`: every destination, the internet included"
            continue
        for peer in peers:
            block = as_dict(get(peer, "ipBlock"))
            if not block.get("cidr"):
                continue
            public = public_part(str(block["cidr"]), [str(e) for e in as_list(block.get("except"))], private)
            if public:
                yield f"{where} egress[{i}] allows public addresses ({block['cidr']})"


def _restricts_egress(policy: PolicyResource) -> bool:
    types = [str(t) for t in as_list(get(policy.props, "spec", "policyTypes"))]
    return "Egress" in types or bool(as_list(get(policy.props, "spec", "egress")))


def _check_code_egress(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    private = [str(c) for c in config["privateCidrs"]]
    for server, tools in executing_servers(view, as_dict(config["serverImages"])):
        where = describe(server.resource_type, server.props, server.name)
        namespace = namespace_of(server.props)
        for template in pod_templates(MCP_SERVER, server.props):
            selecting = [
                p
                for p in view.network_policies(namespace)
                if selector_matches(get(p.props, "spec", "podSelector"), template.labels) and _restricts_egress(p)
            ]
            if not selecting:
                report(f"{where} {describe_tools(tools)}; no NetworkPolicy restricts its backend's egress", server.urn)
            for problem in (p for policy in selecting for p in _public_egress(policy, private)):
                report(f"{where} {describe_tools(tools)}, but {problem}", server.urn)


CODE_EXECUTION_NO_PUBLIC_EGRESS = stack_policy(
    "code-execution-no-public-egress",
    "The backend pod of an MCP server that runs caller-supplied code (recognised by its image, serverImages; an "
    "unknown image counts unless declared) is egress-restricted by a NetworkPolicy and no policy selecting it "
    "reaches a public address: caller code cannot fetch payloads or send data out.",
    _check_code_egress,
    severity=Severity.CRITICAL,
    remediation="Give the server no egress_hosts or public egress_rules (components/catalog.py: data-exploration has "
    "none); an in-cluster dependency goes in egress_rules with its private CIDR.",
    config=EGRESS_CONFIG,
    relaxing=("serverImages", "privateCidrs"),
)

POLICIES = [NETWORK_POLICY_NO_OPEN_INGRESS, CODE_EXECUTION_NO_PUBLIC_EGRESS]
