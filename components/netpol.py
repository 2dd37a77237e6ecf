"""NetworkPolicy building blocks shared by every component (pure dicts, plus one
function that turns a spec into a resource).

Kubernetes NetworkPolicies are allow-lists: once a policy selects a pod for a
direction, only what some policy allows gets through. Each namespace this stack runs
workloads in gets `default_deny` (everything, both directions) plus DNS, then one
policy per workload that names exactly the flows it needs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pulumi

from components.config import NetworkConfig
from components.k8s import KubernetesObject, labels

METADATA_CIDR = "169.254.169.254/32"  # cloud instance metadata (AWS, GCP, Azure)
INTERNET = "0.0.0.0/0"
# Any address but cloud metadata: the peer for cluster-specific addresses (API server, nodes).
ANY_BUT_METADATA = {"ipBlock": {"cidr": INTERNET, "except": [METADATA_CIDR]}}


def ports(numbers: Iterable[int], protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": n} for n in sorted(set(numbers))]


def namespace_peer(namespace: str, pod_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Pods of one namespace (all of them, or those with `pod_labels`)."""
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pod_labels:
        peer["podSelector"] = {"matchLabels": dict(pod_labels)}
    return peer


def pod_peer(pod_labels: Mapping[str, str]) -> dict[str, Any]:
    """Pods of the policy's own namespace with these labels."""
    return {"podSelector": {"matchLabels": dict(pod_labels)}}


def default_deny_spec() -> dict[str, Any]:
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def dns_egress(network: NetworkConfig) -> dict[str, Any]:
    return {
        "to": [namespace_peer(network.dns_namespace, network.dns_pod_labels)],
        "ports": ports([53], "UDP") + ports([53], "TCP"),
    }


def dns_spec(network: NetworkConfig) -> dict[str, Any]:
    return {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns_egress(network)]}


def api_server_egress(network: NetworkConfig) -> dict[str, Any]:
    """The Kubernetes API. Policies see traffic after the `kubernetes` Service's DNAT, so
    the peer is the API server's endpoint addresses (network.api_server_cidrs); without
    them, any address on the API ports except cloud metadata."""
    if network.api_server_cidrs:
        peers = [{"ipBlock": {"cidr": c}} for c in network.api_server_cidrs]
    else:
        peers = [ANY_BUT_METADATA]
    return {"to": peers, "ports": ports(network.api_server_ports)}


def internet_egress(network: NetworkConfig, port_numbers: Sequence[int] = (443,)) -> dict[str, Any]:
    """Public addresses only: private ranges and cloud metadata excepted."""
    return {
        "to": [{"ipBlock": {"cidr": INTERNET, "except": list(network.private_cidrs)}}],
        "ports": ports(port_numbers),
    }


def policy_object(
    name: str,
    namespace: str,
    selector: Mapping[str, str],
    component: str,
    *,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
    types: list[str] | None = None,
) -> dict[str, Any]:
    """A NetworkPolicy manifest for the pods `selector` matches (all pods when empty).

    `policyTypes` defaults to the directions given: a direction passed as `[]` is denied
    entirely, one left as None is not restricted by this policy.
    """
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(selector)} if selector else {}}
    spec["policyTypes"] = types or [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, component)},
        "spec": spec,
    }


def from_api_server(network: NetworkConfig) -> list[dict[str, Any]]:
    """Peers for traffic the API server sends (webhook calls, `kubectl` service proxy):
    network.api_server_cidrs; when unset, the private ranges of network.private_cidrs
    (link-local aside). Control planes call webhooks from private addresses (node or VPC
    addresses, or a konnectivity agent's pod) but which ones is cluster-specific; never
    from the whole internet."""
    private = tuple(c for c in network.private_cidrs if not ipaddress.ip_network(c).is_link_local)
    return [{"ipBlock": {"cidr": c}} for c in network.api_server_cidrs or private]


def baseline_policies(namespace: str, component: str, network: NetworkConfig) -> list[dict[str, Any]]:
    """A namespace of the stack's own: default deny, then DNS and the Kubernetes API for
    every pod (controllers, webhooks and hook Jobs all talk to it)."""
    return [
        policy_object("default-deny", namespace, {}, component, types=["Ingress", "Egress"]),
        policy_object("allow-dns", namespace, {}, component, egress=[dns_egress(network)]),
        policy_object("allow-kubernetes-api", namespace, {}, component, egress=[api_server_egress(network)]),
    ]


def network_policy(
    resource_name: str,
    *,
    name: str,
    namespace: pulumi.Input[str],
    spec: Mapping[str, Any],
    component: str,
    opts: pulumi.ResourceOptions,
) -> KubernetesObject:
    return KubernetesObject(
        resource_name,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name, component)},
            "spec": dict(spec),
        },
        opts,
    )
