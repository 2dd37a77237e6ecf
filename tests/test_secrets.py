"""SecretsLayer: each backend renders schema-valid objects, hands out the same refs,
leaks no value, and changes nothing outside the layer when switched."""

from __future__ import annotations

import functools
import json
from typing import Any

import pulumi
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from components import versions
from components.contracts import CredentialSpec, SecretRef
from components.secrets import (
    TYPE,
    how_to_provide,
    merge_specs,
    network_policies,
    plan_materialisation,
    preflight,
)
from components.stack_config import parse_config
from mcpds.seal import seal
from offline.harness import ProgramRun, read_stack_file, shared_run
from offline.harness import run_program as run_any
from offline.made_up_digests import as_deployed
from offline.policy_run import stack_config as config_of
from offline.render import CDumper
from tests.stackconfig import FIXTURE_STACKS, base_config

SEALED_SECRET = "kubernetes:bitnami.com/v1alpha1:SealedSecret"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
SECRET = "kubernetes:core/v1:Secret"

# The layer is tested on the fixture stacks (tests/stacks/), whose credentials are known:
# Dataset Viewer's optional HF token and the GoDaddy DNS-01 key (dns.provider defaults to
# godaddy), none of them provided.
CREDENTIALS = {"hf-token": ("data-science", ("token",)), "godaddy-api-key": ("cert-manager", ("token",))}

PROVIDERS: dict[str, dict[str, Any]] = {
    "aws": {
        "aws": {
            "service": "SecretsManager",
            "region": "eu-west-1",
            "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}},
        }
    },
    "gcpsm": {
        "gcpsm": {
            "projectID": "finetunings-prod",
            "auth": {
                "workloadIdentity": {
                    "clusterLocation": "europe-west1",
                    "clusterName": "mcp",
                    "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"},
                }
            },
        }
    },
    "vault": {
        "vault": {
            "server": "https://vault.example.com:8200",
            "path": "secret",
            "version": "v2",
            "auth": {
                "kubernetes": {
                    "mountPath": "kubernetes",
                    "role": "mcp-datascience",
                    "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"},
                }
            },
        }
    },
    "azurekv": {
        "azurekv": {
            "vaultUrl": "https://mcp-datascience.vault.azure.net",
            "authType": "WorkloadIdentity",
            "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"},
        }
    },
}


def run_program(stack: str, **kw: Any) -> ProgramRun:
    """The program on a fixture stack (tests/stacks/)."""
    return run_any(stack, read_stack_file(stack, FIXTURE_STACKS), **kw)


def shared_program(stack: str, **kw: Any) -> ProgramRun:
    """run_program for a test that patches nothing: one run per distinct input, shared
    (offline/harness.py shared_run)."""
    return shared_run(stack, read_stack_file(stack, FIXTURE_STACKS), **kw)


def stack_config(stack: str, overrides: dict[str, Any] | None = None):
    return config_of(stack, overrides, root=FIXTURE_STACKS)


@functools.cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ciphertexts() -> dict[str, dict[str, str]]:
    public = _key().public_key()
    return {cid: {k: seal(public, b"value", ns, cid) for k in keys} for cid, (ns, keys) in CREDENTIALS.items()}


def planted(cid: str, key: str) -> str:
    """The value the harness hands the program for a `secure:` config value at this path."""
    return f"mock-secret-for-mcp-datascience:secrets.pulumi.values.{cid}.{key}"


def backend_overrides(backend: str, provider: str = "aws") -> dict[str, Any]:
    """Every credential configured for `backend` (and values planted for the others)."""
    return {
        "secrets": {
            "backend": backend,
            "sealed": {"ciphertexts": ciphertexts()},
            "external": {
                "provider": PROVIDERS[provider],
                "remote_keys": {
                    "hf-token": {"token": {"key": "mcp/hf-token", "property": "token"}},
                    "godaddy-api-key": {"token": "mcp/godaddy-api-key"},
                },
            },
            "pulumi": {
                "values": {cid: {k: {"secure": "v1:AAAA"} for k in keys} for cid, (_, keys) in CREDENTIALS.items()}
            },
        }
    }


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], ProgramRun]:
    return {(b, s): shared_program(s, overrides=backend_overrides(b)) for b in ("sealed", "external", "pulumi") for s in ("dev", "prod")}  # fmt: skip


def layer_urns(run: ProgramRun) -> set[str]:
    [layer] = run.of_type(TYPE)
    inside = {layer.urn}
    changed = True
    while changed:
        changed = False
        for r in run.resources:
            if r.parent in inside and r.urn not in inside:
                inside.add(r.urn)
                changed = True
    return inside


def outside_layer(run: ProgramRun) -> list[str]:
    inside = layer_urns(run)
    out = []
    for r in run.resources:
        if r.urn in inside or r.type == TYPE:
            continue
        out.append(json.dumps({"type": r.type, "name": r.name, "inputs": r.redacted()}, sort_keys=True, default=str))
    return sorted(out)


def everything_rendered(run: ProgramRun) -> str:
    return yaml.dump(
        {"objects": run.objects(), "releases": run.releases(), "outputs": run.outputs, "logs": run.logs},
        Dumper=CDumper,
        default_flow_style=False,
    )


# ---------------------------------------------------------------------------
# Schema validity and object shapes, per backend and stack
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sealed", "external", "pulumi"])
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_renders_are_schema_valid(runs, validators, backend, stack):
    run = runs[(backend, stack)]
    validator = validators("1.34")
    failures = {
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}": errs
        for o in run.objects()
        if (errs := validator.errors(o))
    }
    assert failures == {}
    kinds = {
        "sealed": ("SealedSecret", SEALED_SECRET),
        "external": ("ExternalSecret", EXTERNAL_SECRET),
        "pulumi": ("Secret", SECRET),
    }
    _, type_token = kinds[backend]
    layer = layer_urns(run)  # not the MonitoringStack's generated Grafana admin Secret
    made = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in run.of_type(type_token)
        if r.urn in layer
    }
    assert made == {(ns, cid) for cid, (ns, _) in CREDENTIALS.items()}
    assert not [m for _, m in run.logs if "missing credential" in m]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_store_provider_renders_schema_valid(validators, provider):
    run = shared_program("prod", overrides=backend_overrides("external", provider))
    validator = validators("1.34")
    [store] = [o for o in run.objects() if o["kind"] == "ClusterSecretStore"]
    assert validator.errors(store) == []
    assert store["spec"]["provider"] == PROVIDERS[provider]
    # Only the namespaces that hold credentials may use the store.
    assert store["spec"]["conditions"] == [{"namespaces": ["cert-manager", "data-science"]}]
    for obj in (o for o in run.objects() if o["kind"] == "ExternalSecret"):
        assert validator.errors(obj) == []


def test_provider_names_are_those_of_the_store_crd(validators):
    """`secrets.external.provider` is checked against a list of its own (for a one-line
    error with a suggestion): it is exactly the ClusterSecretStore v1 CRD's providers."""
    from components.config import EXTERNAL_PROVIDERS

    crd = validators("1.34").crds[("external-secrets.io", "v1", "ClusterSecretStore")]
    providers = crd.schema["properties"]["spec"]["properties"]["provider"]["properties"]
    assert sorted(EXTERNAL_PROVIDERS) == sorted(providers)


def test_the_store_is_restricted_before_any_value_is_mapped(validators):
    """A ClusterSecretStore without `conditions` serves every namespace: it must never
    render unrestricted, not even while no credential has a remote key yet."""
    run = shared_program(
        "prod", overrides={"secrets": {"backend": "external", "external": {"provider": PROVIDERS["aws"]}}}
    )
    [store] = [o for o in run.objects() if o["kind"] == "ClusterSecretStore"]
    # The required GoDaddy key's namespace only (the HF token is optional and unmapped).
    assert store["spec"]["conditions"] == [{"namespaces": ["cert-manager"]}]
    assert validators("1.34").errors(store) == []
    assert not [o for o in run.objects() if o["kind"] == "ExternalSecret"]


def test_operator_pods_are_hardened_and_sized_explicitly(runs):
    """Every ESO deployment states its security contexts and resources in the values
    (the chart sets no resources, and the policy pack sees only the values)."""
    values = runs[("external", "prod")].release("external-secrets").inputs["values"]
    for where, block in (("controller", values), ("webhook", values["webhook"]), ("cert", values["certController"])):
        pod, container = block["podSecurityContext"], block["securityContext"]
        assert pod["enabled"] is True, where  # else the chart omits the block
        assert container["enabled"] is True, where
        assert pod["runAsNonRoot"] is True, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert container["allowPrivilegeEscalation"] is False, where
        assert container["capabilities"] == {"drop": ["ALL"]}, where
        assert container["readOnlyRootFilesystem"] is True, where
        resources = block["resources"]
        assert all(resources[kind][res] for kind in ("requests", "limits") for res in ("cpu", "memory")), where
        image = versions.EXTERNAL_SECRETS_IMAGE
        assert block["image"] == {"repository": image.repository, "tag": image.tag}, where


def test_sealed_secret_unseals_into_the_consumer_secret(runs):
    run = runs[("sealed", "prod")]
    obj = run.find("SealedSecret", "hf-token", "data-science").inputs
    assert obj["spec"]["encryptedData"] == ciphertexts()["hf-token"]
    template = obj["spec"]["template"]
    assert template["type"] == "Opaque"
    assert template["metadata"]["name"] == "hf-token"
    assert template["metadata"]["labels"]["mcp-datascience/credential"] == "hf-token"
    assert "annotations" not in obj["metadata"]  # strict scope: no scope annotation
    release = run.release("sealed-secrets").inputs
    assert (release["chart"], release["version"], release["namespace"]) == ("sealed-secrets", "2.18.5", "kube-system")
    assert release["repositoryOpts"]["repo"] == versions.SEALED_SECRETS.repository
    assert release["values"]["fullnameOverride"] == "sealed-secrets-controller"  # kubeseal's default name
    assert release["values"]["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    # The SealedSecret waits for the controller (its CRD) and the MCP namespace.
    sealed = run.find("SealedSecret", "hf-token", "data-science")
    assert run.depends_on(sealed, run.release("sealed-secrets"))
    assert run.depends_on(sealed, run.find("Namespace", "data-science"))


def test_scope_annotation_and_custom_controller(run):
    overrides = backend_overrides("sealed")
    overrides["secrets"]["sealed"].update(
        {"scopes": {"godaddy-api-key": "namespace-wide"}, "controller_namespace": "sealed-secrets"}
    )
    result = run("prod", overrides)
    obj = result.find("SealedSecret", "godaddy-api-key", "cert-manager").inputs
    annotation = {"sealedsecrets.bitnami.com/namespace-wide": "true"}
    assert obj["metadata"]["annotations"] == annotation  # the controller reads the label scope here
    assert obj["spec"]["template"]["metadata"]["annotations"] == {
        **annotation,
        "sealedsecrets.bitnami.com/managed": "true",
    }
    assert result.release("sealed-secrets").inputs["namespace"] == "sealed-secrets"
    assert (
        result.find("Namespace", "sealed-secrets").inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )


def test_external_secret_maps_remote_keys(runs):
    run = runs[("external", "prod")]
    obj = run.find("ExternalSecret", "hf-token", "data-science").inputs
    assert obj["apiVersion"] == "external-secrets.io/v1"
    assert obj["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "mcp-datascience"}
    assert obj["spec"]["target"]["name"] == "hf-token"
    # The Secret goes with its ExternalSecret; a value deleted in the store keeps the last one.
    assert (obj["spec"]["target"]["creationPolicy"], obj["spec"]["target"]["deletionPolicy"]) == ("Owner", "Retain")
    assert obj["spec"]["data"] == [{"secretKey": "token", "remoteRef": {"key": "mcp/hf-token", "property": "token"}}]
    godaddy = run.find("ExternalSecret", "godaddy-api-key", "cert-manager").inputs
    assert godaddy["spec"]["data"] == [{"secretKey": "token", "remoteRef": {"key": "mcp/godaddy-api-key"}}]
    release = run.release("external-secrets").inputs
    assert (release["chart"], release["version"], release["namespace"]) == (
        "external-secrets",
        "2.9.0",
        "external-secrets",
    )
    assert run.depends_on(run.find("ExternalSecret", "hf-token", "data-science"), run.release("external-secrets"))


def test_pulumi_backend_values_are_secret_in_state(runs):
    run = runs[("pulumi", "prod")]
    secret = run.find("Secret", "hf-token", "data-science")
    assert secret.inputs["stringData"] == {"token": planted("hf-token", "token")}  # the raw (state) view
    assert ("stringData",) in secret.secret_paths  # marked secret: encrypted in state
    assert secret.redacted()["stringData"] == {"token": "REDACTED"}
    assert "stringData" in secret.options["additional_secret_outputs"]


# ---------------------------------------------------------------------------
# Values never leak; backends are interchangeable
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sealed", "external", "pulumi"])
def test_no_planted_value_in_any_render_output_or_log(runs, backend):
    for stack in ("dev", "prod"):
        text = everything_rendered(runs[(backend, stack)])
        for cid, (_, keys) in CREDENTIALS.items():
            for key in keys:
                assert planted(cid, key) not in text
        if backend != "pulumi":  # inactive values are not even sent to the engine
            raw = json.dumps([r.inputs for r in runs[(backend, stack)].resources], default=str)
            assert "mock-secret-for-" not in raw


def test_switching_backend_changes_only_the_layer(runs):
    for stack in ("dev", "prod"):
        sealed, external, pulumi_ = (outside_layer(runs[(b, stack)]) for b in ("sealed", "external", "pulumi"))
        assert sealed == external == pulumi_
        # The layer itself did change (so the comparison above is not vacuous).
        kinds = {b: {r.type for r in runs[(b, stack)].resources if r.urn in layer_urns(runs[(b, stack)])}
                 for b in ("sealed", "external", "pulumi")}  # fmt: skip
        assert SEALED_SECRET in kinds["sealed"]
        assert SEALED_SECRET not in kinds["external"]
        assert STORE in kinds["external"]
        assert SECRET in kinds["pulumi"]


def secret_as_made(run: ProgramRun, backend: str, namespace: str, name: str) -> dict[str, Any]:
    """Type, labels and annotations of the Secret the backend's object makes in the cluster."""
    if backend == "sealed":
        template = run.find("SealedSecret", name, namespace).inputs["spec"]["template"]
        meta, kind = template["metadata"], template["type"]
    elif backend == "external":
        template = run.find("ExternalSecret", name, namespace).inputs["spec"]["target"]["template"]
        meta, kind = template["metadata"], template["type"]
    else:
        secret = run.find("Secret", name, namespace).inputs
        meta, kind = secret["metadata"], secret["type"]
    return {"type": kind, "labels": meta["labels"], "annotations": meta.get("annotations")}


def test_the_secret_is_the_same_with_every_backend(runs):
    """Same type, labels and annotations whichever backend makes it; each carries the
    Sealed Secrets `managed` annotation, so a later switch to `sealed` takes the live
    Secret over (the controller refuses, and never retries, an unannotated one)."""
    for cid, (namespace, _) in CREDENTIALS.items():
        made = {b: secret_as_made(runs[(b, "prod")], b, namespace, cid) for b in ("sealed", "external", "pulumi")}
        assert made["sealed"] == made["external"] == made["pulumi"], cid
        assert made["sealed"]["annotations"] == {"sealedsecrets.bitnami.com/managed": "true"}
        assert made["sealed"]["labels"]["mcp-datascience/credential"] == cid


def test_consumers_read_the_refs(runs):
    run = runs[("sealed", "prod")]
    viewer = run.find("MCPServer", "dataset-viewer").inputs["spec"]
    assert viewer["secrets"] == [{"name": "hf-token", "key": "token", "targetEnvName": "HUGGINGFACE_TOKEN"}]
    [issuer, *_] = [o for o in run.objects() if o["kind"] == "ClusterIssuer"]
    solver = issuer["spec"]["acme"]["solvers"][0]["dns01"]["webhook"]["config"]
    assert solver["apiKeySecretRef"] == {"name": "godaddy-api-key", "key": "token"}


# ---------------------------------------------------------------------------
# Missing credentials
# ---------------------------------------------------------------------------


def test_fixture_stacks_render_and_warn_about_the_required_credential(fixture_dev, fixture_prod):
    for run, stack in ((fixture_dev, "dev"), (fixture_prod, "prod")):
        warnings = [m for level, m in run.logs if level == "warning" and "missing credential" in m]
        assert len(warnings) == 1
        assert "'godaddy-api-key'" in warnings[0]
        assert (
            "python -m mcpds seal --cert <controller cert.pem> --namespace cert-manager --name godaddy-api-key "
            f"--key token --stack {stack} --write"
        ) in warnings[0]
        # The optional HF token is simply absent: no object, no env in Dataset Viewer.
        assert not run.of_type(SEALED_SECRET)
        assert "secrets" not in run.find("MCPServer", "dataset-viewer").inputs["spec"]
        # The edge still renders against the ref the credential will have.
        assert run.release("sealed-secrets")


def test_a_real_update_refuses_a_missing_required_credential(monkeypatch):
    # A preview only warns (this run also loads the program's modules from this checkout,
    # so the patch below lands on the module the program uses).
    run = run_program("prod", preview=True)
    assert any("missing credential 'godaddy-api-key'" in m for _, m in run.logs)
    # Outside the mocks (a real `pulumi up`), the same config is refused.
    monkeypatch.setattr("components.runtime.offline", lambda: False)
    message = config_error(lambda stack, overrides: run_program(stack, overrides=overrides), "prod", {})
    assert "missing credential 'godaddy-api-key'" in message
    assert "--namespace cert-manager --name godaddy-api-key --key token --stack prod --write" in message
    # Configured, the update goes ahead (with the image digests a production update also
    # needs, made up here: offline/made_up_digests.py).
    overrides = backend_overrides("sealed")
    configured = run_program("prod", overrides=as_deployed(stack_config("prod", overrides), overrides))
    assert configured.find("SealedSecret", "godaddy-api-key", "cert-manager")


def test_preflight_lists_every_missing_credential_in_a_real_update(monkeypatch):
    from components import runtime

    config = parse_config({**base_config(), "dns": {"manage_records": True}}, "prod")
    specs = [
        CredentialSpec("godaddy-api-key", "cert-manager", "godaddy-api-key", ("token",), "GoDaddy DNS-01"),
        CredentialSpec("external-dns-godaddy", "external-dns", "external-dns-godaddy", ("api-key", "api-secret"),
                       "external-dns GoDaddy"),
    ]  # fmt: skip
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)
    monkeypatch.setattr(runtime, "offline", lambda: False)
    assert [s.id for s in preflight(config, specs, "prod").missing] == ["external-dns-godaddy", "godaddy-api-key"]
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)  # the update step of `pulumi up`
    with pytest.raises(pulumi.RunError) as err:
        preflight(config, specs, "prod")
    message = str(err.value)
    assert message.count("missing credential") == 2
    for cmd in ("--namespace cert-manager --name godaddy-api-key --key token --stack prod --write",
                "--namespace external-dns --name external-dns-godaddy --key api-key --stack prod --write",
                "--namespace external-dns --name external-dns-godaddy --key api-secret --stack prod --write"):  # fmt: skip
        assert cmd in message
    assert "secrets.allow_missing true" in message  # the way out of the first-deploy chicken and egg
    # With allow_missing the update goes ahead, so the controller can be installed first
    # (the SecretsLayer warns about it, see the next test).
    lenient = parse_config(
        {**base_config(), "dns": {"manage_records": True}, "secrets": {"allow_missing": True}}, "prod"
    )
    assert [s.id for s in preflight(lenient, specs, "prod").missing] == ["external-dns-godaddy", "godaddy-api-key"]


def test_an_update_with_allow_missing_warns_once_per_credential(monkeypatch):
    """`__main__.py` and the SecretsLayer both run the preflight: the update still says
    once, and truly, that it deploys without the credential."""
    run_program("prod", preview=True)  # loads the program's modules, so the patch lands on them
    monkeypatch.setattr("components.runtime.offline", lambda: False)
    lenient = {"secrets": {"allow_missing": True}}
    run = run_program("prod", overrides=as_deployed(stack_config("prod", lenient), lenient))  # made-up digests
    warned = [m for level, m in run.logs if level == "warning" and "credential 'godaddy-api-key'" in m]
    assert len(warned) == 1
    assert warned[0].startswith("deploying without credential 'godaddy-api-key'")
    assert "secrets.allow_missing is true" in warned[0]
    assert run.release("sealed-secrets")  # the update installs the controller


def test_a_refused_update_creates_nothing(monkeypatch):
    """`pulumi up` must stop before any resource: the Python SDK still sends every
    registration queued before the exception to the engine (run_pulumi_func waits for
    outstanding RPCs), so a check inside the SecretsLayer comes too late."""
    run_program("prod", preview=True)  # loads the program's modules, so the patch lands on them
    monkeypatch.setattr("components.runtime.offline", lambda: False)
    with pytest.raises(pulumi.RunError) as err:
        run_program("prod")
    assert type(err.value).__name__ == "ConfigError"
    assert [r.type for r in err.value.registered] == []


def test_missing_optional_credential_gets_no_ref():
    config = parse_config(base_config(), "prod")
    specs = [
        CredentialSpec("grafana-admin", "monitoring", "grafana-admin", ("admin-user", "admin-password"), "Grafana",
                       required=False),
        CredentialSpec("hf-token", "data-science", "hf-token", ("token",), "HF", required=True),
    ]  # fmt: skip
    plan = plan_materialisation(config, specs)
    assert plan.refs == {"hf-token/token": SecretRef("data-science", "hf-token", "token")}
    assert [s.id for s in plan.skipped] == ["grafana-admin"]
    assert [s.id for s in plan.missing] == ["hf-token"]


def test_multi_key_credentials_are_keyed_id_slash_key():
    config = parse_config(
        {
            **base_config(),
            "secrets": {"sealed": {"ciphertexts": {"grafana-admin": dict.fromkeys(("admin-user", "admin-password"),
                                                                                  ciphertexts()["hf-token"]["token"])}}},
        },
        "prod",
    )  # fmt: skip
    spec = CredentialSpec("grafana-admin", "monitoring", "grafana-admin", ("admin-user", "admin-password"), "Grafana")
    plan = plan_materialisation(config, [spec])
    assert plan.refs == {
        "grafana-admin/admin-user": SecretRef("monitoring", "grafana-admin", "admin-user"),
        "grafana-admin/admin-password": SecretRef("monitoring", "grafana-admin", "admin-password"),
    }


def test_conflicting_declarations_are_rejected():
    a = CredentialSpec("hf-token", "data-science", "hf-token", ("token",), "a")
    b = CredentialSpec("hf-token", "monitoring", "hf-token", ("token",), "b")
    with pytest.raises(ValueError, match="one id, one Secret"):
        merge_specs([a, b])
    merged = merge_specs([a, CredentialSpec("hf-token", "data-science", "hf-token", ("other",), "c", required=False)])
    assert merged[0].keys == ("other", "token")
    assert merged[0].required


# ---------------------------------------------------------------------------
# Bad configuration
# ---------------------------------------------------------------------------


def config_error(run, stack: str, overrides: dict[str, Any]) -> str:
    """The ConfigError text of a program run. Matched by name: other test modules run
    copies of the program, which re-import `components` (a new ConfigError class)."""
    with pytest.raises(pulumi.RunError) as err:
        run(stack, overrides)
    assert type(err.value).__name__ == "ConfigError"
    return str(err.value)


def rejected(run, **secrets: Any) -> str:
    return config_error(run, "prod", {"secrets": secrets})


def test_malformed_ciphertext(run):
    message = rejected(run, sealed={"ciphertexts": {"hf-token": {"token": "not base64!"}}})
    assert "mcp-datascience:secrets.sealed.ciphertexts.hf-token.token" in message
    assert "is not base64" in message
    assert "python -m mcpds seal" in message
    truncated = ciphertexts()["hf-token"]["token"][:200]
    message = rejected(run, sealed={"ciphertexts": {"hf-token": {"token": truncated}}})
    assert "is not a sealed-secrets ciphertext (truncated or not sealed)" in message


def test_partial_and_unknown_keys(run):
    ct = ciphertexts()["hf-token"]["token"]
    message = rejected(run, sealed={"ciphertexts": {"hf-token": {"tokn": ct}}})
    assert "secrets.sealed.ciphertexts.hf-token has keys ['tokn']" in message
    assert "lacks key(s) token" in message
    overrides = {
        "dns.manage_records": True,
        "secrets": {"sealed": {"ciphertexts": {"external-dns-godaddy": {"api-key": ct}}}},
    }
    assert "external-dns-godaddy lacks key(s) api-secret" in config_error(run, "prod", overrides)


def test_unused_credential_is_warned_with_a_suggestion(run):
    ct = ciphertexts()["hf-token"]["token"]
    result = run("prod", {"secrets": {"sealed": {"ciphertexts": {"hf-tokn": {"token": ct}}}}})
    assert any("hf-tokn" in m and "did you mean 'hf-token'" in m for _, m in result.logs)


def test_unknown_backend_and_missing_provider(run):
    message = rejected(run, backend="vault")
    assert "mcp-datascience:secrets.backend = [secret]" in message  # nothing under `secrets` is echoed
    assert "'sealed', 'external' or 'pulumi'" in message
    assert "secrets.external.provider is required" in rejected(run, backend="external")
    assert "Did you mean 'aws'" in rejected(run, backend="external", external={"provider": {"awz": {}}})
    assert "exactly one provider" in rejected(run, external={"provider": PROVIDERS["aws"] | PROVIDERS["vault"]})


def test_plaintext_values_are_refused_without_echoing_them(run):
    message = rejected(run, backend="pulumi", pulumi={"values": {"hf-token": {"token": "hf_PlainTextOops"}}})
    assert "not Pulumi secrets" in message
    assert "pulumi config set --secret --path" in message
    assert "hf_PlainTextOops" not in message
    message = rejected(run, pulumi={"values": {"hf-token": {"token": 12345678}}, "bogus": 1})
    assert "12345678" not in message
    # A value put directly under `secrets` (not a mapping) is not echoed either.
    with pytest.raises(pulumi.RunError) as err:
        parse_config({**base_config(), "secrets": "hf_PlainTextOops"}, "prod")
    assert "mcp-datascience:secrets = [secret]: must be a mapping" in str(err.value)
    assert "hf_PlainTextOops" not in str(err.value)


def test_controller_namespace_must_not_be_a_component_namespace(run):
    message = rejected(run, sealed={"controller_namespace": "monitoring"})
    assert "secrets.sealed.controller_namespace and mcp-datascience:monitoring.namespace" in message


def test_controller_network_policies(runs, run):
    sealed = [o for o in runs[("sealed", "prod")].objects() if o["kind"] == "NetworkPolicy"]
    in_kube_system = [o for o in sealed if o["metadata"]["namespace"] == "kube-system"]
    # kube-system is not ours: only the controller's pods are confined, nothing else.
    [controller] = in_kube_system
    assert controller["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "sealed-secrets", "app.kubernetes.io/instance": "sealed-secrets"}
    }
    ports = [[p["port"] for p in rule["ports"]] for rule in controller["spec"]["ingress"]]
    assert ports == [[8080], [8081]]
    assert controller["spec"]["ingress"][1]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    overrides = backend_overrides("external", "vault")
    overrides["secrets"]["external"]["store_egress"] = [{"cidr": "10.20.0.5/32", "ports": [8200]}]
    result = run("prod", overrides)
    eso = {o["metadata"]["name"]: o for o in result.objects() if o["kind"] == "NetworkPolicy"
           and o["metadata"]["namespace"] == "external-secrets"}  # fmt: skip
    assert {"default-deny", "allow-dns", "allow-kubernetes-api", "external-secrets-store"} <= set(eso)
    store_rules = eso["external-secrets-store"]["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.20.0.5/32"}}], "ports": [{"protocol": "TCP", "port": 8200}]} in store_rules
    # Only the controller reaches the store; only the webhook takes the API server's calls.
    assert eso["external-secrets-store"]["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": "external-secrets"}
    }
    webhook = eso["external-secrets-webhook"]["spec"]
    assert webhook["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "external-secrets-webhook"
    assert [p["port"] for p in webhook["ingress"][0]["ports"]] == [10250]
    # The operator starts only after its namespace is confined.
    release = result.release("external-secrets")
    assert result.depends_on(release, result.find("NetworkPolicy", "default-deny", "external-secrets"))


def test_controller_policy_admits_metrics_from_monitoring_only():
    """The controller's own policy lets exactly the monitoring namespace in on the
    metrics port (8081), should a ServiceMonitor be added for it."""
    config = parse_config(base_config(), "prod")
    [policy] = network_policies(config)
    metrics = [rule for rule in policy["spec"]["ingress"] if [p["port"] for p in rule["ports"]] == [8081]]
    assert metrics == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"protocol": "TCP", "port": 8081}],
        }
    ]


@pytest.mark.parametrize(
    ("backend", "command"),
    [
        ("sealed", "python -m mcpds seal --cert <controller cert.pem> --namespace cert-manager --name godaddy-api-key "
                   "--key token --stack prod --write"),
        ("external", "pulumi config set --path 'secrets.external.remote_keys.godaddy-api-key.token.key'"),
        ("pulumi", "pulumi config set --secret --path 'secrets.pulumi.values.godaddy-api-key.token'"),
    ],
)  # fmt: skip
def test_missing_credential_names_the_command_per_backend(backend, command):
    extra = {"external": {"provider": PROVIDERS["aws"]}} if backend == "external" else {}
    config = parse_config({**base_config(), "secrets": {"backend": backend, **extra}}, "prod")
    spec = CredentialSpec("godaddy-api-key", "cert-manager", "godaddy-api-key", ("token",), "GoDaddy key")
    assert command in how_to_provide(config, spec, "prod")
    # A credential whose id is not its Secret's name: the seal command names the id.
    renamed = CredentialSpec("dns-key", "cert-manager", "godaddy-api-key", ("token",), "GoDaddy key")
    if backend == "sealed":
        assert "--name godaddy-api-key --id dns-key --key token" in how_to_provide(config, renamed, "prod")
    else:
        assert ".dns-key.token" in how_to_provide(config, renamed, "prod")


@pytest.mark.parametrize("backend", ["sealed", "external", "pulumi"])
def test_every_credential_object_waits_for_its_namespace(runs, backend):
    """The credentials live in namespaces other components own (cert-manager's, the MCP
    servers'); each object is created after its Namespace, never racing it."""
    run = runs[(backend, "prod")]
    kind = {"sealed": "SealedSecret", "external": "ExternalSecret", "pulumi": "Secret"}[backend]
    layer = layer_urns(run)
    objects = [r for r in run.resources if r.kind == kind and r.urn in layer]
    assert {r.inputs["metadata"]["namespace"] for r in objects} == {"data-science", "cert-manager"}
    for obj in objects:
        namespace = run.find("Namespace", obj.inputs["metadata"]["namespace"])
        assert run.depends_on(obj, namespace), obj.name


def test_refresh_interval_takes_go_durations_without_loosening_other_durations():
    """`secrets.external.refresh_interval` takes any Go duration; its rule once shared a
    module name with `monitoring.jaeger_retention`'s stricter one and replaced it."""
    for value in ("1h", "30m", "1h0m0s", "1.5h"):
        config = parse_config({**base_config(), "secrets": {"external": {"refresh_interval": value}}}, "prod")
        assert config.secrets.external.refresh_interval == value
    with pytest.raises(pulumi.RunError, match=r"secrets\.external\.refresh_interval"):
        parse_config({**base_config(), "secrets": {"external": {"refresh_interval": "1 hour"}}}, "prod")
    with pytest.raises(pulumi.RunError, match=r"monitoring\.jaeger_retention"):
        parse_config({**base_config(), "monitoring": {"jaeger_retention": "1h30m"}}, "prod")


def test_declared_specs_are_the_credentials_the_program_hands_the_layer(monkeypatch):
    """`python -m mcpds seal --write` checks a value against `declared_specs`; it must be
    what `__main__.py` collects, or seal would check against other Secrets."""
    import dataclasses
    import sys

    run_program("prod", preview=True)  # loads the program's modules, so the patch lands on them
    layer = sys.modules["components.secrets"]
    seen: list[tuple[Any, list[Any]]] = []
    real = layer.plan_materialisation

    def recording(config, specs):
        seen.append((config, list(specs)))
        return real(config, specs)

    monkeypatch.setattr(layer, "plan_materialisation", recording)
    run_program("prod", preview=True)
    assert seen
    for config, specs in seen:
        program = [dataclasses.astuple(s) for s in layer.merge_specs(specs)]
        declared = sys.modules["components.credentials"].declared_specs(
            config, sys.modules["components.plan"].build_plan(config)
        )
        assert program == [dataclasses.astuple(s) for s in declared]
        assert {s[0] for s in program} >= {"godaddy-api-key", "hf-token"}
