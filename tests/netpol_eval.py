"""Whether rendered NetworkPolicies let a pod reach an address outside the cluster.

Kubernetes semantics (kubernetes.io/docs/concepts/services-networking/network-policies):
a pod's egress is open until some policy that selects it lists `Egress`; then a
connection is allowed when any such policy has a rule whose peers (none = anywhere) and
ports (none = every port) match it. Only `ipBlock` peers match an address outside the
cluster; namespace and pod selectors never do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any


def _selects(policy: Mapping[str, Any], pod_labels: Mapping[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return wanted.items() <= pod_labels.items()


def _peer_matches(peer: Mapping[str, Any], address: str) -> bool:
    block = peer.get("ipBlock")
    if block is None:
        return False
    ip = ipaddress.ip_address(address)
    net = ipaddress.ip_network(block["cidr"])
    if ip.version != net.version or ip not in net:
        return False
    return not any(
        ip in ipaddress.ip_network(e) for e in block.get("except", []) if ipaddress.ip_network(e).version == ip.version
    )


def _port_matches(rule_ports: Iterable[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in rule_ports)


def egress_allowed(
    policies: Iterable[Mapping[str, Any]], pod_labels: Mapping[str, str], address: str, port: int, protocol: str
) -> bool:
    """May a pod with `pod_labels` open `protocol` `address`:`port`, given every
    NetworkPolicy object of its namespace?"""
    egress = [p for p in policies if _selects(p, pod_labels) and "Egress" in p["spec"].get("policyTypes", [])]
    if not egress:
        return True
    return any(
        (not rule.get("to") or any(_peer_matches(peer, address) for peer in rule["to"]))
        and _port_matches(rule.get("ports"), port, protocol)
        for policy in egress
        for rule in policy["spec"].get("egress", [])
    )
