"""Images: `imagePullPolicy: Never` refused.

With `Never` the kubelet runs whatever image of that name a node already holds, never
checking the registry: an image planted on the node, or a stale one, runs in place of
the pinned one, and a new node cannot start the pod at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .base import resource_policy
from .kube import HELM_RELEASE, describe, dotted, pod_templates, walk

NEVER = "Never"


def _check_pull_policy(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    for template in pod_templates(args.resource_type, args.props):
        for c in template.containers:
            if c.spec.get("imagePullPolicy") == NEVER:
                report(f"{template.where} container '{c.name}': imagePullPolicy is Never", None)
    if args.resource_type == HELM_RELEASE:
        where = describe(args.resource_type, args.props, args.name)
        for path, node in walk(args.props.get("values")):
            if path and path[-1] in ("pullPolicy", "imagePullPolicy") and node == NEVER:
                report(f"{where} values {dotted(path)}: Never", None)


IMAGE_PULL_POLICY = resource_policy(
    "workload-image-pull-policy",
    "No container (pod templates, MCPServer and VirtualMCPServer podTemplateSpec, chart values pullPolicy) uses "
    "imagePullPolicy: Never, which runs whatever image of that name a node already holds.",
    _check_pull_policy,
    severity=Severity.HIGH,
    remediation="Use IfNotPresent with an image pinned by tag and digest (or Always); the stack sets IfNotPresent.",
)

POLICIES = [IMAGE_PULL_POLICY]
