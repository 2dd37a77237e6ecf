"""Small Kubernetes building blocks every component shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import util
from pathlib import Path
from typing import Any

import pulumi

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


def _plugin_version(package: str) -> str:
    """The provider plugin version a Pulumi package declares in its pulumi-plugin.json
    (read without importing the package)."""
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} is not installed (pip install -r requirements.txt)")
    manifest = Path(next(iter(spec.submodule_search_locations))) / "pulumi-plugin.json"
    return str(json.loads(manifest.read_text())["version"])


# The Kubernetes provider plugin the objects are registered with: the pinned pulumi-kubernetes.
PROVIDER_VERSION = _plugin_version("pulumi_kubernetes")
# Older type tokens pulumi-kubernetes' own classes alias for these kinds, so an object first
# registered under an older API version is updated, not replaced (pulumi-kubernetes 4.25.0
# networking/v1/Ingress.py, networking/v1/NetworkPolicy.py,
# autoscaling/v2/HorizontalPodAutoscaler.py, policy/v1/PodDisruptionBudget.py).
_ALIASES: dict[str, tuple[str, ...]] = {
    "kubernetes:networking.k8s.io/v1:Ingress": (
        "kubernetes:extensions/v1beta1:Ingress",
        "kubernetes:networking.k8s.io/v1beta1:Ingress",
    ),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("kubernetes:extensions/v1beta1:NetworkPolicy",),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": (
        "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
        "kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler",
        "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
    ),
    "kubernetes:policy/v1:PodDisruptionBudget": ("kubernetes:policy/v1beta1:PodDisruptionBudget",),
}
# Fields the Secret class makes secret in inputs and in state (core/v1/Secret.py).
_SECRET_FIELDS: dict[str, tuple[str, ...]] = {"kubernetes:core/v1:Secret": ("data", "stringData")}


def type_token(api_version: str, kind: str) -> str:
    """The provider's type token: `kubernetes:<group>/<version>:<Kind>`, the core group
    spelled `core` (`kubernetes:core/v1:Namespace`, `kubernetes:cert-manager.io/v1:Certificate`)."""
    return f"kubernetes:{api_version if '/' in api_version else f'core/{api_version}'}:{kind}"


class KubernetesObject(pulumi.CustomResource):
    """One Kubernetes object (a manifest: apiVersion, kind, metadata and the rest), built-in
    or custom, registered as pulumi-kubernetes' own class for its kind registers it: same
    type token, inputs, provider version, aliases and secret fields (tests/test_k8s.py
    compares the two for every kind the stack uses).

    The typed classes are not imported because they cost more than the program itself:
    any class of `core/v1` loads that group's 2.5 MB module of input types (about 0.25 s),
    `helm.v3` loads `requests`. The manifests are dicts already, checked against the real
    OpenAPI schemas by the tests, so the typed classes would add no checking either.
    (No annotated attributes here: the SDK evaluates a resource class's annotations for
    every instance.)
    """

    def __init__(self, resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        token = type_token(manifest["apiVersion"], manifest["kind"])
        secret_fields = _SECRET_FIELDS.get(token, ())
        props = {k: pulumi.Output.secret(v) if k in secret_fields else v for k, v in manifest.items()}
        extra = pulumi.ResourceOptions(
            aliases=[pulumi.Alias(type_=alias) for alias in _ALIASES.get(token, ())] or None,
            additional_secret_outputs=list(secret_fields) or None,
        )
        defaults = pulumi.ResourceOptions(version=PROVIDER_VERSION)
        super().__init__(token, resource_name, props, pulumi.ResourceOptions.merge(defaults.merge(opts), extra))


class LiveObject(pulumi.CustomResource):
    """A live object read into the program, not managed by it (what the typed classes'
    `get` does): `metadata`, `spec` and `status` outputs, read as dicts.

    The read's inputs name no apiVersion or kind, as the typed classes' `get` sends none:
    with them the kubernetes provider takes the name and namespace from the inputs instead
    of the id, and so reads a namespaced object in the default namespace
    (pulumi-kubernetes provider/pkg/provider/provider.go Read, at the 4.25.0 commit).
    """

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        object_id: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = dict.fromkeys(("apiVersion", "kind", "metadata", "spec", "status"))
        options = (
            pulumi.ResourceOptions(version=PROVIDER_VERSION).merge(opts).merge(pulumi.ResourceOptions(id=object_id))
        )
        super().__init__(type_token(api_version, kind), resource_name, props, options)


def restricted_namespace(
    resource_name: str,
    name: str,
    component: str,
    opts: pulumi.ResourceOptions,
    pod_security: str = "restricted",
    *,
    annotations: dict[str, str] | None = None,
) -> KubernetesObject:
    """A namespace whose Pod Security admission level is enforced, audited and warned.

    `restricted` is the default: every workload of the stack is written to pass it
    (kubernetes.io/docs/concepts/security/pod-security-admission).
    """
    pss = {f"pod-security.kubernetes.io/{mode}": pod_security for mode in ("enforce", "audit", "warn")}
    pss["pod-security.kubernetes.io/enforce-version"] = "latest"
    return KubernetesObject(
        resource_name,
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {**labels(name, component), **pss},
                **({"annotations": annotations} if annotations else {}),
            },
        },
        opts,
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
