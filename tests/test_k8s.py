"""KubernetesObject and helm_release register exactly what pulumi-kubernetes' typed classes
register, for every kind the stack creates: type token, inputs, secrets, provider version,
aliases and options. (The program avoids the typed classes only for their import cost.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from components.k8s import type_token
from offline.harness import Registered, run_program

# Each pair registers one object twice: `t-<name>` through the typed class, `g-<name>`
# through our registration. Values cover secrets, Outputs and non-spec top-level fields.
PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_kubernetes as k8s

    from components.helm import helm_release
    from components.k8s import KubernetesObject
    from components.versions import CERT_MANAGER, SEALED_SECRETS

    meta = {"name": "x", "namespace": "ns", "labels": {"a": "b"}}
    spec = {"selector": {"matchLabels": {"a": "b"}}}
    opts = pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])


    def pair(name, typed, api_version, kind, **fields):
        typed(f"t-{name}", metadata=meta, **fields, opts=opts if kind == "Secret" else None)
        manifest = {"apiVersion": api_version, "kind": kind, "metadata": meta}
        manifest.update({k: v for k, v in fields.items() if k not in ("string_data", "automount_service_account_token")})
        if "string_data" in fields:
            manifest["stringData"] = fields["string_data"]
        if "automount_service_account_token" in fields:
            manifest["automountServiceAccountToken"] = fields["automount_service_account_token"]
        KubernetesObject(f"g-{name}", manifest, opts if kind == "Secret" else None)


    pair("namespace", k8s.core.v1.Namespace, "v1", "Namespace")
    pair("sa", k8s.core.v1.ServiceAccount, "v1", "ServiceAccount", automount_service_account_token=False)
    pair("secret-data", k8s.core.v1.Secret, "v1", "Secret", type="Opaque", data={"k": pulumi.Output.secret("dg==")})
    pair("secret-string", k8s.core.v1.Secret, "v1", "Secret", type="Opaque", string_data=pulumi.Output.secret({"k": "v"}))
    pair("configmap", k8s.core.v1.ConfigMap, "v1", "ConfigMap", data={"a.json": "{}"})
    pair("pvc", k8s.core.v1.PersistentVolumeClaim, "v1", "PersistentVolumeClaim", spec={"resources": {}})
    pair("service", k8s.core.v1.Service, "v1", "Service", spec={"ports": [{"port": 80}]})
    pair("netpol", k8s.networking.v1.NetworkPolicy, "networking.k8s.io/v1", "NetworkPolicy", spec=spec)
    pair("ingress", k8s.networking.v1.Ingress, "networking.k8s.io/v1", "Ingress", spec={"rules": []})
    pair("hpa", k8s.autoscaling.v2.HorizontalPodAutoscaler, "autoscaling/v2", "HorizontalPodAutoscaler", spec={})
    pair("pdb", k8s.policy.v1.PodDisruptionBudget, "policy/v1", "PodDisruptionBudget", spec=spec)


    def crd(**kw):
        return k8s.apiextensions.CustomResource(**kw, api_version="toolhive.stacklok.dev/v1beta1", kind="MCPServer")


    pair("crd", lambda name, **kw: crd(resource_name=name, **kw), "toolhive.stacklok.dev/v1beta1", "MCPServer", spec=spec)

    for name, pin in (("oci", CERT_MANAGER), ("repo", SEALED_SECRETS)):
        values = {"a": {"b": [1, 2]}, "password": pulumi.Output.secret("s")}
        k8s.helm.v3.Release(
            f"t-release-{name}",
            k8s.helm.v3.ReleaseArgs(
                name="rel",
                chart=pin.chart,
                version=pin.version,
                repository_opts=None if pin.chart.startswith("oci://") else k8s.helm.v3.RepositoryOptsArgs(repo=pin.repository),
                namespace="ns",
                values=values,
                create_namespace=False,
                cleanup_on_fail=True,
                max_history=10,
                timeout=600,
            ),
        )
        helm_release(f"g-release-{name}", pin, "ns", values, pulumi.ResourceOptions(), release_name="rel")
    """
)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Registered, Registered]]:
    root: Path = tmp_path_factory.mktemp("k8s-parity")
    (root / "__main__.py").write_text(PROGRAM)
    run = run_program("parity", config={}, root=root)
    by_name = {r.name: r for r in run.resources}
    return {name[2:]: (by_name[name], by_name[f"g-{name[2:]}"]) for name in by_name if name.startswith("t-")}


def test_every_kind_of_the_stack_is_compared(pairs):
    assert len(pairs) == 14


@pytest.mark.parametrize(
    "name",
    [
        "namespace",
        "sa",
        "secret-data",
        "secret-string",
        "configmap",
        "pvc",
        "service",
        "netpol",
        "ingress",
        "hpa",
        "pdb",
        "crd",
        "release-oci",
        "release-repo",
    ],
)
def test_registration_matches_the_typed_class(pairs, name):
    typed, ours = pairs[name]
    assert ours.type == typed.type
    assert ours.inputs == typed.inputs
    assert ours.secret_paths == typed.secret_paths
    assert ours.options == typed.options
    assert ours.options["version"]  # the provider plugin pin reaches the engine


def test_secret_values_stay_secret_and_aliases_reach_the_engine(pairs):
    assert pairs["secret-data"][1].secret_paths == [("data",)]
    assert pairs["secret-data"][1].options["additional_secret_outputs"]
    assert len(pairs["hpa"][1].options["aliases"]) == 3
    assert pairs["release-oci"][1].secret_paths == [("values",)]  # a secret inside makes all values secret


@pytest.mark.parametrize(
    ("api_version", "kind", "token"),
    [
        ("v1", "Namespace", "kubernetes:core/v1:Namespace"),
        ("networking.k8s.io/v1", "Ingress", "kubernetes:networking.k8s.io/v1:Ingress"),
        ("cert-manager.io/v1", "Certificate", "kubernetes:cert-manager.io/v1:Certificate"),
    ],
)
def test_type_tokens(api_version, kind, token):
    assert type_token(api_version, kind) == token
