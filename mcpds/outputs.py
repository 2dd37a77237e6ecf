"""Stack outputs: what a deployment publishes, read from Pulumi or the offline render.

Both subcommands start here. The outputs come from one of:

- `--outputs FILE`: JSON as `pulumi stack output --json` prints it, or the offline render's
  `build/render/<stack>/outputs.json` (`make render STACK=<stack>`);
- `--stack NAME`: runs `pulumi stack output --json --stack NAME` in the project directory
  (needs the Pulumi CLI and a logged-in backend).

They are turned into one `RouteInfo` per published MCP route: its public URL, whether it
needs a credential (and which environment variable the clients read it from), the
tools a client must see there, and where the files its server writes for users open.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from components.contracts import Route
from mcpds.cli import CliError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_OUTPUT = "[secret]"  # what `pulumi stack output --json` prints for a secret output
REQUIRED_KEYS = ("base_url", "mcp_routes", "mcp_servers")
JSON_KINDS = {dict: "a JSON object", list: "a JSON list", str: "a JSON string"}

# The environment variable a client reads the OIDC access token from (routes with auth).
OIDC_TOKEN_ENV = "MCP_TOKEN"
# Servers that take the caller's own token for the upstream service as
# `Authorization: Bearer` (catalog `caller_token`): the variable conventionally holding it.
CALLER_TOKEN_ENV = {"huggingface": "HF_TOKEN"}


@dataclass(frozen=True)
class RouteInfo:
    """One published MCP endpoint as a client sees it."""

    name: str  # server or group name; also the client-side server name
    path: str  # public path prefix, e.g. "/penrose"
    url: str  # the MCP endpoint, e.g. "https://finetunings.ai/penrose/mcp"
    base: str  # the route's root, e.g. "https://finetunings.ai/penrose"
    auth: bool  # OIDC in front: a bearer token from the identity provider is required
    token_env: str | None  # env var holding the bearer token clients send, if any
    token_purpose: str | None  # one line: what that token is
    tools: tuple[str, ...]  # tool names a client must see in tools/list
    members: tuple[str, ...]  # servers behind the route (one, or a group's members)
    service: str | None = None
    port: int | None = None
    # Where the files the server writes for users open (`<outputs_url>/<name>`), if published.
    outputs_url: str | None = None
    outputs_service: str | None = None  # the outputs sidecar's Service and port, in-cluster
    outputs_port: int | None = None

    @property
    def header_value(self) -> str | None:
        """The Authorization header with an environment placeholder, never a value."""
        return f"Bearer ${{{self.token_env}}}" if self.token_env else None


@dataclass(frozen=True)
class StackOutputs:
    source: str  # where they were read from, for messages
    environment: str
    base_url: str
    routes: tuple[RouteInfo, ...]
    mcp_namespace: str
    servers: dict[str, dict[str, Any]]

    def route(self, name: str) -> RouteInfo:
        for r in self.routes:
            if r.name == name:
                return r
        raise KeyError(name)

    def with_base_url(self, base_url: str) -> StackOutputs:
        """The same routes under another base URL (a staging host, a port-forward, a test)."""
        base = base_url.rstrip("/")
        old = self.base_url.rstrip("/")

        def move(url: str) -> str:
            return base + url[len(old) :] if url.startswith(old) else url

        routes = tuple(
            replace(r, url=move(r.url), base=move(r.base), outputs_url=move(r.outputs_url) if r.outputs_url else None)
            for r in self.routes
        )
        return replace(self, base_url=base, routes=routes)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """`--outputs FILE | --stack NAME`, shared by the subcommands."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="stack outputs as JSON: `pulumi stack output --json > FILE`, or build/render/<stack>/outputs.json "
        "from `make render STACK=<stack>`",
    )
    group.add_argument(
        "--stack", metavar="NAME", help="read the outputs with `pulumi stack output --json --stack NAME`"
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="use this base URL instead of the stack's base_url (a staging host, a port-forward)",
    )


def load_from_args(args: argparse.Namespace) -> StackOutputs:
    """The outputs named by `--outputs`/`--stack`, moved under `--base-url` if given."""
    if args.base_url is not None and not is_http_url(args.base_url):
        raise CliError(
            f"--base-url {args.base_url!r}: must be an http(s) URL with a host, such as https://mcp.example.com"
        )
    outputs = load_file(args.outputs) if args.outputs is not None else load_stack(args.stack)
    return outputs.with_base_url(args.base_url) if args.base_url else outputs


def load_file(path: Path) -> StackOutputs:
    if path.is_dir():
        raise CliError(f"outputs file {path} is a directory: pass the JSON file, e.g. {path / 'outputs.json'}")
    if not path.is_file():
        raise CliError(
            f"outputs file {path} does not exist: write it with `pulumi stack output --json > {path}` "
            "or `make render STACK=<stack>` (build/render/<stack>/outputs.json)"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliError(
            f"outputs file {path} is not JSON ({exc}): pass the output of `pulumi stack output --json`"
        ) from None
    except OSError as exc:
        raise CliError(f"outputs file {path} cannot be read ({exc.strerror or exc})") from None
    return parse(data, str(path))


def load_stack(stack: str, root: Path = PROJECT_ROOT) -> StackOutputs:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise CliError(
            "the pulumi CLI is not on PATH, so --stack cannot read the outputs: install it "
            "(https://www.pulumi.com/docs/install/), or pass --outputs FILE "
            "(`pulumi stack output --json` elsewhere, or `make render` for build/render/<stack>/outputs.json)"
        )
    try:
        proc = subprocess.run(
            [pulumi, "stack", "output", "--json", "--stack", stack],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CliError(
            f"`pulumi stack output --stack {stack}` did not answer in 120 s: check the Pulumi backend"
        ) from None
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        raise CliError(f"`pulumi stack output --json --stack {stack}` failed: {reason}")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CliError(f"`pulumi stack output --json --stack {stack}` printed no JSON ({exc})") from None
    return parse(data, f"stack {stack}")


def _expect(data: dict[str, Any], key: str, kind: type, source: str) -> Any:
    value = data.get(key)
    if value == SECRET_OUTPUT:
        raise CliError(f"{source}: output {key} is secret; it should not be: fix __main__.py's export of {key}")
    if not isinstance(value, kind):
        raise CliError(
            f"{source}: output {key} is missing or not {JSON_KINDS.get(kind, 'what the stack exports')}: "
            "is this the mcp-datascience stack, deployed with a current version of the program?"
        )
    return value


def is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


_KIND_NAMES = {str: "a string", int: "a whole number", bool: "true or false", list: "a list", dict: "a JSON object"}


def _optional(data: dict[str, Any], key: str, kind: type, where: str, source: str) -> Any:
    """data[key] when present and a `kind` (a bool is not an int here); None when absent or null."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CliError(
            f"{source}: {where}{key} = {json.dumps(value)[:60]} should be {_KIND_NAMES[kind]}: "
            "pass the unedited output of `pulumi stack output --json` (or of `make render`)"
        )
    return value


def _check_servers(servers: dict[str, Any], source: str) -> None:
    for name, info in servers.items():
        if not isinstance(info, dict):
            raise CliError(
                f"{source}: mcp_servers.{name} should be an object (transport, tools, auth, group), "
                f"got {json.dumps(info)[:60]}"
            )
        tools = _optional(info, "tools", list, f"mcp_servers.{name}.", source) or []
        if not all(isinstance(t, str) for t in tools):
            raise CliError(f"{source}: mcp_servers.{name}.tools should be a list of tool names, got {tools!r}")
        for key in ("auth", "group", "transport", "route"):
            _optional(info, key, str, f"mcp_servers.{name}.", source)


def _check_route(raw: Any, index: int, source: str) -> None:
    if not isinstance(raw, dict) or not {"name", "path"} <= set(raw):
        raise CliError(f"{source}: every mcp_routes entry needs name and path, got {json.dumps(raw)[:80]}")
    for key in ("name", "path"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise CliError(
                f"{source}: mcp_routes[{index}].{key} should be a non-empty string, got {json.dumps(raw[key])[:60]}"
            )
    where = f"mcp_routes[{raw['name']}]."
    for key in ("path", "mcp_path"):
        value = _optional(raw, key, str, where, source)
        if value is not None and not value.startswith("/"):
            raise CliError(f"{source}: {where}{key} = {value!r} should start with '/' (e.g. /penrose)")
    _optional(raw, "service", str, where, source)
    _optional(raw, "port", int, where, source)
    _optional(raw, "requires_auth", bool, where, source)
    outputs = _optional(raw, "outputs", dict, where, source)
    if outputs is not None:
        _optional(outputs, "service", str, f"{where}outputs.", source)
        _optional(outputs, "port", int, f"{where}outputs.", source)


def parse(data: Any, source: str) -> StackOutputs:
    """Stack outputs (a dict) -> StackOutputs; a clear CliError when they do not fit."""
    from components.config import McpConfig

    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise CliError(f"{source}: expected a JSON object of stack outputs, got {kind}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CliError(
            f"{source}: missing output(s) {', '.join(missing)}: is this the mcp-datascience stack "
            "(pulumi stack output --json), deployed with a current version of the program?"
        )
    base_url = str(_expect(data, "base_url", str, source)).rstrip("/")
    if not is_http_url(base_url):
        raise CliError(f"{source}: base_url {base_url!r} is not an http(s) URL with a host")
    servers: dict[str, dict[str, Any]] = _expect(data, "mcp_servers", dict, source)
    _check_servers(servers, source)
    raw_routes: list[dict[str, Any]] = _expect(data, "mcp_routes", list, source)
    for index, raw in enumerate(raw_routes):
        _check_route(raw, index, source)
    names = [r["name"] for r in raw_routes]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise CliError(f"{source}: mcp_routes lists {', '.join(dupes)} more than once")
    urls = {key: _urls(data, key, source) for key in ("mcp_urls", "outputs_urls")}
    # Also the outputs read only for messages or not at all: a wrong type means an edited file.
    for key in ("environment", "domain", "mcp_namespace"):
        _optional(data, key, str, "", source)
    routes = [_route(raw, servers, base_url, urls["mcp_urls"], urls["outputs_urls"]) for raw in raw_routes]
    return StackOutputs(
        source=source,
        environment=str(data.get("environment") or "unknown"),
        base_url=base_url,
        routes=tuple(sorted(routes, key=lambda r: r.path)),
        # Outputs from before `mcp_namespace` was exported: the config's default namespace.
        mcp_namespace=str(data.get("mcp_namespace") or McpConfig.model_fields["namespace"].default),
        servers=servers,
    )


def _urls(data: dict[str, Any], key: str, source: str) -> dict[str, str]:
    """A map of route name -> http(s) URL (`mcp_urls`, `outputs_urls`); absent: empty."""
    found = _optional(data, key, dict, "", source) or {}
    for name, url in found.items():
        if not isinstance(url, str) or not is_http_url(url):
            raise CliError(f"{source}: {key}.{name} = {json.dumps(url)[:60]} is not an http(s) URL")
    return found


def _caller_token(server: str) -> str | None:
    """The env var for servers that read the caller's own token (catalog `caller_token`)."""
    from components.catalog import CATALOG

    spec = CATALOG.get(server)
    if spec is None or not spec.caller_token:
        return None
    return CALLER_TOKEN_ENV.get(server, server.upper().replace("-", "_") + "_TOKEN")


def caller_token_envs() -> list[str]:
    """The variables of every catalog server that reads the caller's own token."""
    from components.catalog import CATALOG

    return sorted(env for name in CATALOG if (env := _caller_token(name)))


def _route(
    raw: dict[str, Any],
    servers: dict[str, dict[str, Any]],
    base_url: str,
    mcp_urls: dict[str, str],
    outputs_urls: dict[str, str],
) -> RouteInfo:
    name, path = str(raw["name"]), str(raw["path"])
    mcp_path = str(raw.get("mcp_path") or Route.mcp_path)  # absent: the contract's default
    if name in servers:
        members: tuple[str, ...] = (name,)
        tools = tuple(servers[name].get("tools") or ())
        server_auth = servers[name].get("auth") == "oidc"
    else:
        # A group published by one VirtualMCPServer: it prefixes every tool with its
        # workload (MCPServer) name, "{workload}_" (components/mcp_servers.py vmcp_spec).
        members = tuple(sorted(s for s, info in servers.items() if info.get("group") == name))
        tools = tuple(f"{m}_{t}" for m in members for t in servers[m].get("tools") or ())
        server_auth = False
    # `requires_auth` on the route wins when the stack exports it (groups have no server entry).
    auth = bool(raw["requires_auth"]) if "requires_auth" in raw else server_auth
    token_env, purpose = None, None
    if auth:
        token_env, purpose = OIDC_TOKEN_ENV, "an access token from the stack's OIDC issuer"
    elif len(members) == 1 and (env := _caller_token(members[0])):
        token_env, purpose = env, f"your own {members[0]} token, passed through to the upstream service"
    base = f"{base_url}{path}"
    url = mcp_urls.get(name) or f"{base}{mcp_path}"
    outputs = raw.get("outputs") or {}
    return RouteInfo(
        name=name,
        path=path,
        url=url,
        base=base,
        auth=auth,
        token_env=token_env,
        token_purpose=purpose,
        tools=tools,
        members=members,
        service=raw.get("service"),
        port=raw.get("port"),
        outputs_url=outputs_urls.get(name, "").rstrip("/") or None,
        outputs_service=outputs.get("service"),
        outputs_port=outputs.get("port"),
    )
