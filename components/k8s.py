"""Small Kubernetes building blocks every component shares."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

# Recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels).
PART_OF = "mcp-datascience"
MANAGED_BY = "pulumi"


def labels(name: str, component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The recommended `app.kubernetes.io/*` labels for an object of this stack."""
    out = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    out.update(extra or {})
    return out


def owner_labels(component: str) -> dict[str, str]:
    """Labels for custom resources an operator reconciles: no `app.kubernetes.io/name`
    or `instance`, which operators use for the workloads they create."""
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def restricted_namespace(
    resource_name: str,
    name: str,
    component: str,
    opts: pulumi.ResourceOptions,
    pod_security: str = "restricted",
    *,
    annotations: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace whose Pod Security admission level is enforced, audited and warned.

    `restricted` is the default: every workload of the stack is written to pass it
    (kubernetes.io/docs/concepts/security/pod-security-admission).
    """
    pss = {f"pod-security.kubernetes.io/{mode}": pod_security for mode in ("enforce", "audit", "warn")}
    pss["pod-security.kubernetes.io/enforce-version"] = "latest"
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            labels={**labels(name, component), **pss},
            annotations=annotations,
        ),
        opts=opts,
    )


def container_security_context(uid: int = 1000) -> dict[str, object]:
    """The securityContext of every container the stack defines: Pod Security `restricted`."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
