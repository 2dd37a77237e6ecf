"""Config as users write it: YAML numbers where numbers go, YAML's surprises refused with
the quoting to use, every message one line in words, stack files read as Pulumi reads them."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pydantic import BaseModel

from components.config import StackConfig
from components.config_errors import ConfigError, looks_like_credential, strip_optional
from components.stack_config import namespace_problems, parse_config
from offline.harness import PROJECT_ROOT, read_stack_file
from offline.policy_run import stack_config
from tests.messages import assert_words_only
from tests.stackconfig import BASE, base_config


def write_stack(root: Path, name: str, text: str) -> Path:
    path = root / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def prod_stack_text(extra: str) -> str:
    """A valid prod stack file (the smallest deployable config) plus `extra` lines."""
    base = yaml.safe_dump({"config": {f"mcp-datascience:{k}": v for k, v in BASE.items()}}, sort_keys=False)
    return base + extra


def problems_of(root: Path, name: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        stack_config(name, root=root)
    return caught.value.problems


# ---------------------------------------------------------------------------
# Numbers where users write numbers
# ---------------------------------------------------------------------------


def test_yaml_numbers_are_taken_where_numbers_go(tmp_path):
    write_stack(
        tmp_path,
        "prod",
        prod_stack_text(
            "  mcp-datascience:monitoring:\n"
            "    sampling_rate: 0.5\n"
            "    prometheus_storage: 100Gi\n"
            "  mcp-datascience:edge:\n"
            "    replicas: 3\n"
            "    resources:\n"
            "      requests: {cpu: 0.25, memory: 134217728}\n"
            "      limits: {cpu: 2, memory: 1Gi}\n"
            "  mcp-datascience:kubernetes_version: 1.33\n"
        ),
    )
    config = stack_config("prod", root=tmp_path)
    assert config.monitoring.sampling_rate == "0.5"
    assert config.edge.replicas == 3
    assert config.edge.resources.requests.cpu == "0.25"
    assert config.edge.resources.requests.memory == "134217728"
    assert config.edge.resources.limits.cpu == "2"
    assert config.kubernetes_version == "1.33"


@pytest.mark.parametrize(("written", "expected"), [("1", "1"), ("0", "0"), ("0.05", "0.05"), ("1e-3", "0.001")])
def test_sampling_rate_accepts_every_way_of_writing_a_number(tmp_path, written, expected):
    write_stack(tmp_path, "prod", prod_stack_text(f"  mcp-datascience:monitoring:\n    sampling_rate: {written}\n"))
    assert stack_config("prod", root=tmp_path).monitoring.sampling_rate == expected


# ---------------------------------------------------------------------------
# What YAML turns into something else: refused with the quoting to use
# ---------------------------------------------------------------------------


def test_unquoted_kubernetes_version_that_yaml_shortens_names_the_quoting(tmp_path):
    write_stack(tmp_path, "prod", prod_stack_text("  mcp-datascience:kubernetes_version: 1.30\n"))
    (problem,) = problems_of(tmp_path, "prod")
    assert problem.startswith("mcp-datascience:kubernetes_version = '1.3': ")
    assert 'write it in quotes, kubernetes_version: "1.30"' in problem


@pytest.mark.parametrize(
    ("yaml_value", "quoting"),
    [("8080", 'PORT: "8080"'), ("true", 'PORT: "true"'), ("1.10", 'PORT: "1.1"'), ("0123", 'PORT: "83"')],
)
def test_yaml_numbers_and_booleans_in_text_keys_name_the_quoting(tmp_path, yaml_value, quoting):
    """`0123` is octal 83 to YAML (and to Pulumi's reader): the message shows what arrived."""
    text = prod_stack_text("").replace(
        "DATAHUB_GMS_URL: https://datahub.example.com/api/gms",
        f"DATAHUB_GMS_URL: https://datahub.example.com/api/gms\n          PORT: {yaml_value}",
    )
    write_stack(tmp_path, "prod", text)
    (problem,) = problems_of(tmp_path, "prod")
    assert problem.startswith("mcp-datascience:mcp.servers.datahub.env.PORT = ")
    assert "must be text" in problem
    assert quoting in problem


def test_yes_and_on_stay_text_as_pulumi_reads_them(tmp_path):
    """Pulumi's YAML reader (yaml.v3) keeps `yes`/`on` as text; PyYAML would make them
    booleans. A text key gets the text, as `pulumi up` would give it."""
    text = prod_stack_text("  mcp-datascience:edge:\n    service_annotations: {a.example/internal: yes, b: on}\n")
    write_stack(tmp_path, "prod", text)
    assert stack_config("prod", root=tmp_path).edge.service_annotations == {"a.example/internal": "yes", "b": "on"}


# ---------------------------------------------------------------------------
# Every message: one line, the key path, the value, words only
# ---------------------------------------------------------------------------


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, field in model.model_fields.items():
        annotation = strip_optional(field.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _leaf_paths(annotation, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def _with(path: tuple[str, ...], value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(data) if data is not None else base_config()
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return data


def _problems(config: dict[str, Any]) -> list[str]:
    try:
        parse_config(config, "prod")
    except ConfigError as exc:
        return exc.problems
    return []


LEAVES = _leaf_paths(StackConfig)
# Every key written out, so that a wrong leaf is the only problem in its section.
FULL = parse_config(base_config(), "prod").model_dump(mode="json")
WRONG_VALUES = [{"unexpected": {"deep": 1}}, [{"x": 1}], "%% not this %%", 4.5, True]


def test_every_key_refuses_every_wrong_shape_in_words():
    """Each leaf key of the model, given each kind of wrong value: one line per problem,
    naming the key, with no Python or pydantic type name and no regular expression."""
    checked = 0
    for path in LEAVES:
        for value in WRONG_VALUES:
            problems = _problems(_with(path, value, FULL))
            # The key itself, or the section whose rule it broke (requests above limits).
            keys = ["mcp-datascience:" + ".".join(path[:i]) for i in range(len(path), 0, -1)]
            assert not problems or any(p.startswith(k) for p in problems for k in keys), (path, value, problems)
            for problem in problems:
                checked += 1
                assert "\n" not in problem, problem
                assert_words_only(problem)
                assert not re.search(r"\{\"|\[\{", problem), problem  # no section echoed back
    assert len(LEAVES) > 100
    assert checked > 4 * len(LEAVES)


def test_a_section_with_an_error_is_not_echoed_back():
    config = _with(("toolhive", "resources"), {"requests": {"cpu": "2", "memory": "64Mi"}, "limits": {"cpu": "1"}})
    with pytest.raises(ConfigError) as caught:
        parse_config(config, "prod")
    assert "64Mi" not in str(caught.value)
    assert "mcp-datascience:toolhive.resources.limits.memory: required key is missing" in caught.value.problems


def test_misspelt_keys_and_choices_get_did_you_mean():
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), "domian": "x.example.org", "edge": {"issuer": "prodution"}}, "prod")
    problems = "\n".join(caught.value.problems)
    assert "mcp-datascience:domian: unknown key. Did you mean 'domain'?" in problems
    assert "mcp-datascience:edge.issuer = 'prodution': must be 'auto', 'staging' or 'production'." in problems
    assert "Did you mean 'production'?" in problems


# ---------------------------------------------------------------------------
# Secrets are never shown
# ---------------------------------------------------------------------------

TOKENS = [
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "e4Tq9x2ZbN7mW1pR5sK8:Yh3Jc6Vn9Bq2Lt5Wz8Dd",  # GoDaddy KEY:SECRET
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-1234567890-abcdefghijklmnop",
    "q8Xz3Lm9Vt2Rw7Kp4Nd6Hs1Jf5Gb0Ya",  # random 32 characters
]


@pytest.mark.parametrize("token", TOKENS)
def test_credential_shaped_values_are_never_echoed_anywhere(token):
    assert looks_like_credential(token)
    for path in [("domain",), ("edge", "acme_email"), ("mcp", "servers", "datahub", "env", "DATAHUB_GMS_URL")]:
        with pytest.raises(ConfigError) as caught:
            parse_config(_with(path, token), "prod")
        assert token not in str(caught.value)
        assert token.split(":")[0] not in str(caught.value)
        assert "[secret]" in str(caught.value)


@pytest.mark.parametrize(
    "value", ["ghcr.io/my-org/mcp", "https://datahub.example.com/api/gms", "data-science", "1.34", "sha256:" + "a" * 64]
)
def test_ordinary_values_are_not_mistaken_for_credentials(value):
    assert not looks_like_credential(value)


@pytest.mark.parametrize(
    "section",
    [
        {"backend": "plaintext-Hunter2"},
        {"sealed": {"ciphertexts": {"hf-token": {"token": "Hunter2-not-sealed"}}}},
        {"external": {"refresh_interval": "Hunter2"}},
        {"pulumi": {"values": {"hf-token": {"token": 4242424242}}}},
    ],
)
def test_nothing_under_secrets_is_echoed(section):
    with pytest.raises(ConfigError) as caught:
        parse_config({**base_config(), "secrets": section}, "prod")
    assert "Hunter2" not in str(caught.value)
    assert "4242424242" not in str(caught.value)
    assert "mcp-datascience:secrets." in str(caught.value)


def test_a_token_inside_a_quoted_value_of_a_cross_key_message_is_scrubbed():
    error = ConfigError("prod", ["mcp-datascience:x = 'https://u:ghp_0123456789abcdefghijABCDEFGHIJ01@h': bad"])
    assert "ghp_" not in str(error)


# ---------------------------------------------------------------------------
# Config namespaces and the stack file, as Pulumi reads them
# ---------------------------------------------------------------------------


def test_provider_and_unrelated_namespaces_are_left_alone():
    keys = ["kubernetes:context", "pulumi:tags", "random:x", "aws:region", "mcp-datascience:domain", "mcpds-extra:x"]
    assert namespace_problems([*keys, "command:run", "tls:x", "gcp:project", "docker:host"]) == []
    assert len(namespace_problems(["mcp_datascience:domain", "mcp-datascience2:x", "mcpdatascience:x"])) == 3
    # A provider's namespace misspelt: the provider would never see the key.
    [problem] = namespace_problems(["kubernets:context"])
    assert problem.endswith("Did you mean 'kubernetes:context'?")


def test_the_program_refuses_a_misspelt_namespace_under_pulumi_too():
    """Under `pulumi up` the program reads keys from the runtime, not the file."""
    from offline.harness import run_program

    with pytest.raises(pulumi.RunError, match="Did you mean 'mcp-datascience:domain'"):
        run_program("dev", overrides={"mcp-datasiense:domain": "ml.example.org"})


def test_an_unprefixed_key_is_the_projects_as_in_pulumi(tmp_path):
    write_stack(tmp_path, "prod", prod_stack_text("  domain: ml.example.org\n"))
    assert read_stack_file("prod", tmp_path)["mcp-datascience:domain"] == "ml.example.org"
    assert stack_config("prod", root=tmp_path).domain == "ml.example.org"


def test_legacy_config_module_keys_are_read_as_pulumi_reads_them(tmp_path):
    write_stack(tmp_path, "x", "config:\n  kubernetes:config:context: kind\n")
    assert read_stack_file("x", tmp_path) == {"kubernetes:context": "kind"}


def test_config_and_secrets_import_neither_the_plan_nor_their_consumers():
    """config.py does not import plan.py (the plan's checks run in stack_config), and the
    SecretsLayer receives its credential specs instead of importing edge and monitoring."""
    code = (
        "import sys, components.config, components.secrets; "
        "print(sorted(m for m in sys.modules if m in "
        "('components.plan', 'components.edge', 'components.monitoring', 'components.stack_config')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
