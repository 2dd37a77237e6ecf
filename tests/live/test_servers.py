"""Each server whose recipe installs from a registry, run from its exact pins and checked
with the MCP SDK's client against the catalog and the rendered MCPServer.

HTTP servers are reached at their catalog port and path with the Host header the
ToolHive proxy sends a stateless backend (`mcp-<name>:<port>`), and with the caller's
token where the catalog says the server takes one. Recipes that clone from GitHub
(datagov, dataset-viewer, pandas) and the Treasury recipe (no lock; its
@cyanheads/mcp-ts-core ^0.13.6 is not served here) are covered by tests/test_images.py.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from components.catalog import CATALOG
from tests.live import launch
from tests.live.conftest import DATAHUB_TOKEN, HF_TOKEN
from tests.live.recipes import LIVE
from tests.loopback.deployment import wait_port

HTTP = sorted(n for n in LIVE if CATALOG[n].is_http)
STDIO = sorted(n for n in LIVE if not CATALOG[n].is_http)
# The caller's own token, for servers that take one (catalog caller_token).
CALLER_TOKENS = {"huggingface": HF_TOKEN, "datahub": DATAHUB_TOKEN}
# Tools a server lists that the catalog does not name, each with why it is left out.
# A tool that appears here without a reason, or a new one the server starts listing,
# fails test_tools_match_the_catalog: the catalog stays the full list.
KNOWN_EXTRA: dict[str, dict[str, str]] = {}
# Servers that refuse a Host other than their backend Service (and loopback), written
# out independently of the catalog's env.
HOST_CHECKED = {"huggingface", "nasa-cmr"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "live", "version": "1"}},
}
ACCEPT = "application/json, text/event-stream"


def backend_host(name: str) -> str:
    """What the ToolHive proxy sends as Host to a stateless backend: the Service and port."""
    return f"mcp-{name}:{CATALOG[name].mcp_port}"


def headers(name: str, host: str | None = None) -> dict[str, str]:
    found = {"Host": host or backend_host(name)}
    if name in CALLER_TOKENS:
        found["Authorization"] = f"Bearer {CALLER_TOKENS[name]}"
    return found


def url(name: str, path: str = "/mcp") -> str:
    return f"http://127.0.0.1:{CATALOG[name].mcp_port}{path}"


async def _tools_over_http(name: str) -> list[str]:
    async with (
        httpx2.AsyncClient(headers=headers(name), timeout=httpx2.Timeout(60)) as http,
        Client(streamable_http_client(url(name), http_client=http), mode="legacy", cache=None) as client,
    ):
        return [t.name for t in (await client.list_tools()).tools]


async def _tools_over_stdio(params: StdioServerParameters) -> list[str]:
    async with Client(params, mode="legacy", cache=None) as client:
        return [t.name for t in (await client.list_tools()).tools]


def listed_tools(name: str, stdio_launches: dict[str, Any]) -> list[str]:
    if name in STDIO:
        plan = stdio_launches[name]
        params = StdioServerParameters(command=plan.argv[0], args=plan.argv[1:], env=plan.env, cwd=plan.cwd)
        return anyio.run(_tools_over_stdio, params)
    return anyio.run(_tools_over_http, name)


@pytest.fixture(scope="module")
def tools(http_servers, stdio_launches) -> dict[str, list[str]]:
    return {name: listed_tools(name, stdio_launches) for name in sorted(LIVE)}


@pytest.mark.parametrize("name", sorted(LIVE))
def test_tools_match_the_catalog(name, tools, tool_filters):
    listed = set(tools[name])
    spec = CATALOG[name]
    # A tool the server's own env hides (HF's DISABLE_TOOLS) is one the filter hides too.
    missing = set(spec.tools) - listed - set(spec.disabled_tools)
    assert not missing, f"{name}: the catalog names tools the server does not list: {sorted(missing)}"
    unfiltered = set(tool_filters.get(name, ())) - listed
    assert not unfiltered, f"{name}: the MCPToolConfig filter names unknown tools: {sorted(unfiltered)}"
    extra = listed - set(spec.tools)
    known = KNOWN_EXTRA.get(name, {})
    print(f"{name}: {len(listed)} tools; beyond the catalog: {sorted(extra) or 'none'}")
    assert extra == set(known), (
        f"{name}: tools beyond the catalog changed: listed {sorted(extra)}, known {sorted(known)}; "
        "add new ones to the catalog (or to KNOWN_EXTRA with the reason)"
    )


@pytest.mark.parametrize("name", HTTP)
def test_sessions_and_host_policy_as_the_catalog_says(name, http_servers):
    """The handshake with the proxy's Host passes; a session ID comes back exactly when
    the catalog says the server keeps sessions; a server with a Host allowlist refuses
    a pod address, and so must not keep sessions."""
    spec = CATALOG[name]
    body = {"headers": {"Content-Type": "application/json", "Accept": ACCEPT}, "json": INITIALIZE, "timeout": 60}
    ok = httpx2.post(url(name), **body | {"headers": body["headers"] | headers(name)})
    assert ok.status_code == 200, (ok.status_code, ok.text[:300])
    assert ("mcp-session-id" in ok.headers) == spec.sessions, dict(ok.headers)
    pod = httpx2.post(url(name), **body | {"headers": body["headers"] | headers(name, f"10.0.0.7:{spec.mcp_port}")})
    if name in HOST_CHECKED:
        assert pod.status_code in (403, 421), (pod.status_code, pod.text[:300])
        assert not spec.sessions, f"{name} checks Host by name, so the proxy's session pinning would break it"
    else:
        assert pod.status_code == 200, (pod.status_code, pod.text[:300])


def _probe_passes(probe: dict[str, Any]) -> bool:
    if "httpGet" in probe:
        get = probe["httpGet"]
        response = httpx2.get(f"http://127.0.0.1:{get['port']}{get['path']}", timeout=probe.get("timeoutSeconds", 1))
        return 200 <= response.status_code < 400  # kubelet's success range
    with socket.create_connection(("127.0.0.1", probe["tcpSocket"]["port"]), timeout=probe.get("timeoutSeconds", 1)):
        return True


@pytest.mark.parametrize("name", HTTP)
def test_probes_pass_against_the_live_server(name, http_servers, mcpservers):
    [container] = mcpservers[name]["spec"]["podTemplateSpec"]["spec"]["containers"]
    probes = {
        kind: container[kind] for kind in ("readinessProbe", "livenessProbe", "startupProbe") if kind in container
    }
    assert probes, f"{name}: an HTTP server renders probes"
    for kind, probe in probes.items():
        assert _probe_passes(probe), f"{name}: {kind} {probe} fails"


def test_upstream_start_answers_421_behind_the_proxy(live_network, mcpservers, tmp_path):
    """Why the NASA CMR image starts through our serve.py: earthdata-mcp-server 0.6.0's own
    `start --transport streamable-http` refuses the Host the proxy sends (421) and issues
    session IDs. When this fails, upstream changed and serve.py may be dropped."""
    plan = launch.prepare(LIVE["nasa-cmr"], mcpservers["nasa-cmr"], tmp_path)
    port = CATALOG["nasa-cmr"].mcp_port + 1  # beside the live one
    upstream = Path(plan.argv[0]).parent / "earthdata-mcp-server"
    plan.argv = [str(upstream), "start", "--transport", "streamable-http"]
    plan.env = {**plan.env, "PORT": str(port)}
    server = launch.start(plan)
    try:
        wait_port(port, server.proc)
        body = {"json": INITIALIZE, "timeout": 60}
        base = {"Content-Type": "application/json", "Accept": ACCEPT}
        through_proxy = httpx2.post(
            f"http://127.0.0.1:{port}/mcp", headers=base | {"Host": backend_host("nasa-cmr")}, **body
        )
        assert through_proxy.status_code == 421, through_proxy.text[:300]
        local = httpx2.post(f"http://127.0.0.1:{port}/mcp", headers=base, **body)
        assert local.status_code == 200
        assert "mcp-session-id" in local.headers
    finally:
        server.stop()
