"""The pack as a whole: its metadata, the per-environment config files, and the offline
policy run (`make policy`) over the shipped stacks and over stacks broken on purpose."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from components import versions
from components.catalog import CATALOG
from components.config import ConfigError
from offline.harness import ProgramRun, Registered, available_stacks
from offline.policy_run import (
    CONFIG_DIR,
    LEVELS,
    PolicyConfigError,
    Report,
    check_run,
    check_stack,
    load_policy_config,
    main,
    reconcile,
    relaxations,
    stack_config,
    stack_secrets_backend,
)
from policies.mcp_policies import ALL_POLICIES, kube
from policies.mcp_policies.base import schema_defaults
from tests.policy_support import deployed_run

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
CONFIGS = sorted(CONFIG_DIR.glob("*.json"))
BY_NAME = {p.name: p for p in ALL_POLICIES}


# The pack sees each stack as `pulumi up` deploys it (tests/policy_support.deployed_run:
# production with MADE-UP digests). These shadow the shipped-stack fixtures of conftest.py
# in this module.


@pytest.fixture(scope="module")
def stack_runs() -> dict[str, ProgramRun]:
    return {stack: deployed_run(stack) for stack in available_stacks()}


@pytest.fixture(scope="module")
def prod(stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs["prod"]


@pytest.fixture(scope="module")
def dev(stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs["dev"]


@pytest.fixture
def run() -> Callable[..., ProgramRun]:
    def _run(stack: str, overrides: dict[str, Any] | None = None) -> ProgramRun:
        return deployed_run(stack, overrides)

    return _run


# ---------------------------------------------------------------------------
# The pack
# ---------------------------------------------------------------------------


def test_every_policy_is_fully_described():
    assert len(BY_NAME) == len(ALL_POLICIES), "policy names must be unique"
    for p in ALL_POLICIES:
        assert isinstance(p, (ResourceValidationPolicy, StackValidationPolicy))
        assert p.description, p.name
        assert p.remediation_steps, p.name
        assert p.severity is not None, p.name
        assert p.enforcement_level == MANDATORY, p.name  # an environment relaxes, never the pack
        assert "reason" in p.config_schema.properties, p.name


def test_the_pack_covers_every_rule_of_the_issue():
    expected = {
        "workload-run-as-non-root",
        "workload-no-privilege-escalation",
        "workload-drop-all-capabilities",
        "workload-read-only-root-filesystem",
        "workload-seccomp-runtime-default",
        "workload-resources",
        "workload-no-host-access",
        "workload-image-pinned",
        "workload-image-registry",
        "mcp-telemetry-config",
        "mcpserver-sizes-mcp-container",
        "mcp-replicas-stateless-only",
        "mcpserver-no-volumes",
        "mcp-code-execution-requires-oidc",
        "namespace-default-deny",
        "pod-selected-by-network-policy",
        "egress-excepts-metadata",
        "route-tls",
        "mcp-route-streaming",
        "route-no-metrics",
        "edge-controller-maintained",
        "secret-no-literal-data",
        "env-no-literal-credentials",
        "helm-release-pinned",
        "mcp-route-backend-exists",
        "mcp-proxy-service-monitor",
        # issue 14: the whole threat model (docs/security.md)
        "workload-image-pull-policy",
        "network-policy-no-open-ingress",
        "code-execution-no-public-egress",
        "edge-no-config-injection",
        "monitoring-ui-behind-allowlist",
        "certificate-production-issuer",
        "configmap-no-credentials",
        "rbac-no-admin-or-wildcard",
        "rbac-mcp-service-account-least-privilege",
        "toolhive-operator-namespace-scoped",
        "service-account-token-automount",
        "service-not-exposed",
        "namespace-pod-security",
        "workload-not-in-system-namespace",
        "pdb-allows-eviction",
        "image-digest-in-prod",
        # issue 19: outputs users open are never published wider than their server
        "mcp-outputs-not-wider-than-server",
    }
    assert set(BY_NAME) == expected


def test_pack_entry_point_only_constructs_the_pack():
    source = (Path(__file__).parent.parent / "policies" / "__main__.py").read_text()
    assert "PolicyPack(" in source
    assert "ALL_POLICIES" in source
    assert "def " not in source  # rules live in mcp_policies/


@pytest.mark.parametrize("policy", [p for p in ALL_POLICIES if p.config_schema], ids=lambda p: p.name)
def test_schema_defaults_are_valid_config(policy):
    schema = {"type": "object", "properties": policy.config_schema.properties}
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = {k: v["default"] for k, v in policy.config_schema.properties.items() if k != "reason"}
    assert set(defaults) == set(policy.config_schema.properties) - {"reason"}  # every property has a default
    jsonschema.validate(defaults, schema)


# ---------------------------------------------------------------------------
# Config files
# ---------------------------------------------------------------------------


def test_both_environments_have_a_config():
    assert [p.stem for p in CONFIGS] == ["dev", "prod"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_validates_against_each_policys_schema(path):
    raw = json.loads(path.read_text())
    for name, value in raw.items():
        if name == "all":
            continue
        policy = BY_NAME[name]
        props = {k: v for k, v in value.items() if k != "enforcementLevel"} if isinstance(value, dict) else {}
        schema = {"type": "object", "properties": policy.config_schema.properties if policy.config_schema else {}}
        jsonschema.validate(props, schema)  # what the engine checks (gojsonschema)
        assert set(props) <= set(schema["properties"]), f"{name}: unknown keys {set(props) - set(schema['properties'])}"
    reconcile(ALL_POLICIES, raw, str(path))  # the offline run's stricter check


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_policy_is_mandatory_unless_lowered_with_a_reason(path):
    raw = load_policy_config(path)
    settings = reconcile(ALL_POLICIES, raw)
    lowered = {name for name, s in settings.items() if s.level != MANDATORY}
    for name in lowered:
        assert len(raw[name]["reason"]) > 40, name  # a sentence, not a placeholder


def test_production_lowers_no_policy_and_dev_only_the_digest_rule():
    dev = reconcile(ALL_POLICIES, load_policy_config(CONFIG_DIR / "dev.json"))
    prod = reconcile(ALL_POLICIES, load_policy_config(CONFIG_DIR / "prod.json"))
    assert {s.level for s in prod.values()} == {MANDATORY}
    # dev may run images by tag: the production digest rule is off there, with its reason.
    assert {name: s.level for name, s in dev.items() if s.level != MANDATORY} == {
        "image-digest-in-prod": EnforcementLevel.DISABLED
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_relaxation_in_the_shipped_configs_gives_its_reason(path):
    raw = load_policy_config(path)
    relaxed = {
        name
        for name, entry in raw.items()
        if name != "all"
        and relaxations(
            BY_NAME[name],
            LEVELS.get(entry.get("enforcementLevel")),
            entry,
            schema_defaults(BY_NAME[name].config_schema.properties),
        )
    }
    assert relaxed  # both ship one (cert-manager's Pod Security level with GoDaddy)
    for name in relaxed:
        assert len(raw[name]["reason"]) > 40, name  # a sentence, not a placeholder


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        ({"enforcementLevel": "advisory"}, "enforcementLevel advisory"),
        ({"enforcementLevel": "disabled"}, "enforcementLevel disabled"),
        ({"allowedAcmeServers": ["https://acme-staging-v02.api.letsencrypt.org/directory"]}, "allowedAcmeServers"),
        ({"enforcementLevel": "advisory", "reason": "  "}, "enforcementLevel advisory"),
    ],
)
def test_a_relaxation_without_a_reason_is_refused(entry, what):
    with pytest.raises(PolicyConfigError) as err:
        reconcile(ALL_POLICIES, {"certificate-production-issuer": entry}, "env.json")
    assert f"certificate-production-issuer: relaxes the policy ({what}) without a reason" in str(err.value)
    entry = {**entry, "reason": "the staging directory: this environment is rebuilt every hour"}
    settings = reconcile(ALL_POLICIES, {"certificate-production-issuer": entry}, "env.json")
    assert settings["certificate-production-issuer"].properties["reason"] == entry["reason"]


def test_tightening_needs_no_reason_and_all_may_not_relax():
    settings = reconcile(ALL_POLICIES, {"all": "mandatory", "workload-image-pinned": {"requireDigest": True}})
    assert settings["workload-image-pinned"].properties["requireDigest"] is True
    with pytest.raises(PolicyConfigError, match=r"all: 'advisory' would relax every policy at once"):
        reconcile(ALL_POLICIES, {"all": "advisory"}, "env.json")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_facts_follow_the_catalog_and_the_stack(path):
    settings = reconcile(ALL_POLICIES, load_policy_config(path))
    stateful = sorted(name for name, spec in CATALOG.items() if not spec.stateless)
    assert sorted(settings["mcp-replicas-stateless-only"].properties["statefulServers"]) == stateful
    assert settings["secret-no-literal-data"].properties["secretsBackend"] == stack_secrets_backend(path.stem)


def pinned_workload_images() -> list[str]:
    """Every image reference components/versions.py pins for a workload (not BASE_IMAGES,
    which only Dockerfiles use, nor SERVER_IMAGES, which live under images.registry)."""
    refs: list[str] = []

    def add(value: object) -> None:
        if isinstance(value, versions.Image):
            refs.append(value.ref)

    for name in dir(versions):
        if name.endswith("_IMAGE"):
            add(getattr(versions, name))
        elif name.endswith("_IMAGES") and name not in ("BASE_IMAGES", "SERVER_IMAGES"):
            for value in getattr(versions, name).values():
                add(value)
    return refs


def test_pinned_workload_images_are_found():
    refs = pinned_workload_images()
    # The lists the charts and operators run, whichever secrets backend or edge is chosen.
    for expected in ("external-secrets/external-secrets:v2.9.0", "bitnami/sealed-secrets-controller:", "vmcp:"):
        assert any(expected in r for r in refs), expected


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_allowed_registries_cover_every_pinned_image(path):
    allowed = reconcile(ALL_POLICIES, load_policy_config(path))["workload-image-registry"].properties[
        "allowedRegistries"
    ]
    refs = [
        *pinned_workload_images(),
        f"quay.io/jetstack/cert-manager-controller:{versions.CERT_MANAGER.version}",  # the chart's own default
    ]
    for ref in refs:
        assert kube.registry_allowed(kube.parse_image(ref), allowed), ref


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"all": "strict"}, "all: enforcement level 'strict' is not one of advisory, mandatory, remediate, disabled"),
        ({"workload-image-regsitry": "mandatory"}, "workload-image-regsitry: no policy of that name in the pack"),
        (
            {"workload-image-pinned": {"requireDigest": "yes"}},
            "workload-image-pinned.requireDigest: 'yes' is not of type",
        ),
        (
            {"mcp-route-streaming": {"minTimeoutSecond": 3600}},
            "mcp-route-streaming: Additional properties are not allowed",
        ),
        ({"secret-no-literal-data": {"secretsBackend": "vault"}}, "secretsBackend: 'vault' is not one of"),
    ],
)
def test_bad_policy_config_is_refused_with_the_key(raw, fragment):
    with pytest.raises(PolicyConfigError) as err:
        reconcile(ALL_POLICIES, raw, "x.json")
    assert str(err.value).startswith("x.json is not valid for the pack: ")
    assert fragment in str(err.value)


def test_policy_entry_overrides_all():
    entry = {"enforcementLevel": "advisory", "reason": "this environment publishes a UI at / on purpose"}
    settings = reconcile(ALL_POLICIES, {"all": "mandatory", "route-no-metrics": entry})
    assert settings["route-no-metrics"].level == ADVISORY
    assert settings["route-tls"].level == MANDATORY
    assert settings["mcp-route-streaming"].properties == {"minTimeoutSeconds": 3600}  # schema default kept
    assert settings["route-no-metrics"].properties["reason"] == entry["reason"]


# ---------------------------------------------------------------------------
# The shipped stacks
# ---------------------------------------------------------------------------


def _report(run: ProgramRun, transform: Callable[[ProgramRun], None] | None = None) -> Report:
    return check_run(copy.deepcopy(run), transform=transform)


def test_shipped_prod_stack_passes_without_any_violation(prod):
    report = _report(prod)
    assert report.violations == []
    assert report.exit_code == 0


def test_shipped_dev_stack_passes_without_any_violation(dev):
    report = _report(dev)
    assert report.violations == []
    assert report.exit_code == 0
    # What dev's policy config relaxes, each with its reason (printed by `make policy`).
    assert set(report.relaxed) == {
        "certificate-production-issuer",
        "image-digest-in-prod",
        "namespace-pod-security",
        "route-no-metrics",
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"edge.controller": "gateway-api"},
        {"dns.provider": "cloudflare", "dns.manage_records": True},
        # a dedicated host under the stack's own domain (filled in by the test)
        {"edge.allowed_cidrs": ["203.0.113.0/24"], "edge.hosts": {"huggingface": "huggingface.{domain}"}},
        {"edge.allowed_cidrs": ["203.0.113.0/24"], "edge.controller": "gateway-api"},
        {"secrets.sealed.controller_namespace": "sealed-secrets"},
        {"edge.wildcard": False, "edge.publish_health": True},
        {"edge.controller": "existing"},
        {"dns.provider": "http01-only", "edge.wildcard": False, "edge.allowed_cidrs": None},
        {"network.api_server_cidrs": ["10.0.0.10/32"]},
    ],
    ids=["gateway-fabric", "cloudflare-external-dns", "allowlist-dedicated-host", "allowlist-gateway",
         "own-sealed-namespace", "no-wildcard-health", "existing-controller", "http01", "api-server-cidrs"],
)  # fmt: skip
def test_prod_variants_pass(run, overrides):
    domain = stack_config("prod").domain
    overrides = json.loads(json.dumps(overrides).replace("{domain}", domain))
    report = check_run(run("prod", overrides), overrides=overrides)
    assert report.violations == []


def test_cluster_scoped_operator_fails_prod(run):
    overrides = {"toolhive.rbac_scope": "cluster"}
    report = check_run(run("prod", overrides), overrides=overrides)
    [found] = report.violations
    assert found.policy == "toolhive-operator-namespace-scoped"
    assert found.level == MANDATORY
    assert found.message == (
        "Helm release toolhive-system/toolhive-operator runs the operator with operator.rbac.scope cluster: "
        "rights in every namespace"
    )


def config_for_backend(tmp_path: Path, stack: str, backend: str) -> Path:
    """The shipped policy config of `stack` with secretsBackend set to `backend`."""
    raw = json.loads((CONFIG_DIR / f"{stack}.json").read_text())
    raw["secret-no-literal-data"]["secretsBackend"] = backend
    path = tmp_path / f"{stack}-{backend}.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("backend", ["sealed", "external", "pulumi"])
def test_prod_passes_with_every_secrets_backend(run, tmp_path, backend):
    """Each backend's objects (SealedSecrets and their controller, ExternalSecrets with the
    operator chart, Secrets from `secure:` Pulumi config) pass the prod pack."""
    from tests.test_secrets import backend_overrides

    overrides = backend_overrides(backend)
    report = check_run(run("prod", overrides), config_for_backend(tmp_path, "prod", backend), overrides=overrides)
    assert report.violations == []


def test_secure_config_values_are_read_as_the_program_reads_them(tmp_path):
    """`secure:` ciphertext in the stack file (secrets.pulumi.values) is a secret, not a
    plaintext value: the offline run reads the backend without tripping over it."""
    overrides = {
        "secrets.backend": "pulumi",
        "secrets.pulumi.values": {"hf-token": {"token": {"secure": "v1:AAAA"}}},
    }
    assert stack_secrets_backend("prod", overrides) == "pulumi"
    report = check_stack("prod", config_for_backend(tmp_path, "prod", "pulumi"), overrides=overrides)
    assert report.mandatory == []


# ---------------------------------------------------------------------------
# Stacks broken on purpose
# ---------------------------------------------------------------------------


def _object(run: ProgramRun, kind: str, name: str, namespace: str = "data-science") -> Registered:
    return run.find(kind, name, namespace)


def root_penrose(run: ProgramRun) -> None:
    spec = _object(run, "MCPServer", "penrose").inputs["spec"]["podTemplateSpec"]["spec"]
    spec["containers"][0]["securityContext"]["runAsUser"] = 0


def drop_default_deny(run: ProgramRun) -> None:
    run.resources.remove(_object(run, "NetworkPolicy", "default-deny"))


def drop_backend_policy(run: ProgramRun) -> None:
    run.resources.remove(_object(run, "NetworkPolicy", "mcp-penrose-backend"))


def latest_tag(run: ProgramRun) -> None:
    spec = _object(run, "MCPServer", "datahub").inputs["spec"]
    name, at, digest = spec["image"].partition("@")  # the digest stays: only the tag breaks
    spec["image"] = f"{name.rsplit(':', 1)[0]}:latest{at}{digest}"


def public_code_execution(run: ProgramRun) -> None:
    _object(run, "MCPServer", "data-exploration").inputs["spec"].pop("oidcConfigRef", None)


BREAKS = [
    (root_penrose, "workload-run-as-non-root", "mcp-mcpserver-penrose ", "runAsUser is 0 (root)"),
    (drop_default_deny, "namespace-default-deny", "(stack)", "namespace data-science runs"),
    (drop_backend_policy, "pod-selected-by-network-policy", "mcp-mcpserver-penrose ", "backend pod"),
    (latest_tag, "workload-image-pinned", "mcp-mcpserver-datahub ", "uses the 'latest' tag"),
    (public_code_execution, "mcp-code-execution-requires-oidc", "mcp-mcpserver-data-exploration ", "without OIDC"),
]


@pytest.mark.parametrize(("transform", "policy", "resource", "fragment"), BREAKS, ids=[b[1] for b in BREAKS])
def test_break_fails_prod_naming_policy_and_resource(prod, transform, policy, resource, fragment):
    report = _report(prod, transform)
    assert report.exit_code == 1
    found = report.of(policy)
    assert found, f"{policy} did not fire"
    assert all(v.level == MANDATORY for v in found)
    assert any(v.resource.startswith(resource) and fragment in v.message for v in found), found
    assert {v.policy for v in report.violations} == {policy}


# dev does not publish data-exploration at all (no OIDC there), so that break has no route to drop auth from.
DEV_BREAKS = [b for b in BREAKS if b[0] is not public_code_execution]


@pytest.mark.parametrize(("transform", "policy", "resource", "fragment"), DEV_BREAKS, ids=[b[1] for b in DEV_BREAKS])
def test_same_break_fails_dev_too(dev, transform, policy, resource, fragment):
    report = _report(dev, transform)
    assert report.exit_code == 1
    found = report.of(policy)
    assert found
    assert {v.level for v in found} == {MANDATORY}
    assert any(v.resource.startswith(resource) and fragment in v.message for v in found)


@pytest.mark.parametrize(
    ("case", "env"),
    [*((b, "prod") for b in BREAKS), *((b, "dev") for b in DEV_BREAKS)],
    ids=[*(f"prod-{b[1]}" for b in BREAKS), *(f"dev-{b[1]}" for b in DEV_BREAKS)],
)
def test_make_policy_prints_the_break_and_exits_1(monkeypatch, capsys, stack_runs, case, env):
    """What `make policy STACK=<stack>` prints and returns for each break: the program run
    is the shipped one with the break applied, everything after it is the command's own."""
    from offline import policy_run

    transform, policy, resource, fragment = case
    stack, code, tag = env, 1, "[mandatory]"

    def broken_run(name, overrides=None):
        run = copy.deepcopy(stack_runs[name])
        transform(run)
        return run

    monkeypatch.setattr(policy_run, "run_program", broken_run)
    assert main(["--stack", stack]) == code
    out = capsys.readouterr().out
    assert f"{tag} {policy} (" in out
    [line] = [line for line in out.splitlines() if line.startswith(f"  - {resource}") and fragment in line]
    assert line
    assert out.rstrip().endswith("FAIL" if code else "PASS")


@pytest.mark.parametrize("backend", ["sealed", "external"])
def test_literal_data_in_a_secrets_layer_template_fails_prod(run, tmp_path, backend):
    """The SecretsLayer's own objects: a literal value in a SealedSecret or ExternalSecret
    template lands in the Secret as plain data."""
    from tests.test_secrets import backend_overrides

    overrides = backend_overrides(backend)
    kind = {"sealed": "SealedSecret", "external": "ExternalSecret"}[backend]

    def literal_template(result: ProgramRun) -> None:
        spec = _object(result, kind, "hf-token").inputs["spec"]
        template = spec["template"] if backend == "sealed" else spec["target"].setdefault("template", {})
        template.setdefault("data", {})["extra"] = "hf_literal"

    report = check_run(
        run("prod", overrides), config_for_backend(tmp_path, "prod", backend), overrides=overrides,
        transform=literal_template,
    )  # fmt: skip
    assert report.exit_code == 1
    [found] = report.violations
    assert found.policy == "secret-no-literal-data"
    assert found.resource.endswith(f":{kind})")  # the resource, by name and type
    assert f"{kind} data-science/hf-token writes literal data into its Secret" in found.message
    assert "hf_literal" not in found.message


def test_the_registry_rule_follows_the_stacks_images_registry():
    """A fork sets images.registry and nothing else: the shipped policy config passes it,
    because the stack declares its registry on the MCP namespace. An image override from
    another registry is still refused."""
    fork = "registry.example.com/team/mcp"
    report = check_stack("prod", overrides={"images.registry": fork})
    assert report.of("workload-image-registry") == []
    assert report.exit_code == 0

    mirror = "docker.io/someone/pandas-mcp@sha256:" + "0" * 64
    report = check_stack("prod", overrides={"images.registry": fork, "mcp.servers.pandas.image": mirror})
    found = report.of("workload-image-registry")
    assert found
    assert {v.level for v in found} == {MANDATORY}
    assert all("(docker.io/someone/pandas-mcp) is not from an allowed registry" in v.message for v in found)
    assert {v.resource.split()[0] for v in found} == {"mcp-mcpserver-pandas"}


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_break_through_config_short_stream_timeout(stack):
    report = check_stack(stack, overrides={"edge.stream_timeout_seconds": 60})
    assert report.exit_code == 1
    found = report.of("mcp-route-streaming")
    assert found
    assert {v.level for v in found} == {MANDATORY}
    assert any("nginx.org/proxy-read-timeout is 60s (< 3600s)" in v.message for v in found)


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_literal_token_in_server_env_stops_config_validation(stack):
    """A credential pasted into the stack file as a server env var (mcp.servers.<n>.env)
    never reaches a resource: config validation refuses it in every environment."""
    env = {"DATAHUB_GMS_URL": "https://datahub.finetunings.ai/api/gms", "DATAHUB_GMS_TOKEN": "eyJ-literal"}
    with pytest.raises(ConfigError) as err:
        check_stack(stack, overrides={"mcp.servers.datahub.env": env})
    assert "mcp-datascience:mcp.servers.datahub.env.DATAHUB_GMS_TOKEN: DATAHUB_GMS_TOKEN is a credential name" in str(
        err.value
    )
    assert "eyJ-literal" not in str(err.value)


def test_literal_token_in_a_rendered_env_fails_the_pack(prod):
    """The pack's own line of defence, for MCPServers the program's validation never saw."""

    def literal_token(run: ProgramRun) -> None:
        spec = _object(run, "MCPServer", "datahub").inputs["spec"]
        spec["env"].append({"name": "DATAHUB_GMS_TOKEN", "value": "eyJ-literal"})

    report = _report(prod, literal_token)
    [found] = report.violations
    assert found.policy == "env-no-literal-credentials"
    assert found.resource.startswith("mcp-mcpserver-datahub ")
    assert (
        found.message == "MCPServer data-science/datahub container 'mcp': env DATAHUB_GMS_TOKEN holds a literal value"
    )


def test_gateway_api_route_publishing_metrics_fails_prod(run):
    overrides = {"edge.controller": "gateway-api"}

    def metrics_match(result: ProgramRun) -> None:
        route = _object(result, "HTTPRoute", "mcp-pandas")
        route.inputs["spec"]["rules"][0]["matches"] = [{"path": {"type": "PathPrefix", "value": "/pandas/metrics"}}]

    report = check_run(run("prod", overrides), overrides=overrides, transform=metrics_match)
    assert report.exit_code == 1
    [found] = report.of("route-no-metrics")
    assert found.resource.startswith("edge-httproute-data-science-mcp-pandas ")
    assert found.message.startswith("HTTPRoute data-science/mcp-pandas publishes /pandas/metrics -> mcp-pandas-proxy")


def test_plain_http_repository_on_a_stack_release_fails_prod(prod):
    def http_repo(result: ProgramRun) -> None:
        result.release("sealed-secrets").inputs["repositoryOpts"]["repo"] = (
            "http://bitnami-labs.github.io/sealed-secrets"
        )

    report = _report(prod, http_repo)
    assert report.exit_code == 1
    [found] = report.of("helm-release-pinned")
    assert "Helm release kube-system/sealed-secrets pulls chart 'sealed-secrets' from 'http://" in found.message


def test_mismatched_secrets_backend_is_a_config_error():
    with pytest.raises(PolicyConfigError, match=r"uses secrets\.backend 'pulumi': make them agree"):
        check_stack("prod", overrides={"secrets.backend": "pulumi"})


def test_values_unknown_during_preview_make_the_policy_advisory(prod):
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    def unknown_values(run: ProgramRun) -> None:
        _object(run, "MCPServer", "datahub").inputs["spec"]["image"] = UNKNOWN_STRING_VALUE
        rule = _object(run, "NetworkPolicy", "mcp-datahub-backend").inputs["spec"]["egress"][0]
        rule["to"][0]["ipBlock"]["cidr"] = UNKNOWN_STRING_VALUE

    report = _report(prod, unknown_values)
    # An unknown MCPServer image leaves the pod template to be judged (the image is checked at `up`).
    assert {v.policy for v in report.violations} == {"egress-excepts-metadata"}
    [found] = report.of("egress-excepts-metadata")
    assert found.level == ADVISORY
    assert found.resource.startswith("mcp-netpol-mcp-datahub-backend ")
    assert found.message.startswith("can't run policy 'egress-excepts-metadata' during preview: string value at .")


# ---------------------------------------------------------------------------
# Fidelity: what the policies receive is what the engine hands them
# ---------------------------------------------------------------------------


def test_policies_receive_what_the_engine_hands_them(prod, tmp_path):
    """Resource policies see every registered resource (components included) one by one;
    stack policies see them all with parent and dependencies linked as PolicyResources;
    props and config numbers are floats (protobuf Struct); config has schema defaults."""
    from pulumi_policy import PolicyConfigSchema

    seen: dict[str, object] = {"resources": [], "configs": []}

    def on_resource(args, _report):
        seen["resources"].append(args.urn)
        seen["configs"].append(args.get_config())

    def on_stack(args, _report):
        seen["stack"] = args.resources
        seen["stack_config"] = args.get_config()

    schema = PolicyConfigSchema(properties={"limit": {"type": "integer", "default": 3}})
    spies = [
        ResourceValidationPolicy("spy-resource", "spy", on_resource, config_schema=schema),
        StackValidationPolicy("spy-stack", "spy", on_stack, config_schema=schema),
    ]
    config = tmp_path / "spy.json"
    config.write_text(json.dumps({"all": "mandatory", "spy-stack": {"limit": 7}}))
    run = copy.deepcopy(prod)
    report = check_run(run, config, policies=spies)
    assert report.violations == []

    assert seen["resources"] == [r.urn for r in run.resources]
    assert {type(c["limit"]) for c in seen["configs"]} == {float}  # schema default 3, as a float
    assert seen["stack_config"] == {"limit": 7.0}
    by_urn = {r.urn: r for r in seen["stack"]}
    assert set(by_urn) == {r.urn for r in run.resources}
    server = run.find("MCPServer", "penrose", "data-science")
    policy_server = by_urn[server.urn]
    assert policy_server.parent is by_urn[server.parent]  # the MCPServerSet component
    assert policy_server.parent.resource_type == "mcp-datascience:index:MCPServerSet"
    assert policy_server.dependencies  # the telemetry config, service account, namespace...
    assert [d.urn for d in policy_server.dependencies] == [d for d in server.dependencies if d in by_urn]
    assert all(d is by_urn[d.urn] for d in policy_server.dependencies)
    assert isinstance(policy_server.props["spec"]["proxyPort"], float)


# ---------------------------------------------------------------------------
# The command (`make policy STACK=...`)
# ---------------------------------------------------------------------------


def test_command_prints_violations_grouped_and_exits_by_level(capsys, tmp_path):
    assert main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("0 mandatory violation(s) in 0 policy(ies), 0 advisory: PASS")
    assert main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "Relaxed by policies/config/dev.json:\n  - certificate-production-issuer: dev takes Let's Encrypt" in out
    assert out.rstrip().endswith("0 mandatory violation(s) in 0 policy(ies), 0 advisory: PASS")
    # Without dev's relaxation, its staging certificate is a mandatory violation...
    config = json.loads((CONFIG_DIR / "dev.json").read_text())
    del config["certificate-production-issuer"]
    strict = tmp_path / "dev-strict.json"
    strict.write_text(json.dumps(config))
    assert main(["--stack", "dev", "--config", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "[mandatory] certificate-production-issuer (high, 1)" in out
    assert re.search(r"^  - edge-certificate-\S+ \(kubernetes:cert-manager.io/v1:Certificate\): ", out, re.M)
    assert out.rstrip().endswith("1 mandatory violation(s) in 1 policy(ies), 0 advisory: FAIL")
    # ...and relaxed to advisory (with its reason) it is reported without failing.
    config["certificate-production-issuer"] = {"enforcementLevel": "advisory", "reason": "a test of the advisory level"}
    strict.write_text(json.dumps(config))
    assert main(["--stack", "dev", "--config", str(strict)]) == 0
    out = capsys.readouterr().out
    assert "[advisory] certificate-production-issuer (high, 1)" in out
    assert out.rstrip().endswith("0 mandatory violation(s) in 0 policy(ies), 1 advisory: PASS")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "is not valid JSON"),
        ('["all"]', "must hold a JSON object"),
        ('{"all": "advisory", "route-tsl": "mandatory"}', "route-tsl: no policy of that name"),
    ],
)
def test_command_bad_config_file_exits_2_with_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["--stack", "dev", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcpds: error: ")
    assert fragment in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_command_unknown_stack_and_missing_config_exit_2(tmp_path, capsys):
    assert main(["--stack", "staging"]) == 2
    assert "No stack file Pulumi.staging.yaml" in capsys.readouterr().err
    assert main(["--stack", "dev", "--config", str(tmp_path / "none.json")]) == 2
    assert "no policy config file" in capsys.readouterr().err


def test_pack_starts_like_the_cli_runs_it():
    """`policies/__main__.py` run from its directory (as the CLI does) builds the PolicyPack,
    which prints the port of its gRPC server and serves until stopped."""
    import subprocess
    import sys

    pack_dir = Path(__file__).resolve().parent.parent / "policies"
    proc = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=pack_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert line.strip().isdigit(), (line, proc.stderr.read() if proc.poll() is not None else "")
        assert int(line) > 0
        assert proc.poll() is None  # still serving
    finally:
        proc.kill()
        proc.wait(timeout=10)
