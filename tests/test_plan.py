"""The MCP plan and its config: overrides, user-defined servers, and what is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components import versions
from components.catalog import CATALOG, GROUPS
from components.config_errors import ConfigError
from components.contracts import CredentialSpec, SecretRef
from components.mcp_servers import mcpserver_spec
from components.plan import build_plan
from components.stack_config import parse_config
from tests.stackconfig import base_config


def cfg(**mcp: Any):
    raw = base_config()
    for key, value in mcp.items():
        raw["mcp"][key] = value
    return parse_config(raw, stack="prod")


def with_server(name: str, **fields: Any) -> dict[str, Any]:
    servers = copy.deepcopy(base_config()["mcp"]["servers"])
    servers.setdefault(name, {}).update(fields)
    return servers


def rejected(raw_mcp: dict[str, Any], environment: str = "prod") -> str:
    raw = base_config()
    raw["environment"] = environment
    raw["mcp"].update(raw_mcp)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, stack=environment)
    return str(caught.value)


# ---------------------------------------------------------------------------
# The catalog itself
# ---------------------------------------------------------------------------


def test_catalog_servers_build_pinned_images():
    for name, spec in CATALOG.items():
        assert spec.built_image in versions.SERVER_IMAGES, name
        image = versions.SERVER_IMAGES[spec.built_image]
        assert image.tag != "latest"
        assert image.upstream, name


def test_group_members_are_catalog_servers_of_that_group():
    for name, group in GROUPS.items():
        for member in group.members:
            assert CATALOG[member].group == name


def test_plan_routes_targets_and_credentials():
    plan = build_plan(cfg())
    assert len(plan.servers) == 9
    assert [r.path for r in plan.routes] == [
        "/data-explorer",
        "/datahub",
        "/dataset-viewer",
        "/gov-data",
        "/huggingface",
        "/pandas",
        "/penrose",
    ]
    penrose = next(r for r in plan.routes if r.name == "penrose")
    assert penrose.extra_paths == ("/outputs/",)
    assert {r.name: r.executes_code for r in plan.routes}["data-exploration"] is True
    assert len(plan.scrape_targets) == 10  # nine proxies and the vMCP
    assert plan.credentials == (
        CredentialSpec(
            id="hf-token",
            namespace="data-science",
            secret_name="hf-token",
            keys=("token",),
            purpose="Hugging Face token for private or gated datasets (Dataset Viewer)",
            required=False,
        ),
    )


def test_penrose_learns_its_public_url():
    plan = build_plan(cfg())
    assert plan.server("penrose").env["PUBLIC_BASE_URL"] == "https://finetunings.ai/penrose"


def test_datahub_egress_follows_its_gms_url():
    plan = build_plan(cfg())
    assert plan.server("datahub").egress_hosts == ("datahub.example.com",)


# ---------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------


def test_disabling_a_server_removes_all_its_objects(run):
    result = run("prod", **{"mcp.servers.huggingface.enabled": False})
    leftovers = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in result.objects()
        if "huggingface" in str(o["metadata"]["name"]) or "huggingface" in str(o.get("spec", ""))
    ]
    assert leftovers == []
    assert "huggingface" not in {r["name"] for r in result.outputs["mcp_routes"]}


def test_disabling_every_member_removes_the_group(run):
    result = run(
        "prod",
        **{f"mcp.servers.{m}.enabled": False for m in GROUPS["gov-data"].members},
    )
    kinds = {o["kind"] for o in result.objects()}
    assert "VirtualMCPServer" not in kinds
    assert "MCPGroup" not in kinds
    assert "gov-data" not in {r["name"] for r in result.outputs["mcp_routes"]}


def test_unaggregated_group_publishes_each_member():
    plan = build_plan(cfg(groups={"gov-data": {"aggregate": False}}))
    assert plan.groups == ()
    paths = {r.name: r.path for r in plan.routes}
    assert paths["datagov"] == "/gov-data/datagov"
    assert paths["nasa-cmr"] == "/gov-data/nasa-cmr"
    assert all(s.group is None for s in plan.servers)


def test_a_user_defined_server_renders_like_a_catalog_one():
    treasury = CATALOG["treasury"].model_dump(exclude={"built_image", "group", "path"})
    custom = {**treasury, "image": "registry.example.com/team/treasury:0.1.11", "path": "/my-treasury"}
    plan = build_plan(cfg(custom_servers={"my-treasury": custom}))
    mine = mcpserver_spec(plan.server("my-treasury"), plan, {})
    catalog_plan = build_plan(cfg(groups={"gov-data": {"aggregate": False}}))
    theirs = mcpserver_spec(catalog_plan.server("treasury"), catalog_plan, {})

    def normalise(spec: dict[str, Any], name: str) -> str:
        return str(spec).replace(spec["image"], "<image>").replace(name, "<name>")

    assert normalise(mine, "my-treasury") == normalise(theirs, "treasury")
    assert mine["image"] == "registry.example.com/team/treasury:0.1.11"
    assert "my-treasury" in {r.name for r in plan.routes}


def test_secret_env_appears_only_when_the_secret_exists():
    plan = build_plan(cfg())
    viewer = plan.server("dataset-viewer")
    assert "secrets" not in mcpserver_spec(viewer, plan, {})
    ref = SecretRef("data-science", "hf-token", "token")
    assert mcpserver_spec(viewer, plan, {"hf-token/token": ref})["secrets"] == [
        {"name": "hf-token", "key": "token", "targetEnvName": "HUGGINGFACE_TOKEN"}
    ]


def test_code_execution_can_be_turned_on_behind_auth():
    plan = build_plan(
        cfg(
            servers=with_server(
                "pandas",
                disabled_tools=[],
                auth="oidc",
                env={"PANDAS_MCP_ENABLE_CODE_EXECUTION": "true"},
            )
        )
    )
    pandas = plan.server("pandas")
    assert pandas.spec.executes_code
    assert pandas.tool_config is None
    assert pandas.env["PANDAS_MCP_ENABLE_CODE_EXECUTION"] == "true"


def test_explicit_image_override_pins_a_mirror():
    digest = "sha256:" + "a" * 64
    plan = build_plan(cfg(servers=with_server("penrose", image=f"mirror.example.com/penrose-mcp:0.1.0@{digest}")))
    assert plan.server("penrose").image.endswith(digest)


# ---------------------------------------------------------------------------
# Rejections
# ---------------------------------------------------------------------------


def test_unknown_server_name_is_rejected_with_a_suggestion():
    message = rejected({"servers": {"hugingface": {"enabled": False}}})
    assert "mcp-datascience:mcp.servers.hugingface" in message
    assert "Did you mean 'huggingface'?" in message
    assert "mcp.custom_servers" in message


def test_bad_size_class_is_rejected():
    message = rejected({"servers": with_server("penrose", size="huge")})
    assert "mcp-datascience:mcp.servers.penrose.size = 'huge'" in message
    assert "'small', 'medium' or 'large'" in message


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_code_executing_server_published_without_auth_is_refused_everywhere(environment):
    message = rejected({"servers": with_server("data-exploration", auth="none", publish=True)}, environment)
    assert "mcp-datascience:mcp.servers.data-exploration: runs caller-supplied code (run_script)" in message
    assert "would be published at /data-explorer without authentication, which no environment allows" in message


def test_unpublished_code_executing_server_needs_no_auth():
    raw = base_config()
    raw["mcp"]["servers"]["data-exploration"] = {"publish": False}
    plan = build_plan(parse_config(raw, stack="prod"))
    assert plan.server("data-exploration").route is None


def test_oidc_without_an_issuer_is_refused():
    raw = base_config()
    del raw["mcp"]["oidc"]
    with pytest.raises(ConfigError, match=r"data-exploration.auth is 'oidc' but mcp-datascience:mcp.oidc"):
        parse_config(raw, stack="prod")


def test_oidc_in_front_of_a_caller_token_server_is_refused():
    message = rejected({"servers": with_server("huggingface", auth="oidc")})
    assert "mcp-datascience:mcp.servers.huggingface.auth" in message
    assert "caller's own token" in message


def test_autoscaling_a_stateful_server_is_refused():
    message = rejected({"servers": with_server("penrose", autoscale={"min_replicas": 2, "max_replicas": 3})})
    assert "mcp-datascience:mcp.servers.penrose.autoscale" in message
    assert "exactly one replica" in message


def test_route_collision_is_refused():
    message = rejected({"servers": with_server("pandas", path="/penrose")})
    assert "route /penrose of 'penrose' collides with 'pandas'" in message


def test_nested_routes_are_refused():
    message = rejected({"servers": with_server("pandas", path="/penrose/pandas")})
    assert "nested under route /penrose" in message


def test_missing_datahub_gms_url_is_refused():
    servers = with_server("datahub", env={})
    servers["datahub"] = {}
    message = rejected({"servers": servers})
    assert "mcp-datascience:mcp.servers.datahub.env.DATAHUB_GMS_URL is required" in message


CUSTOM = {"image": "registry.example.com/x:1.0.0", "transport": "stdio", "proxy_port": 9000, "stateless": False}


def test_custom_server_cannot_reuse_a_catalog_name():
    message = rejected({"custom_servers": {"penrose": CUSTOM}})
    assert "mcp-datascience:mcp.custom_servers.penrose: 'penrose' is already a catalog name" in message


def test_custom_server_must_pin_its_image():
    message = rejected({"custom_servers": {"mine": {**CUSTOM, "image": "registry.example.com/x:latest"}}})
    assert "mcp-datascience:mcp.custom_servers.mine.image = 'registry.example.com/x:latest'" in message
    assert "must not use the 'latest' tag" in message


def test_unknown_override_key_lists_the_allowed_ones():
    message = rejected({"servers": with_server("penrose", replicas=3)})
    assert "mcp-datascience:mcp.servers.penrose.replicas: unknown key" in message
    assert "autoscale" in message


def test_disabled_tool_must_exist():
    message = rejected({"servers": with_server("penrose", disabled_tools=["render"])})
    assert "disabled_tools ['render'] are not among the server's tools" in message
