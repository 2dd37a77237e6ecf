"""Network: default deny per workload namespace, a NetworkPolicy written for every pod,
and no egress that reaches the cloud metadata address.

Pods the offline view knows: built-in workload templates, each MCPServer's proxy and
backend pods and each VirtualMCPServer's pod, with the labels the ToolHive operator
gives them (research/toolhive.md §3). Pods a Helm chart renders are not visible; their
namespaces still need the default deny.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .base import resource_policy, stack_policy, string_list
from .kube import (
    MCP_SERVER,
    NETWORK_POLICY,
    WORKLOAD_TYPES,
    as_dict,
    as_list,
    cidr_contains,
    describe,
    get,
    mcp_proxy_pod_labels,
    namespace_of,
    pod_templates,
    selector_is_empty,
    selector_matches,
)
from .stackview import StackView

DEFAULT_DENY_CONFIG = {
    "podlessCharts": string_list(
        "Chart names (last path segment) whose releases run no pods, so their namespace needs no default deny "
        "on their account.",
        ["toolhive-operator-crds"],
    ),
    "exemptNamespaces": string_list(
        "Namespaces the stack deploys into but does not own, where it must not impose a default deny. "
        "kube-system: the Sealed Secrets controller lives there because kubeseal looks for it there by "
        "default; a default deny would cut off cluster DNS and the other system pods, so the stack confines "
        "only the controller's own pods (components/secrets.py). Prefer a namespace of the stack's own.",
        ["kube-system"],
    ),
}


def is_default_deny(policy_props: Mapping[str, Any]) -> bool:
    """Selects every pod, for both directions, and allows nothing."""
    spec = as_dict(policy_props.get("spec"))
    types = {str(t) for t in as_list(spec.get("policyTypes"))}
    return (
        selector_is_empty(as_dict(spec.get("podSelector")))
        and {"Ingress", "Egress"} <= types
        and not as_list(spec.get("ingress"))
        and not as_list(spec.get("egress"))
    )


def _check_default_deny(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    exempt = set(config["exemptNamespaces"])
    for namespace, workloads in sorted(view.workload_namespaces(config["podlessCharts"]).items()):
        if namespace in exempt:
            continue
        if not any(is_default_deny(p.props) for p in view.network_policies(namespace)):
            shown = ", ".join(workloads[:3]) + (f" and {len(workloads) - 3} more" if len(workloads) > 3 else "")
            report(f"namespace {namespace} runs {shown} but has no default-deny NetworkPolicy", None)


NAMESPACE_DEFAULT_DENY = stack_policy(
    "namespace-default-deny",
    "Every namespace the stack runs workloads in (Deployments, StatefulSets, Jobs, MCPServers, "
    "VirtualMCPServers, Helm releases) has a default-deny NetworkPolicy (podSelector {}, Ingress and Egress, "
    "no rules).",
    _check_default_deny,
    severity=Severity.HIGH,
    remediation="Create a NetworkPolicy with spec {podSelector: {}, policyTypes: [Ingress, Egress]} in the namespace "
    "(components/netpol.py default_deny_spec).",
    config=DEFAULT_DENY_CONFIG,
    relaxing=("podlessCharts", "exemptNamespaces"),
)


def stack_pods(view: StackView) -> list[tuple[str, str, dict[str, str], str]]:
    """(where, namespace, labels, urn) of every pod the stack defines that the view can see."""
    out = []
    for r in view.of_type(*WORKLOAD_TYPES):
        for t in pod_templates(r.resource_type, r.props):
            out.append((t.where, t.namespace, t.labels, r.urn))
    for r in view.mcp_servers:
        where = describe(r.resource_type, r.props, r.name)
        out.append((f"{where} proxy pod", namespace_of(r.props), mcp_proxy_pod_labels(r.props), r.urn))
        for t in pod_templates(MCP_SERVER, r.props):
            out.append((t.where, t.namespace, t.labels, r.urn))
    for r in view.vmcps:
        for t in pod_templates(r.resource_type, r.props):
            out.append((t.where, t.namespace, t.labels, r.urn))
    return out


def _check_selected(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    for where, namespace, labels, urn in stack_pods(view):
        own = [
            p
            for p in view.network_policies(namespace)
            if not selector_is_empty(get(p.props, "spec", "podSelector"))
            and selector_matches(get(p.props, "spec", "podSelector"), labels)
        ]
        if not own:
            report(f"{where} (labels {labels}) is selected by no NetworkPolicy written for it", urn)


POD_NETWORK_POLICY = stack_policy(
    "pod-selected-by-network-policy",
    "Every pod the stack defines (workload templates, MCPServer proxy and backend pods, VirtualMCPServer pods) "
    "is selected by a NetworkPolicy written for it (a non-empty podSelector matching its labels), so its "
    "allowed flows are stated, not just denied by the namespace default.",
    _check_selected,
    severity=Severity.HIGH,
    remediation="Add a NetworkPolicy whose podSelector matches the pod's labels and allows exactly the flows it needs "
    "(components/mcp_servers.py network_policies for MCP servers).",
)


METADATA_CONFIG = {
    "metadataAddresses": string_list(
        "Cloud instance metadata addresses no egress rule may reach (AWS, GCP, Azure: 169.254.169.254; AWS IPv6: "
        "fd00:ec2::254).",
        ["169.254.169.254", "fd00:ec2::254"],
    )
}


def _check_metadata(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type != NETWORK_POLICY:
        return
    where = describe(args.resource_type, args.props, args.name)
    addresses = [str(a) for a in config["metadataAddresses"]]
    for i, rule in enumerate(as_list(get(args.props, "spec", "egress"))):
        peers = as_list(get(rule, "to"))
        if not peers:
            report(f"{where} egress[{i}] has no `to`: it allows every destination, the metadata address included", None)
            continue
        for peer in peers:
            block = as_dict(get(peer, "ipBlock"))
            cidr = block.get("cidr")
            if not cidr:
                continue
            excepted = [str(e) for e in as_list(block.get("except"))]
            for address in addresses:
                if cidr_contains(str(cidr), address) and not any(cidr_contains(e, address) for e in excepted):
                    report(f"{where} egress[{i}] allows {cidr} without excepting the metadata address {address}", None)


EGRESS_EXCEPTS_METADATA = resource_policy(
    "egress-excepts-metadata",
    "No NetworkPolicy egress rule reaches the cloud metadata address: an ipBlock containing it (0.0.0.0/0 "
    "and the like) must list it under `except`, and a rule without `to` is refused.",
    _check_metadata,
    severity=Severity.HIGH,
    remediation="Add 169.254.169.254/32 (or the link-local 169.254.0.0/16) to the ipBlock's `except` "
    "(components/netpol.py internet_egress and api_server_egress do).",
    config=METADATA_CONFIG,
    relaxing=("metadataAddresses",),
)

POLICIES = [NAMESPACE_DEFAULT_DENY, POD_NETWORK_POLICY, EGRESS_EXCEPTS_METADATA]
