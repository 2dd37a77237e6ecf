"""`client-config` from both shipped stacks' rendered outputs: formats, one entry per
route, real URLs, credentials only as placeholders; and the offline outputs.json."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from mcpds import cli, client_config
from mcpds.outputs import OIDC_TOKEN_ENV, caller_token_envs, parse
from offline import render
from offline.render import stack_outputs

PLANTED = "planted-secret-value-3b9d"  # in every token variable while configs are generated


@pytest.fixture(params=["dev", "prod"])
def generated(request, stack_runs, tmp_path, monkeypatch):
    """Run the CLI on the stack's outputs.json, as `make clients` does after `make render`."""
    for var in (OIDC_TOKEN_ENV, *caller_token_envs()):
        monkeypatch.setenv(var, PLANTED)
        monkeypatch.setenv(f"{var}_HEADER", PLANTED)  # Claude Desktop's header variables too
    run = stack_runs[request.param]
    # The render's own writer, on the session's run (render.main is tested below).
    _, _, outputs_file = render.write_render(run, tmp_path / "render")
    out = tmp_path / "clients"
    assert cli.main(["client-config", "--outputs", str(outputs_file), "--out", str(out)]) == 0
    return run, out


def _routes(run) -> dict[str, str]:
    """name -> MCP URL, as the stack exports them."""
    return dict(run.outputs["mcp_urls"])


def test_outputs_json_is_the_stack_outputs(stack_runs, tmp_path):
    for stack, run in stack_runs.items():
        assert render.main(["--stack", stack, "--out", str(tmp_path)]) == 0
        written = json.loads((tmp_path / stack / "outputs.json").read_text())
        assert written == json.loads(json.dumps(stack_outputs(run)))
        assert {"base_url", "mcp_urls", "mcp_servers", "mcp_routes", "domain", "environment"} <= set(written)


def test_claude_desktop_config(generated):
    run, out = generated
    config = json.loads((out / "claude_desktop_config.json").read_text())
    servers = config["mcpServers"]
    assert set(servers) == set(_routes(run))
    for name, url in _routes(run).items():
        entry = servers[name]
        assert entry["command"] == "npx"
        assert entry["args"][:3] == ["-y", client_config.MCP_REMOTE, url]
        assert url.startswith(f"https://{run.outputs['domain']}/")
        headers = [entry["args"][i + 1] for i, a in enumerate(entry["args"]) if a == "--header"]
        for header in headers:
            assert re.fullmatch(r"Authorization:\$\{[A-Z_]+_HEADER\}", header)  # no spaces (Windows)
            var = header.split("${")[1].rstrip("}")
            assert entry["env"][var].startswith("Bearer <")
            assert entry["env"][var].endswith(">")
        assert len(headers) == len(entry.get("env", {}))  # a header exactly where a variable is set
    # huggingface and datahub take the caller's token in both stacks: the checks above ran.
    assert any("--header" in entry["args"] for entry in servers.values())


def test_vscode_mcp_json(generated):
    run, out = generated
    config = json.loads((out / ".vscode" / "mcp.json").read_text())
    assert set(config) == {"inputs", "servers"}
    assert set(config["servers"]) == set(_routes(run))
    input_ids = {i["id"] for i in config["inputs"]}
    assert input_ids, "the caller-token routes need at least one input"
    for i in config["inputs"]:
        assert i["type"] == "promptString"
        assert i["password"] is True
    for name, url in _routes(run).items():
        entry = config["servers"][name]
        assert entry["type"] == "http"
        assert entry["url"] == url
        for value in entry.get("headers", {}).values():
            ref = re.fullmatch(r"Bearer \$\{input:([a-z0-9-]+)\}", value)
            assert ref, value
            assert ref.group(1) in input_ids
        assert re.fullmatch(r"^[a-zA-Z][a-zA-Z0-9_-]*$", name)  # VS Code server-name pattern
    # Every declared input is used by a server's header (no stray prompts).
    used = {v.split("input:")[1].rstrip("}") for e in config["servers"].values() for v in e.get("headers", {}).values()}
    assert used == input_ids


def test_claude_code_lines(generated):
    run, out = generated
    lines = [line for line in (out / "claude-code.sh").read_text().splitlines() if line.startswith("claude ")]
    assert len(lines) == len(_routes(run))
    seen = {}
    for line in lines:
        argv = shlex.split(line)
        assert argv[:7] == ["claude", "mcp", "add", "--scope", "project", "--transport", "http"]
        name, url, *rest = argv[7:]
        seen[name] = url
        if rest:
            assert rest[0] == "--header"
            # Single-quoted in the script: the placeholder reaches .mcp.json unexpanded.
            assert re.fullmatch(r"Authorization: Bearer \$\{[A-Z_]+\}", rest[1])
    assert seen == _routes(run)
    assert any("--header" in shlex.split(line) for line in lines)  # the header branch above ran


def test_connectors_list(generated):
    run, out = generated
    text = (out / "connectors.md").read_text()
    for name, url in _routes(run).items():
        assert f"| {name} | {url} |" in text


def test_headers_only_where_a_credential_is_needed(stack_runs, fixture_runs):
    for stack, run in stack_runs.items():
        outputs = parse(stack_outputs(run), stack)
        desktop = client_config.claude_desktop(outputs)["mcpServers"]
        vscode = client_config.vscode(outputs)["servers"]
        for route in outputs.routes:
            needs = route.auth or route.name in ("huggingface", "datahub")
            assert ("env" in desktop[route.name]) == needs, (stack, route.name)
            assert ("headers" in vscode[route.name]) == needs, (stack, route.name)
    # The fixture prod puts OIDC in front of data-exploration: its clients send the OIDC token.
    prod = parse(stack_outputs(fixture_runs["prod"]), "prod")
    assert prod.route("data-exploration").token_env == "MCP_TOKEN"
    # The fixture dev has no OIDC issuer, so it does not publish the code-executing server at all.
    dev = parse(stack_outputs(fixture_runs["dev"]), "dev")
    assert "data-exploration" not in {r.name for r in dev.routes}


def test_a_group_behind_oidc_asks_for_a_token(run):
    """Groups have no per-server entry: the route's exported `requires_auth` carries it."""
    prod = parse(stack_outputs(run("prod", {"mcp.groups": {"gov-data": {"auth": "oidc"}}})), "prod")
    group = prod.route("gov-data")
    assert group.auth
    assert group.token_env == "MCP_TOKEN"
    assert client_config.claude_desktop(prod)["mcpServers"]["gov-data"]["env"]


def test_no_secret_value_anywhere(generated):
    _, out = generated
    for path in out.rglob("*"):
        if path.is_file():
            assert PLANTED not in path.read_text(), path


def test_existing_config_is_merged_and_backed_up(stack_runs, tmp_path):
    out = tmp_path / "clients"
    out.mkdir()
    mine = {"mcpServers": {"my-local": {"command": "uvx", "args": ["thing"]}}, "globalShortcut": "Ctrl+Space"}
    (out / "claude_desktop_config.json").write_text(json.dumps(mine))
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(stack_outputs(stack_runs["dev"])))
    argv = ["client-config", "--outputs", str(outputs_file), "--out", str(out), "--clients", "claude-desktop"]
    assert cli.main(argv) == 0
    merged = json.loads((out / "claude_desktop_config.json").read_text())
    assert merged["globalShortcut"] == "Ctrl+Space"
    assert merged["mcpServers"]["my-local"] == mine["mcpServers"]["my-local"]
    assert "penrose" in merged["mcpServers"]
    assert json.loads((out / "claude_desktop_config.json.bak").read_text()) == mine
    assert not (out / ".vscode").exists()  # only the chosen client


def test_bad_input_is_one_line_and_writes_nothing(stack_runs, tmp_path, capsys):
    out = tmp_path / "clients"
    out.mkdir()
    broken = out / "claude_desktop_config.json"
    broken.write_text("{not json")
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(stack_outputs(stack_runs["dev"])))
    assert cli.main(["client-config", "--outputs", str(outputs_file), "--out", str(out)]) == 2
    assert broken.read_text() == "{not json"  # untouched
    assert not (out / "connectors.md").exists()  # nothing written before the check
    (tmp_path / "bad.json").write_text(json.dumps({"base_url": "https://x"}))
    assert cli.main(["client-config", "--outputs", str(tmp_path / "bad.json")]) == 2
    assert cli.main(["client-config", "--outputs", str(outputs_file), "--clients", "emacs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("mcpds: error: ") for line in err)
    assert "not JSON" in err[0]
    assert "missing output(s) mcp_routes, mcp_servers" in err[1]


def test_stack_without_pulumi_cli_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli.main(["client-config", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "the pulumi CLI is not on PATH" in err
    assert "--outputs FILE" in err


def test_workflow_recipes_name_only_published_tools(stack_runs):
    """docs/workflows.md: every tool in a step's tools column is one a client sees."""
    from offline.harness import PROJECT_ROOT

    # Every stack's routes: prod publishes data-exploration (behind OIDC), dev does not.
    routes = [r for stack, run in stack_runs.items() for r in parse(stack_outputs(run), stack).routes]
    published = {tool for route in routes for tool in route.tools}
    text = (PROJECT_ROOT / "docs" / "workflows.md").read_text()
    named = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 3 and cells[0] not in ("step", "---"):
            named += re.findall(r"`([a-z0-9_-]+)`", cells[2])
    assert len(named) >= 40
    assert sorted(set(named) - published) == []
    # The four workflows and three outcomes reach every published route.
    for route in routes:
        assert set(route.tools) & set(named), route.name


def test_workflow_recipes_name_only_token_variables_the_tools_read():
    """docs/workflows.md names the variables `client-config` and `verify` use, no others."""
    from offline.harness import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "workflows.md").read_text()
    named = set(re.findall(r"`([A-Z][A-Z0-9_]*_TOKEN)`", text))
    assert named, "the recipes name no token variable"
    assert named <= {OIDC_TOKEN_ENV, *caller_token_envs()}


def test_sse_route_uses_sse_everywhere():
    outputs = parse(
        {
            "base_url": "https://example.org",
            "mcp_routes": [{"name": "legacy", "path": "/legacy", "mcp_path": "/sse"}],
            "mcp_servers": {"legacy": {"tools": ["x"], "auth": "none", "transport": "sse"}},
        },
        "test",
    )
    assert outputs.route("legacy").url == "https://example.org/legacy/sse"
    files = client_config.render(outputs)
    assert "sse-only" in files["claude_desktop_config.json"]["mcpServers"]["legacy"]["args"]
    assert files[".vscode/mcp.json"]["servers"]["legacy"]["type"] == "sse"
    assert "--transport sse legacy https://example.org/legacy/sse" in files["claude-code.sh"]


def _garble(outputs: dict, path: str, value):
    """A copy of the outputs with the value at a dotted path (list indexes as digits) replaced."""
    data = json.loads(json.dumps(outputs))
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return data


# Every structural fault of an outputs file that a hand edit or another stack could
# introduce: (path, value, what the one-line error says).
GARBLED = [
    ("mcp_servers.penrose", None, "mcp_servers.penrose should be an object"),
    ("mcp_servers.penrose", ["render_diagram"], "mcp_servers.penrose should be an object"),
    ("mcp_servers.penrose.tools", "render_diagram", "mcp_servers.penrose.tools"),
    ("mcp_servers.penrose.tools", [1, 2], "a list of tool names"),
    ("mcp_servers.datagov.tools", True, "mcp_servers.datagov.tools"),
    ("mcp_urls", ["https://x"], "mcp_urls"),
    ("mcp_urls.penrose", 3, "mcp_urls.penrose"),
    ("mcp_urls.penrose", "penrose/mcp", "is not an http(s) URL"),
    ("outputs_urls", ["https://x"], "outputs_urls"),
    ("outputs_urls.penrose", "penrose/outputs", "outputs_urls.penrose"),
    ("mcp_routes.0.outputs", "outputs-pandas", "outputs"),
    ("mcp_routes.0.outputs", {"service": "outputs-x", "port": "8090"}, "outputs.port"),
    ("base_url", "https://", "is not an http(s) URL with a host"),
    ("environment", 3, "environment"),
    ("mcp_namespace", [], "mcp_namespace"),
    ("mcp_routes.0", "penrose", "needs name and path"),
    ("mcp_routes.0.name", 7, "mcp_routes[0].name"),
    ("mcp_routes.0.path", "data-explorer", "should start with '/'"),
    ("mcp_routes.0.mcp_path", 3, "mcp_path"),
    ("mcp_routes.0.port", "8003", "port"),
    ("mcp_routes.0.port", True, "port"),
    ("mcp_routes.0.service", 3, "service"),
    ("mcp_routes.0.requires_auth", "yes", "requires_auth"),
]


@pytest.mark.parametrize("command", ["client-config", "verify"])
def test_garbled_outputs_are_one_line_errors(stack_runs, tmp_path, capsys, command):
    good = stack_outputs(stack_runs["dev"])
    cases = [*GARBLED, ("mcp_routes", [*good["mcp_routes"], good["mcp_routes"][0]], "more than once")]
    out = tmp_path / "clients"
    for path, value, expected in cases:
        outputs_file = tmp_path / "outputs.json"
        outputs_file.write_text(json.dumps(_garble(good, path, value)))
        argv = [command, "--outputs", str(outputs_file)]
        argv += ["--out", str(out)] if command == "client-config" else ["--no-probe-plan", "--timeout", "1"]
        assert cli.main(argv) == 2, (path, value)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, (path, err)
        assert err[0].startswith("mcpds: error: "), (path, err)
        assert expected in err[0], (path, err[0])
    assert not out.exists()  # nothing written on bad input


def test_bad_output_places_are_one_line_errors_and_write_nothing(stack_runs, tmp_path, capsys):
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(stack_outputs(stack_runs["dev"])))
    afile = tmp_path / "afile"
    afile.write_text("keep")
    blocked = tmp_path / "blocked"
    (blocked / "claude_desktop_config.json").mkdir(parents=True)  # a directory where a config goes
    cases = [
        (["--out", str(afile)], "is a file, not a directory"),
        (["--out", str(blocked)], "is a directory, not a config file"),
        (["--out", str(tmp_path / "x"), "--base-url", "mcp.example.com"], "--base-url"),
        (["--out", str(tmp_path / "x")], "outputs file"),  # --outputs is a directory below
    ]
    for extra, expected in cases:
        source = str(tmp_path) if expected == "outputs file" else str(outputs_file)
        assert cli.main(["client-config", "--outputs", source, *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, (extra, err)
        assert expected in err[0], (extra, err)
    assert afile.read_text() == "keep"
    assert sorted(p.name for p in blocked.iterdir()) == ["claude_desktop_config.json"]  # nothing else written
    assert not (tmp_path / "x").exists()
