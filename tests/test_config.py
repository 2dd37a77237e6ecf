"""Stack config: good values load, bad values stop the program with a message naming the key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.config_errors import ConfigError
from components.stack_config import parse_config
from offline.harness import PROJECT_ROOT, read_stack_file, run_program
from tests.stackconfig import BASE, base_config

# (overrides, the key the message must name, a fragment of what is allowed)
BAD_INPUTS = [
    ({"environment": "qa"}, "mcp-datascience:environment", "'dev', 'staging' or 'prod'"),
    ({"domain": "Finetunings.AI"}, "mcp-datascience:domain", "lowercase DNS name"),
    ({"domain": "*.finetunings.ai"}, "mcp-datascience:domain", "no wildcard"),
    ({"domain": "localhost"}, "mcp-datascience:domain", "at least two labels"),
    ({"kubernetes_version": "1.29"}, "mcp-datascience:kubernetes_version", "between 1.30 and 1.37"),
    ({"kubernetes_version": "latest"}, "mcp-datascience:kubernetes_version", "such as 1.34"),
    ({"toolhive": {"rbac_scope": "global"}}, "mcp-datascience:toolhive.rbac_scope", "'cluster' or 'namespace'"),
    ({"toolhive": {"chart_version": "^0.44"}}, "mcp-datascience:toolhive.chart_version", "exact chart version"),
    ({"toolhive": {"namespace": "ToolHive_System"}}, "mcp-datascience:toolhive.namespace", "DNS-1123 label"),
    ({"toolhive": {"rbac_scpoe": "cluster"}}, "mcp-datascience:toolhive.rbac_scpoe", "rbac_scope"),
    ({"toolhive": "cluster"}, "mcp-datascience:toolhive", "mapping of keys"),
    ({"unknown_section": {"a": 1}}, "mcp-datascience:unknown_section", "Allowed keys here"),
    (
        {
            "toolhive": {
                "resources": {"requests": {"cpu": "2", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}
            }
        },
        "mcp-datascience:toolhive.resources",
        "requests.cpu (2) is larger than limits.cpu (1)",
    ),
    (
        {
            "toolhive": {
                "resources": {"requests": {"cpu": "lots", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
            }
        },
        "mcp-datascience:toolhive.resources.requests.cpu",
        "not a Kubernetes quantity",
    ),
    ({"toolhive": {"watched_namespaces": ["team-a"]}}, "mcp-datascience:toolhive.watched_namespaces", "data-science"),
    ({"mcp": {"namespace": "toolhive-system"}}, "mcp-datascience:mcp.namespace", "its own namespace"),
    (
        {"toolhive": {"watched_namespaces": ["data-science", "toolhive-system"]}},
        "mcp-datascience:toolhive.watched_namespaces",
        "own namespace",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    BAD_INPUTS,
    ids=[b[1].split(":")[1] + "-" + str(i) for i, b in enumerate(BAD_INPUTS)],
)
def test_bad_value_is_rejected_with_key_and_allowed_values(overrides, key, allowed):
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), **overrides}, stack="prod")
    message = str(caught.value)
    assert key in message
    assert allowed in message
    assert "Pulumi.prod.yaml" in message  # says where to fix it


def test_bad_value_shows_the_value_it_got():
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), "toolhive": {"rbac_scope": "global"}}, stack="prod")
    assert "= 'global'" in str(caught.value)


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), "environment": "qa", "domain": "x", "kubernetes_version": "2.0"}, stack="dev")
    assert len(caught.value.problems) == 3


def test_environment_defaults_to_a_known_stack_name_and_is_required_otherwise():
    assert parse_config({"mcp": BASE["mcp"]}, stack="staging").environment == "staging"
    with pytest.raises(ConfigError, match="environment is not set and the stack name 'team-x'"):
        parse_config({}, stack="team-x")


def test_defaults_are_the_production_safe_ones():
    cfg = parse_config(base_config(), stack="prod")
    assert cfg.domain == "finetunings.ai"
    assert cfg.toolhive.namespace == "toolhive-system"
    assert cfg.toolhive.chart_version == "0.44.0"
    assert cfg.toolhive.rbac_scope == "namespace"
    assert cfg.operator_namespaces == ("data-science",)


def test_pulumi_scalar_strings_are_coerced():
    # Pulumi hands every scalar to the program as a string.
    cfg = parse_config({**base_config(), "environment": "dev", "kubernetes_version": "v1.36"}, stack="dev")
    assert cfg.kubernetes_version == "1.36"


def test_secret_config_values_are_never_echoed():
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), "domain": "s3cr3t-value"}, stack="prod", secret_keys=frozenset({"domain"}))
    assert "s3cr3t-value" not in str(caught.value)
    assert "[secret]" in str(caught.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stack_files_are_valid(stack):
    raw = {k.split(":", 1)[1]: v for k, v in read_stack_file(stack).items() if k.startswith("mcp-datascience:")}
    assert parse_config(raw, stack=stack).environment == stack


def test_program_stops_before_any_resource_on_bad_config():
    with pytest.raises(ConfigError) as caught:
        run_program("prod", overrides={"toolhive.rbac_scope": "global"})
    assert caught.value.registered == []


def test_render_prints_a_clean_message_and_exit_code_2(tmp_path: Path):
    (tmp_path / "Pulumi.broken.yaml").write_text(
        "config:\n  mcp-datascience:environment: prod\n  mcp-datascience:toolhive:\n    rbac_scope: everywhere\n"
        + "  mcp-datascience:mcp: "
        + json.dumps(BASE["mcp"])
        + "\n"
    )
    for name in ("__main__.py", "Pulumi.yaml"):
        (tmp_path / name).symlink_to(PROJECT_ROOT / name)
    (tmp_path / "components").symlink_to(PROJECT_ROOT / "components")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "offline.render",
            "--stack",
            "broken",
            "--root",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "mcp-datascience:toolhive.rbac_scope = 'everywhere'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()  # nothing half-written
