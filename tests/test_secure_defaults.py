"""Secure defaults the program enforces before the policy pack sees anything, in every
environment: code-executing servers only behind authentication, no literal credential in
a server's env or args, and no upstream URL its egress cannot reach."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components import netpol
from components.config import ConfigError, NetworkConfig
from components.plan import UNAUTHENTICATED_CODE, build_plan
from components.stack_config import parse_config
from tests.stackconfig import base_config

GMS = "https://datahub.example.com/api/gms"
# A custom server that runs the caller's code (the shape of a notebook-style server).
NOTEBOOK = {
    "image": "registry.example.com/team/notebook:1.0.0",
    "transport": "streamable-http",
    "proxy_port": 8010,
    "mcp_port": 8000,
    "stateless": False,
    "tools": ("run_cell", "list_files"),
    "code_tools": ("run_cell",),
    "path": "/notebook",
}


def config(environment: str = "dev", oidc: bool = False, **mcp: Any) -> dict[str, Any]:
    """A deployable config for `environment`; dev-like (no OIDC issuer) unless `oidc`."""
    raw = base_config()
    raw["environment"] = environment
    if not oidc:
        del raw["mcp"]["oidc"]
        raw["mcp"]["servers"] = {"datahub": {"env": {"DATAHUB_GMS_URL": GMS}}}
    for key, value in mcp.items():
        raw["mcp"][key] = value
    return raw


def servers(raw: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw["mcp"]["servers"])
    out.setdefault(name, {}).update(fields)
    return out


def refused(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, stack=raw["environment"])
    return str(caught.value)


# ---------------------------------------------------------------------------
# Code execution: never published without authentication
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_without_an_issuer_a_code_executing_server_is_not_published(environment):
    plan = build_plan(parse_config(config(environment), stack=environment))
    explorer = plan.server("data-exploration")
    assert explorer.route is None
    assert not explorer.auth
    assert "/data-explorer" not in {r.path for r in plan.routes}
    assert plan.withheld == (("data-exploration", UNAUTHENTICATED_CODE),)
    # The other servers are published as usual.
    assert {"/huggingface", "/pandas", "/penrose", "/gov-data"} <= {r.path for r in plan.routes}


def test_with_an_issuer_a_code_executing_server_defaults_to_oidc():
    raw = config("dev", oidc=True)
    raw["mcp"]["servers"] = {"datahub": {"env": {"DATAHUB_GMS_URL": GMS}}}  # no auth key at all
    plan = build_plan(parse_config(raw, stack="dev"))
    explorer = plan.server("data-exploration")
    assert explorer.auth
    assert explorer.route is not None
    assert explorer.route.requires_auth
    assert plan.withheld == ()
    assert not plan.server("pandas").auth  # its code tool is off: no reason to change it


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_publishing_code_execution_without_auth_is_refused_in_every_environment(environment):
    raw = config(environment)
    raw["mcp"]["servers"] = servers(raw, "data-exploration", publish=True)
    message = refused(raw)
    assert "mcp-datascience:mcp.servers.data-exploration: runs caller-supplied code (run_script)" in message
    assert "without authentication, which no environment allows" in message


def test_auth_none_on_a_code_executing_server_leaves_it_unpublished():
    raw = config("dev", oidc=True)
    raw["mcp"]["servers"] = servers(raw, "data-exploration", auth="none")
    plan = build_plan(parse_config(raw, stack="dev"))
    assert plan.server("data-exploration").route is None
    assert [name for name, _ in plan.withheld] == ["data-exploration"]


def test_turning_a_code_tool_on_without_an_issuer_unpublishes_that_server():
    raw = config("dev")
    raw["mcp"]["servers"] = servers(raw, "pandas", disabled_tools=[])
    plan = build_plan(parse_config(raw, stack="dev"))
    assert plan.server("pandas").route is None
    assert {name for name, _ in plan.withheld} == {"data-exploration", "pandas"}


def test_a_custom_code_executing_server_follows_the_same_default():
    plan = build_plan(parse_config(config("dev", custom_servers={"notebook": NOTEBOOK}), stack="dev"))
    assert plan.server("notebook").route is None
    with_issuer = build_plan(parse_config(config("dev", oidc=True, custom_servers={"notebook": NOTEBOOK}), "dev"))
    assert with_issuer.server("notebook").auth
    assert with_issuer.server("notebook").route is not None


def test_a_group_with_a_code_executing_member_is_published_only_behind_auth():
    member = {**NOTEBOOK, "group": "gov-data", "path": None}
    plan = build_plan(parse_config(config("dev", custom_servers={"notebook": member}), stack="dev"))
    [group] = plan.groups
    assert group.route is None
    assert ("gov-data", UNAUTHENTICATED_CODE) in plan.withheld
    with_issuer = build_plan(parse_config(config("dev", oidc=True, custom_servers={"notebook": member}), "dev"))
    assert with_issuer.groups[0].auth
    assert with_issuer.groups[0].route is not None
    explicit = config("dev", oidc=True, custom_servers={"notebook": member}, groups={"gov-data": {"auth": "none"}})
    message = refused(explicit)
    assert "mcp-datascience:mcp.groups.gov-data.auth is 'none' but a member runs caller-supplied code" in message


def test_every_shipped_stack_publishes_code_execution_only_behind_oidc(stack_runs):
    """Holds for any valid stack file: config validation enforces it."""
    for stack, run in stack_runs.items():
        routed = {o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] for o in _ingresses(run)}
        for server in (o for o in run.objects() if o["kind"] == "MCPServer"):
            name = server["metadata"]["name"]
            declared = server["metadata"]["annotations"]["mcp-datascience.finetunings.ai/executes-code"]
            if declared == "true" and f"mcp-{name}-proxy" in routed:
                assert server["spec"]["oidcConfigRef"]["name"] == "mcp-oidc", (stack, name)


def test_dev_render_says_what_it_left_unpublished(run):
    result = run("dev", **{"mcp.oidc": None, "mcp.servers.data-exploration": {}})
    warnings = [m for level, m in result.logs if level == "warning" and "caller-supplied code" in m]
    assert warnings == [f"MCP server data-exploration {UNAUTHENTICATED_CODE}"]
    assert "/data-explorer" not in {r["path"] for r in result.outputs["mcp_routes"]}


def _ingresses(run) -> list[dict[str, Any]]:
    return [o for o in run.objects() if o["kind"] == "Ingress" and o["spec"]["rules"][0].get("http")]


# ---------------------------------------------------------------------------
# Literal credentials
# ---------------------------------------------------------------------------

HF_TOKEN = "hf_" + "A1b2C3d4" * 5


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"DATAHUB_GMS_TOKEN": "eyJhbGciOi-literal"}, "env.DATAHUB_GMS_TOKEN: DATAHUB_GMS_TOKEN is a credential name"),
        (
            {"EXTRA_HEADER": f"Bearer {HF_TOKEN}"},
            "env.EXTRA_HEADER: the value of EXTRA_HEADER looks like a Hugging Face",
        ),
        (
            {"DATAHUB_GMS_URL": "https://svc:s3cr3t@datahub.example.com/api/gms"},
            "env.DATAHUB_GMS_URL: the value of DATAHUB_GMS_URL looks like a URL with a password",
        ),
    ],
    ids=["credential-name", "token-shape", "url-password"],
)
def test_a_literal_credential_in_server_env_is_refused(environment, env, fragment):
    raw = config(environment, oidc=environment == "prod")
    raw["mcp"]["servers"] = servers(raw, "datahub", env={"DATAHUB_GMS_URL": GMS, **env})
    message = refused(raw)
    assert f"mcp-datascience:mcp.servers.datahub.{fragment}" in message
    assert "provide it through the secrets layer" in message
    for value in env.values():
        assert value not in message  # never repeated
    assert HF_TOKEN not in message
    assert "s3cr3t" not in message


def test_a_custom_server_credential_in_env_or_args_is_refused():
    custom = {**NOTEBOOK, "code_tools": (), "env": {"OPENAI_API_KEY": "sk-literal-value-here-0123456789"}}
    message = refused(config("dev", custom_servers={"notebook": custom}))
    assert "mcp-datascience:mcp.custom_servers.notebook.env.OPENAI_API_KEY: OPENAI_API_KEY is a credential name" in (
        message
    )
    custom = {**NOTEBOOK, "code_tools": (), "args": ("serve", "--api-key=abc123")}
    message = refused(config("dev", custom_servers={"notebook": custom}))
    assert "mcp-datascience:mcp.custom_servers.notebook.args[1]: api-key is a credential name" in message
    assert "abc123" not in message


def test_settings_that_only_mention_a_credential_are_accepted():
    raw = config("dev")
    env = {"DATAHUB_GMS_URL": GMS, "TOOL_RESPONSE_TOKEN_LIMIT": "80000", "ENTITY_SCHEMA_TOKEN_BUDGET": "16000"}
    raw["mcp"]["servers"] = servers(raw, "datahub", env=env)
    plan = build_plan(parse_config(raw, stack="dev"))
    assert plan.server("datahub").env["TOOL_RESPONSE_TOKEN_LIMIT"] == "80000"


# ---------------------------------------------------------------------------
# Upstream URLs the egress must reach
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (
            "http://datahub-gms.datahub.svc.cluster.local:8080",
            "calls datahub-gms.datahub.svc.cluster.local:8080, an in-cluster or private name, which its egress does "
            "not reach (only public addresses on 443); add mcp-datascience:mcp.servers.datahub.egress_rules: "
            "[{cidr: <the addresses behind datahub-gms.datahub.svc.cluster.local>, ports: [8080]}]",
        ),
        (
            "https://10.1.2.3/api/gms",
            "calls 10.1.2.3:443, a private address, which its egress does not reach (only public addresses on 443); "
            "add mcp-datascience:mcp.servers.datahub.egress_rules: [{cidr: 10.1.2.3/32, ports: [443]}]",
        ),
        ("https://datahub.example.com:8443/api/gms", "calls datahub.example.com:8443, a public name"),
        ("http://datahub.example.com/api/gms", "calls datahub.example.com:80, a public name"),
        ("https://gms.corp/api/gms", "calls gms.corp:443, an in-cluster or private name"),
    ],
    ids=["in-cluster", "private-ip", "public-other-port", "plain-http", "private-zone"],
)
def test_an_upstream_its_egress_cannot_reach_names_the_egress_setting(url, fragment):
    raw = config("dev")
    raw["mcp"]["servers"] = servers(raw, "datahub", env={"DATAHUB_GMS_URL": url})
    message = refused(raw)
    assert f"mcp-datascience:mcp.servers.datahub.env.DATAHUB_GMS_URL: datahub {fragment}" in message


@pytest.mark.parametrize(
    ("url", "rules"),
    [
        ("https://datahub.example.com/api/gms", []),
        ("http://datahub-gms.datahub.svc.cluster.local:8080", [{"cidr": "10.244.0.0/16", "ports": [8080]}]),
        ("https://10.1.2.3/api/gms", [{"cidr": "10.1.0.0/16", "ports": [443]}]),
    ],
    ids=["public-https", "in-cluster-with-rule", "private-ip-with-rule"],
)
def test_an_upstream_its_egress_reaches_is_accepted(url, rules):
    raw = config("dev")
    raw["mcp"]["servers"] = servers(raw, "datahub", env={"DATAHUB_GMS_URL": url}, egress_rules=rules)
    plan = build_plan(parse_config(raw, stack="dev"))
    assert [r.cidr for r in plan.server("datahub").egress_rules] == [r["cidr"] for r in rules]


def test_a_rule_for_another_address_or_port_does_not_count():
    raw = config("dev")
    wrong = [{"cidr": "192.168.0.0/16", "ports": [443]}, {"cidr": "10.1.0.0/16", "ports": [8443]}]
    raw["mcp"]["servers"] = servers(raw, "datahub", env={"DATAHUB_GMS_URL": "https://10.1.2.3/"}, egress_rules=wrong)
    assert "calls 10.1.2.3:443, a private address" in refused(raw)


# ---------------------------------------------------------------------------
# Code execution: no public egress
# ---------------------------------------------------------------------------


def test_a_code_executing_server_gets_no_public_egress():
    public = {**NOTEBOOK, "egress_hosts": ("pypi.org",)}
    message = refused(config("dev", custom_servers={"notebook": public}))
    assert "mcp-datascience:mcp.custom_servers.notebook: runs caller-supplied code, so it gets no internet egress" in (
        message
    )
    rule = {**NOTEBOOK, "egress_rules": ({"cidr": "203.0.113.0/24", "ports": (443,)},)}
    assert "notebook.egress_rules: 203.0.113.0/24 is public" in refused(
        config("dev", custom_servers={"notebook": rule})
    )
    private = {**NOTEBOOK, "egress_rules": ({"cidr": "10.20.0.0/16", "ports": (5432,)},)}
    plan = build_plan(parse_config(config("dev", custom_servers={"notebook": private}), stack="dev"))
    assert plan.server("notebook").egress_rules[0].cidr == "10.20.0.0/16"


# ---------------------------------------------------------------------------
# Webhooks: the API server's addresses, never the internet
# ---------------------------------------------------------------------------


def test_webhooks_admit_the_api_server_addresses_or_private_ranges_never_the_internet():
    unset = [p["ipBlock"]["cidr"] for p in netpol.from_api_server(NetworkConfig())]
    assert unset == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]  # link-local left out
    named = netpol.from_api_server(NetworkConfig(api_server_cidrs=("10.0.0.10/32",)))
    assert named == [{"ipBlock": {"cidr": "10.0.0.10/32"}}]
