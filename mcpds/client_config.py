"""`client-config`: MCP client configurations for a stack's published routes.

Writes, under `--out` (default `build/clients/<environment>/`):

- `claude_desktop_config.json`: Claude Desktop's local-server config, each route bridged
  with `mcp-remote` (Claude Desktop's config file launches stdio servers; mcp-remote
  connects them to a remote streamable-HTTP server: github.com/geelen/mcp-remote README,
  "Usage" and "Custom Headers"). Headers are `--header Authorization:${VAR}` with `VAR`
  in the entry's `env`, the form that README gives for clients that mangle spaces in args.
- `connectors.md`: the URLs to paste into Claude's "Add custom connector" screen, and
  where the files the servers write for users open (the stack's `outputs_urls`).
- `.vscode/mcp.json`: VS Code's `servers` map, `type: "http"`, `url`, `headers`, with
  secrets as `${input:<id>}` prompts declared in `inputs` (`promptString`, `password:
  true`), per code.visualstudio.com/docs/copilot/reference/mcp-configuration.
- `claude-code.sh`: `claude mcp add --scope project --transport http <name> <url>
  --header 'Authorization: Bearer ${VAR}'` lines. Single quotes keep `${VAR}` literal in
  the project's `.mcp.json`, where Claude Code expands it at start-up (code.claude.com
  docs/en/mcp, "Environment variable expansion in .mcp.json": command, args, env, url,
  headers), so no token is written to disk.

One entry per published route, named after the route. Only routes that need a
credential get a header, and only as a placeholder. Existing JSON files are merged:
other servers and keys are kept, the previous file is kept as `<file>.bak`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path
from typing import Any

from mcpds.cli import CliError
from mcpds.outputs import PROJECT_ROOT, RouteInfo, StackOutputs, add_source_arguments, load_from_args

# mcp-remote, pinned (npm `mcp-remote`, the newest release when this was written):
# `npx -y` runs exactly this version on every client machine.
MCP_REMOTE = "mcp-remote@0.15.1"
# Each client and the file written for it under --out (its writer: WRITERS, below them).
FILES = {
    "claude-desktop": "claude_desktop_config.json",
    "connectors": "connectors.md",
    "vscode": ".vscode/mcp.json",
    "claude-code": "claude-code.sh",
}
CLIENTS = tuple(FILES)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "client-config",
        help="write Claude Desktop, VS Code and Claude Code configs for the stack's MCP routes",
        description="Write MCP client configs (Claude Desktop + mcp-remote, Claude custom connectors, "
        "VS Code .vscode/mcp.json, Claude Code `claude mcp add` lines) with one entry per published route. "
        "Credentials appear only as environment/input placeholders.",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="output directory (default: build/clients/<environment>)"
    )
    parser.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(CLIENTS)} (default: all)",
    )
    parser.set_defaults(func=run)


def transport(route: RouteInfo) -> str:
    """`sse` for a route served in ToolHive's SSE proxy mode (MCP path `/sse`), else `http`."""
    return "sse" if route.url.rstrip("/").endswith("/sse") else "http"


def env_var(route: RouteInfo) -> str:
    """Claude Desktop: the variable holding the whole header value for mcp-remote."""
    return f"{route.token_env}_HEADER" if route.token_env else ""


def input_id(route: RouteInfo) -> str:
    """VS Code: the `${input:...}` id for the route's token (shared by routes with one token)."""
    return (route.token_env or "").lower().replace("_", "-")


def claude_desktop(outputs: StackOutputs) -> dict[str, Any]:
    servers: dict[str, Any] = {}
    for route in outputs.routes:
        args = ["-y", MCP_REMOTE, route.url, "--transport", f"{transport(route)}-only"]
        if route.url.startswith("http://"):
            args.append("--allow-http")
        entry: dict[str, Any] = {"command": "npx", "args": args}
        if route.token_env:
            # No spaces in args (Claude Desktop on Windows splits them); the env value
            # is a placeholder the user replaces with their token.
            args += ["--header", f"Authorization:${{{env_var(route)}}}"]
            entry["env"] = {env_var(route): f"Bearer <{route.token_env}>"}
        servers[route.name] = entry
    return {"mcpServers": servers}


def vscode(outputs: StackOutputs) -> dict[str, Any]:
    inputs: dict[str, dict[str, Any]] = {}
    servers: dict[str, Any] = {}
    for route in outputs.routes:
        entry: dict[str, Any] = {"type": transport(route), "url": route.url}
        if route.token_env:
            ident = input_id(route)
            inputs[ident] = {
                "type": "promptString",
                "id": ident,
                "description": f"{route.token_env}: {route.token_purpose}",
                "password": True,
            }
            entry["headers"] = {"Authorization": f"Bearer ${{input:{ident}}}"}
        servers[route.name] = entry
    return {"inputs": list(inputs.values()), "servers": servers}


def claude_code(outputs: StackOutputs) -> str:
    lines = [
        "#!/bin/sh",
        f"# Claude Code: add the {outputs.environment} stack's MCP routes to this project's .mcp.json.",
        "# Run from your project directory. Headers keep ${VAR} literally (single quotes); Claude Code",
        "# expands them from the environment when it starts, so export the variables first:",
    ]
    for env in sorted({r.token_env for r in outputs.routes if r.token_env}):
        purpose = next(r.token_purpose for r in outputs.routes if r.token_env == env)
        lines.append(f"#   export {env}=...   # {purpose}")
    lines.append("set -e")
    for route in outputs.routes:
        cmd = ["claude", "mcp", "add", "--scope", "project", "--transport", transport(route), route.name, route.url]
        line = shlex.join(cmd)
        if route.header_value:
            # shlex.quote would also single-quote; written out so the intent is visible.
            line += " --header " + shlex.quote(f"Authorization: {route.header_value}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def connectors(outputs: StackOutputs) -> str:
    lines = [
        f"# Claude custom connectors: {outputs.environment} stack ({outputs.base_url})",
        "",
        "In Claude (Settings > Connectors > Add custom connector), add one connector per line:",
        "name, then the remote MCP server URL.",
        "",
        "| name | URL | sign-in |",
        "| --- | --- | --- |",
    ]
    for route in outputs.routes:
        if route.auth:
            note = "OAuth with the stack's identity provider (the connector signs you in)"
        elif route.token_env:
            note = (
                f"needs {route.token_env} as a bearer header, which custom connectors cannot send: "
                "use claude_desktop_config.json for this route"
            )
        else:
            note = "none"
        lines.append(f"| {route.name} | {route.url} | {note} |")
    published = [r for r in outputs.routes if r.outputs_url]
    if published:
        lines += [
            "",
            "Files these servers write for you (charts, figures) open in a browser at `<base>/<name>`; the tool's",
            "answer gives the whole URL. Names are unguessable: nothing else is served, and the base lists nothing.",
            "",
            "| name | outputs base |",
            "| --- | --- |",
            *(f"| {r.name} | {r.outputs_url} |" for r in published),
        ]
    return "\n".join(lines) + "\n"


WRITERS = {"claude-desktop": claude_desktop, "connectors": connectors, "vscode": vscode, "claude-code": claude_code}


def render(outputs: StackOutputs, clients: tuple[str, ...] = CLIENTS) -> dict[str, Any]:
    """{relative path: JSON object or text} for the chosen clients."""
    return {FILES[c]: WRITERS[c](outputs) for c in clients}


def _merge(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    """New entries over an existing config: other servers and keys are kept."""
    try:
        old = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path} exists and is not JSON ({exc}): fix or move it, then run again") from None
    if not isinstance(old, dict):
        raise CliError(f"{path} exists and is not a JSON object: fix or move it, then run again")
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(old.get(key), dict):
            merged[key] = {**old[key], **value}
        elif isinstance(value, list) and isinstance(old.get(key), list):
            ids = {i.get("id") for i in value if isinstance(i, dict)}
            merged[key] = [i for i in old[key] if not (isinstance(i, dict) and i.get("id") in ids)] + value
        else:
            merged[key] = value
    return merged


def write(files: dict[str, Any], out: Path) -> list[Path]:
    """Write every file (atomically); an existing JSON config is merged and backed up."""
    written = []
    prepared: list[tuple[Path, str]] = []
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file, not a directory: pass a directory (it is created if missing)")
    for rel, content in files.items():
        path = out / rel
        for parent in (p for p in reversed(path.relative_to(out).parents) if str(p) != "."):
            if (out / parent).exists() and not (out / parent).is_dir():
                raise CliError(f"{out / parent} is a file, but {path} needs it to be a directory: move it away")
        if path.is_dir():
            raise CliError(f"{path} is a directory, not a config file: move it away, then run again")
        if isinstance(content, dict):
            text = json.dumps(_merge(path, content) if path.exists() else content, indent=2) + "\n"
        else:
            text = content
        prepared.append((path, text))
    # Every input checked before anything is written.
    for path, text in prepared:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.read_text() != text:
                path.with_name(path.name + ".bak").write_text(path.read_text())
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            if path.suffix == ".sh":
                tmp.chmod(0o755)
            os.replace(tmp, path)
        except OSError as exc:
            done = f" (already written: {', '.join(str(w) for w in written)})" if written else ""
            raise CliError(
                f"cannot write {path}: {exc.strerror or exc}{done}; pass --out with a directory you can write"
            ) from None
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    clients = tuple(c.strip() for c in args.clients.split(",") if c.strip())
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown or not clients:
        raise CliError(f"--clients {args.clients!r}: unknown {', '.join(unknown) or '(empty)'}; choose from {CLIENTS}")
    outputs = load_from_args(args)
    if not outputs.routes:
        raise CliError(f"{outputs.source}: the stack publishes no MCP route, so there is nothing to configure")
    out = args.out or PROJECT_ROOT / "build" / "clients" / outputs.environment
    for path in write(render(outputs, clients), out):
        print(f"wrote {path}")
    needed = sorted({(r.token_env, r.token_purpose) for r in outputs.routes if r.token_env})
    for env, purpose in needed:
        users = ", ".join(r.name for r in outputs.routes if r.token_env == env)
        print(f"credential {env} ({users}): {purpose}")
    for route in outputs.routes:
        if route.outputs_url:
            print(f"outputs of {route.name}: {route.outputs_url}/<name> (the tool's answer gives the URL)")
    return 0
