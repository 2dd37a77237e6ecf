"""About a hundred bad inputs, tried as a user tries them: malformed stack files through
`make render` / `make policy` (offline.render, offline.policy_run, `mcpds images`), and
misuse of every command line of the repository.

Every case must give exit 2 and one clear error: CLI misuse is one line
`mcpds: error: ...` naming the flag and the fix; a config problem is one line per
problem naming the key path, the value (never a secret) and what is allowed, in words.
No case may print a traceback, a Python or pydantic type name, a regular expression, a
section of the user's file echoed back, or a secret; none may write anything.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from e2e.pki import self_signed_rsa
from mcpds import cli
from offline import bench, crds, flat, images, policy_run, prereqs, render
from offline.harness import PROJECT_ROOT, STACK_DIR_ENV
from tests import checklist
from tests.messages import assert_words_only
from tests.stackconfig import FIXTURE_STACKS

PREFIX = cli.PREFIX

# The smallest valid prod stack file; each case adds lines under `config:` or changes it.
BASE = """config:
  mcp-datascience:environment: prod
  mcp-datascience:mcp:
    oidc: {issuer: "https://auth.example.com/realms/mcp", audience: mcp}
    servers:
      data-exploration: {auth: oidc}
      datahub:
        env:
          DATAHUB_GMS_URL: https://datahub.example.com/api/gms
"""
GMS = "          DATAHUB_GMS_URL: https://datahub.example.com/api/gms\n"

# Made-up credentials of well-known shapes: none may ever be printed.
GHP = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
PAIR = "e4Tq9x2ZbN7mW1pR5sK8:Yh3Jc6Vn9Bq2Lt5Wz8Dd"  # GoDaddy KEY:SECRET
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"


def under(section: str, body: str) -> str:
    """BASE plus `mcp-datascience:<section>: <body>`."""
    return BASE + f"  mcp-datascience:{section}: {body}\n"


def server(lines: str) -> str:
    """BASE with `lines` added under mcp.servers (or under datahub's env, when indented so)."""
    return BASE + lines


@dataclass(frozen=True)
class StackCase:
    id: str
    text: str | bytes
    says: tuple[str, ...]  # fragments the error must contain
    secrets: tuple[str, ...] = ()  # values it must not


def case(id: str, text: str | bytes, *says: str, secrets: tuple[str, ...] = ()) -> StackCase:
    return StackCase(id, text, says, secrets)


STACK_CASES = [
    # Numbers YAML changes, and numbers out of range
    case("k8s-1.30-unquoted", under("kubernetes_version", "1.30"), "= '1.3'", 'kubernetes_version: "1.30"'),
    case("k8s-1.40-unquoted", under("kubernetes_version", "1.40"), "= '1.4'", "unquoted 1.40 as 1.4: quote"),
    case("k8s-1.29", under("kubernetes_version", '"1.29"'), "between 1.30 and 1.37"),
    case("k8s-134", under("kubernetes_version", "134"), "Kubernetes minor version such as 1.34"),
    case("sampling-1.5", under("monitoring", "{sampling_rate: 1.5}"), "sampling_rate = 1.5", "between 0 and 1"),
    case("sampling-text", under("monitoring", "{sampling_rate: half}"), "sampling_rate = 'half'", "between 0 and 1"),
    case("sampling-negative", under("monitoring", "{sampling_rate: -0.1}"), "sampling_rate = -0.1"),
    case("replicas-2.5", under("edge", "{replicas: 2.5}"), "edge.replicas = 2.5", "without a fraction"),
    case("replicas-true", under("edge", "{replicas: true}"), "edge.replicas = true", "not true or false"),
    case("replicas-text", under("edge", "{replicas: two}"), "edge.replicas = 'two'", "whole number"),
    case("replicas-0", under("edge", "{replicas: 0}"), "edge.replicas = 0", "at least 1"),
    case("timeout-1h", under("edge", "{stream_timeout_seconds: 1h}"), "stream_timeout_seconds = '1h'", "whole"),
    case("timeout-negative", under("edge", "{stream_timeout_seconds: -5}"), "at least 60"),
    case("port-text", under("network", "{api_server_ports: [https]}"), "api_server_ports[0] = 'https'"),
    case("port-70000", under("network", "{api_server_ports: [70000]}"), "api_server_ports[0] = 70000", "at most"),
    case("port-true", under("network", "{api_server_ports: [true]}"), "api_server_ports[0] = true"),
    case("ratio-false", under("monitoring", "{alerts: {error_ratio: false}}"), "error_ratio = false"),
    case("env-port-number", server("          PORT: 8080\n"), 'write it in quotes, PORT: "8080"'),
    case("env-bool", server("          DEBUG: true\n"), 'quote it, DEBUG: "true"'),
    case("cpu-list", under("edge", "{resources: {requests: {cpu: [1], memory: 1Mi}}}"), "cpu: must be a single"),
    case("memory-lots", under("edge", "{resources: {requests: {cpu: 1, memory: lots}}}"), "'lots' is not a"),
    case(
        "requests-above-limits",
        under("edge", "{resources: {requests: {cpu: 4, memory: 1Mi}, limits: {cpu: 2, memory: 1Gi}}}"),
        "edge.resources: requests.cpu (4) is larger than limits.cpu (2)",
    ),
    # Keys in the wrong place
    case("key-outside-config", BASE + "mcp-datascience:domain: ml.example.org\n", "outside `config:`", "indent it"),
    case("unprefixed-outside-config", BASE + "domain: ml.example.org\n", "'domain' is outside `config:`"),
    case("config-misspelt", "confg:\n  mcp-datascience:domain: ml.example.org\n", "'confg' is outside `config:`"),
    case("config-list", "config:\n  - mcp-datascience:domain\n", "with a `config:` mapping inside"),
    case("config-string", "config: mcp-datascience:domain\n", "with a `config:` mapping inside"),
    case("top-list", "- config\n", "with a `config:` mapping inside"),
    case("section-as-text", under("edge", "replicas=2"), "mcp-datascience:edge = 'replicas=2'", "a mapping"),
    case("key-at-wrong-level", under("replicas", "2"), "mcp-datascience:replicas: unknown key", "Allowed keys"),
    case("key-in-wrong-section", under("edge", "{sampling_rate: 0.5}"), "edge.sampling_rate: unknown key"),
    # Keys without the prefix, or with a broken one
    case("unprefixed-misspelt", BASE + "  domian: ml.example.org\n", "domian: unknown key. Did you mean 'domain'?"),
    case(
        "unprefixed-and-prefixed",
        BASE + "  domain: a.example.org\n  mcp-datascience:domain: b.example.org\n",
        "'domain' and 'mcp-datascience:domain' are both the key",
    ),
    case("dot-for-colon", BASE + "  mcp-datascience.domain: ml.example.org\n", "mcp-datascience.domain: unknown"),
    case("path-with-colons", BASE + "  mcp-datascience:edge:replicas: 2\n", "could not parse"),
    # Duplicate keys
    case(
        "dup-top",
        BASE + "  mcp-datascience:domain: a.example.org\n  mcp-datascience:domain: b.example.org\n",
        "line 11: key 'mcp-datascience:domain' is already defined at line 10",
    ),
    case("dup-nested", under("edge", "\n    replicas: 1\n    replicas: 2"), "key 'replicas' is already defined"),
    case("dup-config", BASE + "config:\n  mcp-datascience:domain: b.example.org\n", "key 'config' is already defined"),
    case("dup-flow", under("edge", "{replicas: 1, replicas: 2}"), "key 'replicas' is already defined"),
    # A namespace that is a misspelling of ours or of a provider's
    case("ns-datasience", BASE + "  mcp-datasience:domain: ml.example.org\n", "Did you mean 'mcp-datascience:domain'"),
    case("ns-underscore", BASE + "  mcp_datascience:domain: ml.example.org\n", "Did you mean 'mcp-datascience:"),
    case("ns-no-dash", BASE + "  mcpdatascience:domain: ml.example.org\n", "Did you mean 'mcp-datascience:"),
    case("ns-upper-case", BASE + "  MCP-Datascience:domain: ml.example.org\n", "Did you mean 'mcp-datascience:"),
    case("ns-section", BASE + "  mcp-datascince:edge: {replicas: 3}\n", "Did you mean 'mcp-datascience:edge'"),
    case("ns-kubernetes", BASE + "  kubernets:context: kind-ml\n", "Did you mean 'kubernetes:context'"),
    # Plaintext credentials where ciphertexts (or nothing) belong
    case(
        "sealed-plaintext-pair",
        under("secrets", f'{{sealed: {{ciphertexts: {{godaddy-api-key: {{token: "{PAIR}"}}}}}}}}'),
        "ciphertexts.godaddy-api-key.token = [secret]",
        "mcpds seal",
        secrets=(PAIR, PAIR.split(":", maxsplit=1)[0], PAIR.split(":")[1]),
    ),
    case(
        "sealed-plaintext-word",
        under("secrets", "{sealed: {ciphertexts: {godaddy-api-key: {token: hunter2}}}}"),
        "[secret]",
        secrets=("hunter2",),
    ),
    case(
        "sealed-plaintext-alertmanager",
        under("secrets", f"{{sealed: {{ciphertexts: {{alertmanager-config: {{alertmanager.yaml: '{SLACK}'}}}}}}}}"),
        "alertmanager-config.alertmanager.yaml = [secret]",
        secrets=("XXXXSECRETXXXX", "hooks.slack.com"),
    ),
    case(
        "pulumi-values-plaintext",
        under("secrets", "{backend: pulumi, pulumi: {values: {godaddy-api-key: {token: Hunter2Secret}}}}"),
        "not Pulumi secrets",
        "--secret",
        secrets=("Hunter2Secret",),
    ),
    case(
        "secrets-backend-bad",
        under("secrets", "{backend: plaintext-Hunter2}"),
        "backend = [secret]",
        secrets=("Hunter2",),
    ),
    case("env-jwt", server(f"          DATAHUB_TOKEN: {JWT}\n"), "DATAHUB_TOKEN is a credential", secrets=(JWT[:20],)),
    case("env-hf-token", server(f"      huggingface:\n        env: {{HF_TOKEN: {HF}}}\n"), "HF_TOKEN", secrets=(HF,)),
    case("url-with-token", BASE.replace("https://datahub", f"https://u:{GHP}@datahub"), "GitHub token", secrets=(GHP,)),
    case("domain-is-token", under("domain", GHP), "domain = [secret]", secrets=(GHP,)),
    case(
        "unknown-key-password",
        under("monitoring", "{grafana_password: Sup3rSecretPw9}"),
        "grafana_password: unknown",
        secrets=("Sup3rSecretPw9",),
    ),
    # Wrong types deep in sections
    case("cidrs-text", under("edge", "{allowed_cidrs: 10.0.0.0/8}"), "allowed_cidrs = '10.0.0.0/8': must be a list"),
    case("cidr-bad", under("edge", "{allowed_cidrs: [not-a-cidr]}"), "allowed_cidrs[0] = 'not-a-cidr': must be a CIDR"),
    case("cidr-host-bits", under("network", "{api_server_cidrs: [10.0.0.1/8]}"), "no address bits set"),
    case("hosts-list", under("edge", "{hosts: [a.example.org]}"), "edge.hosts: must be a mapping"),
    case("annotation-nested", under("edge", "{service_annotations: {a: {b: c}}}"), "annotations.a: must be a single"),
    case("egress-mapping", server("      penrose:\n        egress_rules: {x: 1}\n"), "egress_rules: must be a list"),
    case("autoscale-text", BASE + "    autoscale: {min_replicas: two}\n", "mcp.autoscale.min_replicas = 'two'"),
    case("autoscale-inverted", BASE + "    autoscale: {min_replicas: 5, max_replicas: 2}\n", "min_replicas (5)"),
    case("enabled-text", server("      penrose: {enabled: nope}\n"), "penrose.enabled = 'nope': must be true or false"),
    case("server-unknown", server("      pandsa: {enabled: true}\n"), "Did you mean 'pandas'?", "custom_servers"),
    case("disabled-tools-text", server("      pandas: {disabled_tools: run_code}\n"), "disabled_tools = 'run_code'"),
    case(
        "custom-latest",
        BASE + "    custom_servers:\n      mine: {image: 'nginx:latest', transport: streamable-http}\n",
        "custom_servers.mine.image = 'nginx:latest': must not use the 'latest' tag",
    ),
    case("gms-url-bad", BASE.replace("https://datahub.example.com/api/gms", "datahub.example.com"), "http(s) URL"),
    case("gms-url-missing", BASE.replace(GMS, "          {}\n"), "DATAHUB_GMS_URL is required"),
    case("oidc-http", BASE.replace("https://auth", "http://auth"), "mcp.oidc.issuer = 'http://auth"),
    case("digest-bad", under("images", "{digests: {'x:1': 'md5:abc'}}"), "= 'md5:abc': must be a digest sha256"),
    case("registry-bad", under("images", "{registry: 'https://Ghcr.io/My Org'}"), "images.registry = 'https://"),
    case("email-bad", under("edge", "{acme_email: not-an-email}"), "acme_email = 'not-an-email'"),
    case("domain-url", under("domain", "'https://ml.example.org/'"), "lowercase DNS name"),
    # Unknown keys
    case("unknown-top", under("domian", "ml.example.org"), "Did you mean 'domain'?"),
    case("unknown-edge", under("edge", "{replica: 2}"), "edge.replica: unknown key. Did you mean 'replicas'?"),
    case("unknown-server-key", server("      penrose: {envs: {A: b}}\n"), "Did you mean 'env'?"),
    # Values outside the allowed set
    case("enum-controller", under("edge", "{controller: traefik}"), "'nginx-ingress', 'gateway-api' or 'existing'"),
    case("enum-issuer", under("edge", "{issuer: prodution}"), "Did you mean 'production'?"),
    case("enum-dns", under("dns", "{provider: route53}"), "'godaddy', 'cloudflare' or 'http01-only'"),
    case("enum-rbac", under("toolhive", "{rbac_scope: clustr}"), "Did you mean 'cluster'?"),
    case("enum-environment", BASE.replace("environment: prod", "environment: production"), "Did you mean 'prod'?"),
    case("enum-auth", server("      penrose: {auth: oauth}\n"), "penrose.auth = 'oauth': must be 'none' or 'oidc'"),
    case("enum-jaeger", under("monitoring", "{jaeger_storage: cassandra}"), "must be 'badger' or 'memory'"),
    # Not YAML
    case("yaml-tab", "config:\n\tmcp-datascience:domain: ml.example.org\n", "line 2", "YAML indents with spaces"),
    case("yaml-open-quote", under("domain", '"ml.example.org'), "not valid YAML at line 11"),
    case("yaml-bad-indent", under("edge", "\n    replicas: 1\n   issuer: staging"), "not valid YAML at line 12"),
    case("yaml-colon-in-value", under("domain", "a: b"), "mapping values are not allowed here"),
    case("yaml-unknown-alias", under("domain", "*dom"), "undefined alias 'dom'"),
    case("yaml-open-flow", under("edge", "{replicas: 1"), "not valid YAML at line 11"),
    case("yaml-python-tag", under("domain", "!!python/object:os.system ls"), "could not determine a constructor"),
    case("yaml-empty", "", "DATAHUB_GMS_URL is required"),
    case("yaml-nul", under("domain", "a\x00b.example.org"), "line 10, column 28: character U+0000 is not allowed"),
    # Not UTF-8
    case("latin-1", under("domain", "caf\xe9.example.org").encode("latin-1"), "not UTF-8 text", "save it as UTF-8"),
    case("utf-16", BASE.encode("utf-16"), "not UTF-8 text"),
    case("binary", b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
]


def _write_stack(folder: Path, text: str | bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.prod.yaml").write_bytes(text.encode() if isinstance(text, str) else text)


def _call(main: Callable[..., int], argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse exits from inside parse_args
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def assert_config_error(err: str, says: tuple[str, ...], secrets: tuple[str, ...]) -> None:
    """One `mcpds: error:` block: a one-line stack-file problem, or the config problems,
    one line each, between the header and the line that says how to fix keys."""
    assert err.startswith(PREFIX), err
    lines = err.rstrip("\n").split("\n")
    if len(lines) > 1:
        assert re.match(rf"{re.escape(PREFIX)}Invalid configuration for stack 'prod' \(\d+ problems?\):$", lines[0])
        assert lines[-1].startswith("Fix the keys in Pulumi.prod.yaml"), lines
        assert all(line.startswith("  - ") for line in lines[1:-1]), lines
        assert not [line for line in lines if re.match(r"  - mcp-datascience:\S*: mcp-datascience:", line)]
        assert len(lines) - 2 == int(re.search(r"\((\d+) problem", lines[0]).group(1))
    for fragment in says:
        assert fragment in err, (fragment, err)
    assert_words_only(err, secrets)


@pytest.mark.parametrize("bad", STACK_CASES, ids=[c.id for c in STACK_CASES])
@pytest.mark.parametrize("entry", ["render", "policy"])
def test_a_bad_stack_file_is_one_clear_error(bad, entry, tmp_path, monkeypatch, capsys):
    """`make render` / `make policy` on the stack file, in this process (the commands as
    subprocesses: test_make_on_a_bad_stack_file_prints_the_same)."""
    stacks, out = tmp_path / "stacks", tmp_path / "out"
    _write_stack(stacks, bad.text)
    out.mkdir()
    monkeypatch.setenv(STACK_DIR_ENV, str(stacks))
    if entry == "render":
        code, stdout, err = _call(render.main, ["--stack", "prod", "--out", str(out)], capsys)
    else:
        code, stdout, err = _call(policy_run.main, ["--stack", "prod"], capsys)
    assert (code, stdout) == (2, "")
    assert_config_error(err, bad.says, bad.secrets)
    assert list(out.iterdir()) == []  # nothing written
    assert sorted(p.name for p in stacks.iterdir()) == ["Pulumi.prod.yaml"]


# `mcpds images` reads stack files with the round-trip reader of `seal --write`: the same
# mistakes are refused there, one line each (the config ones through the same model).
IMAGES_CASES = [c for c in STACK_CASES if c.id.startswith(("yaml-", "latin", "utf", "binary", "dup-", "sealed-"))]


@pytest.mark.parametrize("bad", IMAGES_CASES, ids=[c.id for c in IMAGES_CASES])
def test_mcpds_images_refuses_a_bad_stack_file_in_one_error(bad, tmp_path, capsys):
    _write_stack(tmp_path, bad.text)
    before = _snapshot(tmp_path)
    code, stdout, err = _call(cli.main, ["images", "--stack", "prod", "--project-dir", str(tmp_path)], capsys)
    assert (code, stdout) == (2, "")
    assert_config_error(err, bad.says, bad.secrets)
    assert _snapshot(tmp_path) == before


# ---------------------------------------------------------------------------
# Command lines
# ---------------------------------------------------------------------------


def _image_matrix_main() -> Callable[[list[str]], int]:
    path = PROJECT_ROOT / ".github" / "scripts" / "image_matrix.py"
    spec = importlib.util.spec_from_file_location("image_matrix", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@dataclass(frozen=True)
class CliCase:
    id: str
    main: Callable[..., int]
    argv: tuple[str, ...]  # {ws} is the case's own directory
    says: tuple[str, ...]
    stdin: str = ""
    secrets: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def cmd(id: str, main: Callable[..., int], argv: str, *says: str, **kw: object) -> CliCase:
    return CliCase(id, main, tuple(argv.split()), says, **kw)  # type: ignore[arg-type]


M, SEAL = cli.main, "seal --cert {ws}/seal.crt --namespace cert-manager --key token"
OUTS = "--outputs {ws}/outputs.json"
CLI_CASES = [
    # python -m mcpds
    cmd("mcpds", M, "", "name a command (client-config, verify, seal, images)"),
    cmd("mcpds-command-misspelt", M, "verfy", "'verfy' is not a command. Did you mean verify?"),
    cmd("mcpds-command-underscore", M, "client_config", "Did you mean client-config?"),
    cmd("mcpds-flag-first", M, "--verbose", "--verbose is not a flag of python -m mcpds: name a command first"),
    cmd("cc-flag-misspelt", M, "client-config --outptus x.json", "--outptus is not a flag", "Did you mean --outputs?"),
    cmd("cc-no-source", M, "client-config", "needs --outputs FILE or --stack NAME: pass one"),
    cmd("cc-outputs-missing", M, "client-config --outputs {ws}/nope.json", "does not exist: write it with"),
    cmd("cc-outputs-not-json", M, "client-config --outputs {ws}/seal.crt", "is not JSON", "pulumi stack output"),
    cmd("cc-outputs-dir", M, "client-config --outputs {ws}", "is a directory: pass the JSON file"),
    cmd("cc-outputs-foreign", M, "client-config --outputs {ws}/empty.json", "missing output(s) base_url"),
    cmd("cc-out-unwritable", M, f"client-config {OUTS} --out /proc/mcpds-x", "pass --out with a directory you"),
    cmd("cc-out-file", M, f"client-config {OUTS} --out {{ws}}/outputs.json", "--out", "is a file"),
    cmd("cc-clients", M, f"client-config {OUTS} --clients vscod", "unknown vscod", "claude-desktop, connectors"),
    cmd("cc-base-url", M, f"client-config {OUTS} --base-url example.com", "--base-url 'example.com': must be"),
    cmd("cc-stray", M, f"client-config {OUTS} stray", "unexpected argument 'stray'"),
    cmd("cc-no-pulumi", M, "client-config --stack dev", "pulumi CLI is not on PATH", env={"PATH": "{ws}"}),
    cmd("verify-flag-misspelt", M, f"verify {OUTS} --ca-bundel ca.pem", "Did you mean --ca-bundle?"),
    cmd("verify-timeout-text", M, f"verify {OUTS} --timeout soon", "--timeout 'soon' is not a number", "15.0"),
    cmd("verify-timeout-negative", M, f"verify {OUTS} --timeout -1", "must be a positive number of seconds"),
    cmd("verify-timeout-inf", M, f"verify {OUTS} --timeout inf", "must be a positive number of seconds"),
    cmd("verify-trace-wait-text", M, f"verify {OUTS} --trace-wait long", "--trace-wait 'long' is not a number"),
    cmd("verify-no-value", M, "verify --outputs", "--outputs needs a value: --outputs FILE"),
    cmd("verify-both-sources", M, f"verify {OUTS} --stack b", "exclude each other", "pass only one"),
    cmd("verify-flag-with-value", M, f"verify {OUTS} --no-probe-plan=yes", "--no-probe-plan takes no value"),
    cmd("verify-ca-missing", M, f"verify {OUTS} --ca-bundle {{ws}}/nope.pem", "--ca-bundle", "no such file"),
    cmd("verify-ca-not-pem", M, f"verify {OUTS} --ca-bundle {{ws}}/empty.json", "BEGIN CERTIFICATE"),
    cmd("verify-routes", M, f"verify {OUTS} --routes pandsa", "no route named pandsa (routes: "),
    cmd("verify-prometheus", M, f"verify {OUTS} --prometheus localhost:9090", "must be a URL such as http://"),
    cmd("verify-token-env-token", M, f"verify {OUTS} --token-env {GHP}", "--token-env [secret]", secrets=(GHP,)),
    cmd("verify-json-no-dir", M, f"verify {OUTS} --json /nonexistent/v.json", "directory /nonexistent does not"),
    cmd("verify-json-dir", M, f"verify {OUTS} --json {{ws}}", "is a directory: name a file"),
    cmd("seal-nothing", M, "seal", "needs --cert FILE (controller certificate", "--key KEY", "add them"),
    cmd("seal-flag-misspelt", M, "seal --cert c.pem --namspace x", "--namspace", "Did you mean --namespace?"),
    cmd("seal-cert-missing", M, "seal --cert {ws}/no.crt --namespace n --name x --key k", "kubeseal --fetch-cert"),
    cmd("seal-cert-not-pem", M, "seal --cert {ws}/empty.json --namespace n --name x --key k", "is not PEM"),
    cmd("seal-namespace", M, "seal --cert {ws}/seal.crt --namespace Cert_M --name x --key k", "lowercase DNS label"),
    cmd("seal-scope", M, f"{SEAL} --name x --scope strikt", "'strikt' is not a value of --scope", "strict?"),
    cmd("seal-write-no-stack", M, f"{SEAL} --name x --write", "--write needs --stack"),
    cmd("seal-empty-stdin", M, f"{SEAL} --name x", "the value from stdin is empty"),
    cmd("seal-env-unset", M, f"{SEAL} --name x --from-env MCPDS_NOT_SET", "MCPDS_NOT_SET is not set"),
    cmd("seal-env-name-token", M, f"{SEAL} --name x --from-env {GHP}", "--from-env", secrets=(GHP,)),
    cmd(
        "seal-wrong-secret",
        M,
        f"{SEAL} --name wrong --id godaddy-api-key --stack prod --write --project-dir {{ws}}",
        "pass --namespace cert-manager --name godaddy-api-key",
        stdin=PAIR,
        secrets=(PAIR,),
    ),
    cmd("seal-no-stack-file", M, f"{SEAL} --name x --stack qa --write --project-dir {{ws}}", "Pulumi.qa.yaml"),
    cmd("images-no-stack", M, "images", "needs --stack STACK", "add it"),
    cmd("images-flag-misspelt", M, "images --stak dev", "Did you mean --stack?"),
    cmd("images-unknown-stack", M, "images --stack qa --project-dir {ws}", "no stack file", "pulumi stack init qa"),
    cmd(
        "images-bad-lines",
        M,
        "images --stack prod --write --project-dir {ws}",
        "expected `<image reference> <dig",
        stdin="not a digest line\n",
    ),
    cmd("images-all-and-write", M, "images --stack prod --write --all --project-dir {ws}", "use one"),
    # python -m offline.*
    cmd("render-flag-misspelt", render.main, "--stak dev", "--stak is not a flag", "Did you mean --stack?"),
    cmd("render-no-value", render.main, "--stack", "--stack needs a value"),
    cmd("render-stack-path", render.main, "--stack ../dev", "is not a stack name"),
    cmd("render-stack-unknown", render.main, "--stack qa", "No stack file Pulumi.qa.yaml", "stacks present"),
    cmd("render-out-file", render.main, "--out {ws}/outputs.json", "is a file, not a directory"),
    cmd("render-root-missing", render.main, "--root /nonexistent", "--root /nonexistent is not a directory"),
    cmd("render-positional", render.main, "dev", "unexpected argument 'dev'", "takes flags"),
    cmd("policy-flag-misspelt", policy_run.main, "--confg x", "Did you mean --config?"),
    cmd("policy-config-missing", policy_run.main, "--config {ws}/nope.json", "no policy config file"),
    cmd("policy-config-not-json", policy_run.main, "--config {ws}/seal.crt", "is not valid JSON"),
    cmd("policy-config-unknown", policy_run.main, "--config {ws}/policy.json", "no policy of that name"),
    cmd("bench-runs-text", bench.main, "--runs many", "--runs 'many' is not a whole number of 1 or more"),
    cmd("bench-runs-zero", bench.main, "--runs 0", "--runs '0' is not a whole number of 1 or more"),
    cmd("bench-servers-text", bench.main, "--servers a,b", "--servers 'a,b' is not two or more server counts"),
    cmd("bench-servers-one", bench.main, "--servers 5", "pass them as 0,50,100"),
    cmd("bench-flag-misspelt", bench.main, "--instrutions", "Did you mean --instructions?"),
    cmd("images-registry-flag", images.main, "--registy x", "Did you mean --registry?"),
    cmd("images-registry-bad", images.main, "--registry https://Bad", "--registry 'https://Bad' must be a registry"),
    cmd("images-no-engine", images.main, "--stack dev", "no container engine", env={"PATH": "{ws}"}),
    cmd("crds-flag-misspelt", crds.main, "--ot y", "Did you mean --out?"),
    cmd("crds-archives-missing", crds.main, "--archives /nonexistent", "is not a directory"),
    cmd("crds-helm-unwritable", crds.main, "--install-helm /proc/mcpds-x/helm", "pass --install-helm with a path"),
    cmd("flat-nothing", flat.main, "", "needs --input FILE", "--out DIR"),
    cmd("flat-flag-misspelt", flat.main, "--inptu x --out y", "Did you mean --input?"),
    cmd("flat-input-missing", flat.main, "--input {ws}/nope.json --out {ws}/flat", "--input", "no such file"),
    cmd("prereqs-argument", prereqs.main, "--fix", "unexpected argument '--fix'", "takes no arguments"),
    cmd("checklist-nothing", checklist.main, "", "needs DIR"),
    cmd("checklist-two", checklist.main, "a b", "unexpected argument 'b'", "takes DIR"),
    cmd("checklist-unwritable", checklist.main, "/proc/mcpds-x", "pass DIR with a directory you can write"),
    cmd("image-matrix-argument", _image_matrix_main(), "--all", "--all is not a flag", "takes no arguments"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, fixture_dev) -> Path:
    """Inputs the commands are pointed at, made once: stack outputs, a sealing certificate,
    files that are not what a flag wants, and copies of the fixture stacks."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "outputs.json").write_text(json.dumps(render.stack_outputs(fixture_dev)))
    (folder / "empty.json").write_text("{}\n")
    (folder / "policy.json").write_text('{"not-a-policy": {"enforcementLevel": "advisory"}}\n')
    self_signed_rsa(folder, "seal", "corpus test key", "corpus").key.unlink()
    for stack in ("dev", "prod"):
        shutil.copy(FIXTURE_STACKS / f"Pulumi.{stack}.yaml", folder)
    return folder


@pytest.fixture
def workspace(inputs: Path, tmp_path: Path) -> Path:
    """A fresh copy of `inputs` per case, so that what one case writes no other sees."""
    shutil.copytree(inputs, tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.mark.parametrize("bad", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_command_line_misuse_is_one_line_naming_the_fix(bad, workspace, monkeypatch, capsys):
    argv = [a.replace("{ws}", str(workspace)) for a in bad.argv]
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value.replace("{ws}", str(workspace)))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bad.stdin.encode())))
    monkeypatch.setenv(STACK_DIR_ENV, str(workspace))  # commands without --stack read the fixture copies
    monkeypatch.chdir(workspace)  # nothing lands in the repository if a command writes anyway
    before = _snapshot(workspace)
    code, stdout, err = _call(bad.main, argv, capsys)
    assert (code, stdout) == (2, ""), (code, stdout, err)
    assert err.startswith(PREFIX), err
    assert err.count("\n") == 1, err
    for fragment in bad.says:
        assert fragment in err, (fragment, err)
    assert "usage:" not in err
    assert_words_only(err, bad.secrets)
    assert _snapshot(workspace) == before  # nothing written, nothing changed


def test_every_case_has_an_id_of_its_own():
    assert len({c.id for c in STACK_CASES}) == len(STACK_CASES)
    assert len({c.id for c in CLI_CASES}) == len(CLI_CASES)


# ---------------------------------------------------------------------------
# As users run them: make, and python -m
# ---------------------------------------------------------------------------

MAKE_CASES = [(["render", "STACK=prod"], "ns-datasience"), (["policy", "STACK=prod"], "sealed-plaintext-pair")]


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    """`make` as a user types it: not as a child of the `make test` running this suite,
    whose job server (MAKEFLAGS) would make it warn on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", "-s", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.mark.parametrize(("target", "case_id"), MAKE_CASES, ids=[f"{t[0]}-{c}" for t, c in MAKE_CASES])
def test_make_on_a_bad_stack_file_prints_the_same(target, case_id, tmp_path):
    bad = next(c for c in STACK_CASES if c.id == case_id)
    _write_stack(tmp_path, bad.text)
    proc = _make(*target, f"MCPDS_STACK_DIR={tmp_path}")
    assert proc.returncode == 2
    assert proc.stdout == ""
    # make's own line naming the failed target (make[1] when run from make test)
    err = "".join(
        line for line in proc.stderr.splitlines(keepends=True) if not re.match(r"make(\[\d+\])?: \*\*\*", line)
    )
    assert_config_error(err, bad.says, bad.secrets)


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "mcpds", "client-config", "--outptus", "x"],
        ["-m", "offline.render", "--stak", "dev"],
        ["-m", "offline.policy_run", "--stak", "dev"],
        ["-m", "tests.checklist"],
    ],
    ids=lambda argv: argv[1],
)
def test_python_m_prints_one_line(argv):
    proc = subprocess.run(
        [sys.executable, *argv], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(PREFIX), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert_words_only(proc.stderr, ())


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["verify", "--help"])
    assert caught.value.code == 0
    assert "--ca-bundle" in capsys.readouterr().out


def test_make_images_passes_a_registry_with_a_space_whole():
    """`make images REGISTRY='...'` hands the value over as one argument, refused in words."""
    proc = _make("images", "REGISTRY=Bad Registry")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(f"{PREFIX}--registry 'Bad Registry' must be a registry and path"), proc.stderr
