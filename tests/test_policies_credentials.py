"""Credentials outside Secrets: what the shared detector calls a credential, ConfigMaps
carrying one, and env values with a credential's shape. Each rule: caught and passing."""

from __future__ import annotations

import pytest

from policies.mcp_policies import credentials, secrets
from tests.policy_support import container, deployment, violations

HF_TOKEN = "hf_" + "Q7w9E1r3T5y7" * 3


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("HF_TOKEN", True),
        ("DATAHUB_GMS_TOKEN", True),
        ("EARTHDATA_PASSWORD", True),
        ("MCP_AUTH_SECRET_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("adminPassword", True),
        ("apiKey", True),
        ("client_secret", True),
        ("TOOL_RESPONSE_TOKEN_LIMIT", False),
        ("ENTITY_SCHEMA_TOKEN_BUDGET", False),
        ("PASSWORD_FILE", False),
        ("DATAHUB_TELEMETRY_ENABLED", False),
        ("max_tokens", False),
    ],
)
def test_credential_names(name, credential):
    assert credentials.is_credential_name(name) is credential


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (HF_TOKEN, "a Hugging Face token"),
        ("ghp_" + "a" * 36, "a GitHub token"),
        ("AKIAABCDEFGHIJKLMNOP", "an AWS access key id"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "a private key"),
        ("postgres://app:hunter2@db:5432/app", "a URL with a password"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl", "a JSON Web Token"),
        ("https://datahub.example.com/api/gms", None),
        ("streamableHttpJson", None),
        ("80000", None),
    ],
)
def test_credential_shapes(value, shape):
    assert credentials.credential_shape(value) == shape


CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def config_map(**data: str) -> dict:
    return {"metadata": {"name": "settings", "namespace": "apps"}, "data": data}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"api_token": "s3cr3t-value"}, "data key api_token is a credential name with a literal value"),
        ({"endpoint": f"Bearer {HF_TOKEN}"}, "data key endpoint holds what looks like a Hugging Face token"),
        ({"app.ini": "[db]\nhost = db\npassword = hunter2\n"}, "data key app.ini sets password to a literal value"),
        ({"config.yaml": "smtp:\n  auth_password: 'hunter2'\n"}, "data key config.yaml sets auth_password to a"),
    ],
    ids=["key", "value-shape", "ini-file", "yaml-file"],
)
def test_a_config_map_with_a_credential_is_caught(data, problem):
    [found] = violations(secrets.CONFIG_MAP_NO_CREDENTIALS, CONFIG_MAP, config_map(**data))
    assert found.startswith(f"ConfigMap apps/settings {problem}")
    for value in data.values():
        assert "hunter2" not in found
        assert value not in found


def test_a_config_map_with_references_only_passes():
    data = {
        "grafana.ini": "[security]\nadmin_password = $__file{/etc/secrets/admin-password}\n",
        "app.env": "API_TOKEN=${API_TOKEN}\nTOKEN_LIMIT=80000\n",
        "password_file": "/run/secrets/db",
        "dashboard.json": '{"title": "MCP overview", "panels": [{"datasource": "prometheus"}]}',
    }
    assert violations(secrets.CONFIG_MAP_NO_CREDENTIALS, CONFIG_MAP, config_map(**data)) == []


def test_an_env_value_with_a_credential_shape_is_caught_whatever_its_name():
    web = deployment(container(env=[{"name": "UPSTREAM", "value": "https://bot:hunter2@api.example.com"}]))
    found = violations(secrets.ENV_NO_LITERAL_CREDENTIALS, "kubernetes:apps/v1:Deployment", web)
    assert found == ["Deployment apps/web container 'app': env UPSTREAM holds what looks like a URL with a password"]
    fine = deployment(container(env=[{"name": "UPSTREAM", "value": "https://api.example.com"}]))
    assert violations(secrets.ENV_NO_LITERAL_CREDENTIALS, "kubernetes:apps/v1:Deployment", fine) == []
