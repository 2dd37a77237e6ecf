"""Secrets rules: literal Secret data by backend (with the pulumi-random exception) and
literal credentials in env vars."""

from __future__ import annotations

import pytest

from policies.mcp_policies import kube, secrets
from tests.policy_support import (
    container,
    deployment,
    helm,
    mcpserver,
    messages,
    resource,
    stack_violations,
    violations,
)


def secret(annotations: dict | None = None, **data) -> dict:
    meta = {"name": "grafana-admin", "namespace": "monitoring"}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "type": "Opaque", **data}


RANDOM = resource("random:index/randomPassword:RandomPassword", {"length": 32.0}, name="pw")
GENERATED = {secrets.GENERATED_BY: secrets.PULUMI_RANDOM}


@pytest.mark.parametrize("backend", ["sealed", "external"])
def test_literal_secret_data_fails_with_a_real_backend(backend):
    found = stack_violations(
        secrets.SECRET_NO_LITERAL_DATA,
        [resource(kube.SECRET, secret(stringData={"token": "hunter2"}))],
        {"secretsBackend": backend},
    )
    assert messages(found) == [
        f"Secret monitoring/grafana-admin carries literal data (keys ['token']) although secrets.backend is {backend}"
    ]


def test_literal_data_is_the_pulumi_backends_way():
    found = stack_violations(
        secrets.SECRET_NO_LITERAL_DATA,
        [resource(kube.SECRET, secret(data={"token": "aHVudGVyMg=="}))],
        {"secretsBackend": "pulumi"},
    )
    assert found == []


def test_secret_without_data_passes():
    assert stack_violations(secrets.SECRET_NO_LITERAL_DATA, [resource(kube.SECRET, secret())]) == []


def test_pulumi_random_secret_is_the_exception_when_it_depends_on_random():
    generated = resource(kube.SECRET, secret(GENERATED, stringData={"admin-password": "x" * 32}))
    generated.dependencies = [RANDOM]
    assert stack_violations(secrets.SECRET_NO_LITERAL_DATA, [RANDOM, generated], {"secretsBackend": "sealed"}) == []


def test_annotation_without_a_random_dependency_is_not_enough():
    claimed = resource(kube.SECRET, secret(GENERATED, stringData={"admin-password": "hunter2"}))
    found = stack_violations(secrets.SECRET_NO_LITERAL_DATA, [claimed], {"secretsBackend": "sealed"})
    assert messages(found) == [
        "Secret monitoring/grafana-admin is annotated mcp-datascience.finetunings.ai/generated-by: pulumi-random but "
        "depends on no random: resource; its data keys ['admin-password'] are literal"
    ]


def test_env_from_secret_refs_passes():
    c = container(env=[{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}])
    assert violations(secrets.ENV_NO_LITERAL_CREDENTIALS, "kubernetes:apps/v1:Deployment", deployment(c)) == []
    assert (
        violations(
            secrets.ENV_NO_LITERAL_CREDENTIALS,
            kube.MCP_SERVER,
            mcpserver(env=[{"name": "MCP_ALLOWED_HOSTS", "value": "x"}]),
        )
        == []
    )


@pytest.mark.parametrize(
    ("type_", "props", "expected"),
    [
        (
            "kubernetes:apps/v1:Deployment",
            deployment(container(env=[{"name": "DB_PASSWORD", "value": "hunter2"}])),
            "Deployment apps/web container 'app': env DB_PASSWORD holds a literal value",
        ),
        (
            kube.MCP_SERVER,
            mcpserver(env=[{"name": "HF_TOKEN", "value": "hf_abc"}]),
            "MCPServer data-science/pandas container 'mcp': env HF_TOKEN holds a literal value",
        ),
        (
            kube.MCP_SERVER,
            mcpserver(resourceOverrides={"proxyDeployment": {"env": [{"name": "OTEL_API_KEY", "value": "k"}]}}),
            "MCPServer data-science/pandas proxy container 'toolhive': env OTEL_API_KEY holds a literal value",
        ),
        (
            kube.HELM_RELEASE,
            helm({"operator": {"env": [{"name": "GITHUB_TOKEN", "value": "ghp_x"}]}}),
            "Helm release edge/rel values operator.env.0: env GITHUB_TOKEN holds a literal value",
        ),
    ],
)
def test_literal_credentials_in_env_fail(type_, props, expected):
    assert violations(secrets.ENV_NO_LITERAL_CREDENTIALS, type_, props) == [expected]


def test_allowed_names_and_empty_values_pass():
    c = container(env=[{"name": "TOKEN_TTL", "value": "3600"}, {"name": "API_KEY", "value": ""}])
    props = deployment(c)
    assert (
        violations(
            secrets.ENV_NO_LITERAL_CREDENTIALS, "kubernetes:apps/v1:Deployment", props, {"allowedNames": ["TOKEN_TTL"]}
        )
        == []
    )


# ---------------------------------------------------------------------------
# Literal credentials a Helm chart would store in a Secret of its own
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"grafana": {"adminPassword": "hunter2"}}, "grafana.adminPassword"),
        ({"provider": {"cloudflare": {"apiToken": "cf-abc"}}}, "provider.cloudflare.apiToken"),
        ({"auth": {"clientSecret": "s3cret"}}, "auth.clientSecret"),
        ({"godaddy": {"apiKey": "k", "apiSecret": "s"}}, "godaddy.apiKey"),
    ],
)
def test_literal_credential_in_helm_values_fails_with_a_real_backend(values, path):
    release = resource(kube.HELM_RELEASE, helm(values), name="rel")
    found = messages(stack_violations(secrets.SECRET_NO_LITERAL_DATA, [release], {"secretsBackend": "external"}))
    expected = (
        f"Helm release edge/rel values {path} holds a literal credential, which the chart stores in a Secret of "
        "its own although secrets.backend is external"
    )
    assert expected in found
    assert not any("cf-abc" in m or "hunter2" in m or "s3cret" in m for m in found)  # never echo the value


@pytest.mark.parametrize(
    "values",
    [
        # References to a Secret, key names, booleans and provider placeholders are not credentials.
        {"grafana": {"admin": {"existingSecret": "grafana-admin", "passwordKey": "admin-password"}}},
        {"serviceAccount": {"automountServiceAccountToken": False}},
        {"grafana": {"adminPassword": "$__file{/etc/secrets/admin-password}"}},
        {"grafana": {"adminPassword": ""}},
    ],
)
def test_helm_values_referencing_a_secret_pass(values):
    release = resource(kube.HELM_RELEASE, helm(values), name="rel")
    assert stack_violations(secrets.SECRET_NO_LITERAL_DATA, [release], {"secretsBackend": "sealed"}) == []


def test_helm_values_credentials_are_the_pulumi_backends_business():
    release = resource(kube.HELM_RELEASE, helm({"grafana": {"adminPassword": "hunter2"}}), name="rel")
    assert stack_violations(secrets.SECRET_NO_LITERAL_DATA, [release], {"secretsBackend": "pulumi"}) == []


def test_a_secret_with_literal_string_data_in_the_shipped_stack_fails(prod):
    """A whole-stack break: a literal Secret added to the prod stack fails the offline run."""
    import copy

    from offline.harness import Registered
    from offline.policy_run import check_run

    def add_literal_secret(run):
        obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leak", "namespace": "data-science"}}
        obj["stringData"] = {"token": "hunter2"}
        urn = "urn:pulumi:prod::mcp-datascience::kubernetes:core/v1:Secret::leak"
        run.resources.append(Registered(urn, kube.SECRET, "leak", True, "", [], obj, [], {}))

    report = check_run(copy.deepcopy(prod), transform=add_literal_secret)
    assert report.exit_code == 1
    [found] = report.of("secret-no-literal-data")
    assert found.resource == f"leak ({kube.SECRET})"
    assert "Secret data-science/leak carries literal data (keys ['token']) although secrets.backend is sealed" in (
        found.message
    )


# ---------------------------------------------------------------------------
# SealedSecret / ExternalSecret templates
# ---------------------------------------------------------------------------


def sealed(template_data: dict | None = None) -> dict:
    template: dict = {"type": "Opaque", "metadata": {"name": "hf-token", "namespace": "data-science"}}
    if template_data is not None:
        template["data"] = template_data
    return {
        "metadata": {"name": "hf-token", "namespace": "data-science"},
        "spec": {"encryptedData": {"token": "AgB4c2lwaGVydGV4dA=="}, "template": template},
    }


def external(template_data: dict | None = None) -> dict:
    target: dict = {"name": "hf-token"}
    if template_data is not None:
        target["template"] = {"data": template_data}
    return {
        "metadata": {"name": "hf-token", "namespace": "data-science"},
        "spec": {
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "mcp-datascience"},
            "target": target,
            "data": [{"secretKey": "token", "remoteRef": {"key": "mcp/hf-token"}}],
        },
    }


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        (secrets.SEALED_SECRET, sealed()),
        (secrets.SEALED_SECRET, sealed({"config.json": '{"token": "{{ index . "token" }}"}'})),
        (secrets.EXTERNAL_SECRET_TYPES[0], external()),
        (secrets.EXTERNAL_SECRET_TYPES[0], external({"url": "https://x/?t={{ .token }}"})),
    ],
)
def test_templates_over_the_decrypted_keys_pass(type_, props):
    found = stack_violations(secrets.SECRET_NO_LITERAL_DATA, [resource(type_, props)], {"secretsBackend": "sealed"})
    assert found == []


@pytest.mark.parametrize(
    ("type_", "props", "expected"),
    [
        (
            secrets.SEALED_SECRET,
            sealed({"token": "hf_literal", "user": "{{ .user }}"}),
            "SealedSecret data-science/hf-token writes literal data into its Secret (spec.template.data keys "
            "['token'] hold no template) although secrets.backend is sealed",
        ),
        (
            secrets.EXTERNAL_SECRET_TYPES[0],
            external({"password": "hunter2"}),
            "ExternalSecret data-science/hf-token writes literal data into its Secret (spec.target.template.data "
            "keys ['password'] hold no template) although secrets.backend is sealed",
        ),
    ],
)
def test_literal_template_data_fails(type_, props, expected):
    found = stack_violations(secrets.SECRET_NO_LITERAL_DATA, [resource(type_, props)], {"secretsBackend": "sealed"})
    assert messages(found) == [expected]
