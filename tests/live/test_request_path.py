"""The real request path on loopback: an MCP client -> nginx (routed like the edge) ->
the real ToolHive proxy runner v0.44.0 -> the live server from its recipe.

Every live HTTP server answers a whole session through it (handshake, tools/list
several times, one tool call that needs no internet), a streamed response outlasts the
proxy's 30 s request timeout, and the Host headers the proxy really sends are pinned
here for a stateless and a stateful backend. `mcpds verify` runs against the same
deployment, per route. The stdio server (data-exploration) is not on this path: the
runner reaches stdio servers only through a container runtime (tests/live/proxy.py).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from components.catalog import CATALOG
from mcpds import cli
from tests.live import edge
from tests.live.conftest import DATAHUB_TOKEN, HF_TOKEN
from tests.live.recipes import LIVE

PROXIED = sorted(n for n in LIVE if CATALOG[n].is_http)
TOKENS = {"huggingface": HF_TOKEN, "datahub": DATAHUB_TOKEN}
# One tool call per server that needs nothing beyond loopback, and what its text holds.
CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "nasa-cmr": (
        "download_earth_data_granules",
        {
            "folder_name": "sea-level",
            "short_name": "SEA_SURFACE_HEIGHT_ALT_GRIDS_L4_2SATS_5DAY_6THDEG_V_JPL2205",
            "count": 2,
            "mode": "script",
        },
        "earthaccess.search_data(**search_params)",
    ),
    "penrose": ("list_examples", {}, "venn"),
    "datahub": ("search", {"query": "orders"}, "total"),
    # Without huggingface.co the server still answers: the token cannot be checked.
    "huggingface": ("hf_whoami", {}, "credential was supplied, but its authentication status could not be verified"),
}
STREAM_SECONDS = 40  # longer than the proxy's 30 s ReadTimeout (transparent_proxy.go)


@pytest.fixture(scope="module")
def deployment(http_servers, mcpservers, tool_filters, dev, *, proxyrunner, live_network, tmp_path_factory):
    if not live_network:
        raise RuntimeError("the request path needs root: a network namespace for the run, a mount namespace per proxy")
    routes = {r["name"]: r["path"] for r in dev.outputs["mcp_routes"] if r["name"] in PROXIED}
    routes["nasa-cmr"] = edge.NASA_ROUTE
    servers = {name: mcpservers[name] for name in PROXIED}
    deployed = edge.deploy(proxyrunner, servers, routes, tool_filters, tmp_path_factory.mktemp("edge"))
    yield deployed
    deployed.close()


async def _session(url: str, token: str | None, call: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120)) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy", cache=None) as client,
    ):
        listings = [sorted(t.name for t in (await client.list_tools()).tools) for _ in range(3)]
        result = await client.call_tool(*call) if call else None
        return {"version": client.protocol_version, "listings": listings, "result": result}


def _text(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.parametrize("name", PROXIED)
def test_a_session_through_the_edge_and_the_proxy(name, deployment, tool_filters):
    tool, arguments, answer = CALLS[name]
    seen = anyio.run(_session, deployment.url(name), TOKENS.get(name), (tool, arguments))
    listing = seen["listings"][0]
    assert seen["listings"] == [listing] * 3, "the tool list changed within one session"
    # Every enabled catalog tool reaches the client; the proxy applies the MCPToolConfig filter.
    enabled = set(tool_filters.get(name, CATALOG[name].enabled_tools))
    assert enabled <= set(listing), sorted(enabled - set(listing))
    if name in tool_filters:
        assert set(listing) <= enabled, sorted(set(listing) - enabled)
    text = _text(seen["result"])
    print(f"{name}: {seen['version']}, {len(listing)} tools, {tool}: {text[:160]!r}")
    assert answer in text, text[:500]


async def _stream(url: str, seconds: int) -> tuple[str, int]:
    notes: list[str] = []

    async def on_log(params: Any) -> None:
        notes.append(str(params.data))

    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(seconds + 60)) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy", cache=None, logging_callback=on_log) as c,
    ):
        result = await c.call_tool("stream_for", {"seconds": seconds})
        return _text(result), len(notes)


def test_a_streamed_response_outlasts_the_proxy_and_edge_timeouts(deployment):
    text, notes = anyio.run(_stream, deployment.url("session-demo"), STREAM_SECONDS)
    assert text == f"streamed for {STREAM_SECONDS} s"
    assert notes == STREAM_SECONDS


def _hosts(deployment: edge.Deployment, name: str) -> list[str]:
    return deployment.host_logs[name].read_text().split()


def test_the_host_the_proxy_sends_per_kind_of_backend(deployment):
    """ToolHive v0.44.0 rewrites Host to its target, `mcp-<name>:<port>`; once a backend
    answers initialize with an Mcp-Session-Id it pins the session to the address its
    connection reached (here 127.0.0.1, in a pod the pod IP), so later requests of that
    session carry that address as Host. A change here changes which Host policies work."""
    for name in edge.DEMOS:
        deployment.host_logs[name].write_text("")
        anyio.run(_session, deployment.url(name), None, ("echo", {"text": "hi"}))
    stateless_port, session_port = edge.DEMOS["stateless-demo"][1], edge.DEMOS["session-demo"][1]
    stateless = _hosts(deployment, "stateless-demo")
    assert len(stateless) >= 5
    assert set(stateless) == {f"mcp-stateless-demo:{stateless_port}"}
    session = _hosts(deployment, "session-demo")
    assert session[0] == f"mcp-session-demo:{session_port}"  # initialize
    assert set(session[1:]) == {f"127.0.0.1:{session_port}"}, session


def test_verify_passes_every_route_of_the_loopback_deployment(deployment, dev, tool_filters, tmp_path, monkeypatch):
    """`mcpds verify` against nginx -> proxy -> server, route by route."""
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    monkeypatch.setenv("DATAHUB_TOKEN", DATAHUB_TOKEN)
    published = dev.outputs["mcp_servers"]
    routes = [
        {"name": n, "path": deployment.routes[n], "service": f"mcp-{n}-proxy", "port": CATALOG[n].proxy_port}
        for n in PROXIED
    ]
    outputs = {
        "environment": "loopback",
        "domain": "127.0.0.1",
        "base_url": edge.EDGE,
        "mcp_namespace": dev.outputs["mcp_namespace"],
        "mcp_routes": routes,
        "mcp_servers": {n: {**published[n], "route": deployment.routes[n], "group": None} for n in PROXIED},
        "mcp_urls": {n: deployment.url(n) for n in PROXIED},
        "outputs_urls": {"penrose": f"{edge.EDGE}/penrose/outputs"},
        "web_urls": {},
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    for route in PROXIED:
        report = tmp_path / f"{route}.json"
        code = cli.main(["verify", "--outputs", str(path), "--routes", route, "--json", str(report), "--timeout", "60"])
        checks = json.loads(report.read_text())["checks"]
        failed = {c["check"]: c["detail"] for c in checks if c["status"] == "fail"}
        passed = {c["check"] for c in checks if c["status"] == "pass"}
        assert {"mcp 2025-11-25", "tools"} <= passed, (route, checks)
        if route in tool_filters:
            # ToolHive v0.44.0's tool filter re-encodes tools/list results with `tools` alone
            # (pkg/mcp/tool_filter.go toolsListResponse), dropping the `cacheScope` a
            # 2026-07-28 client requires: a filtered route serves only 2025-11-25 clients.
            assert code == 1
            assert list(failed) == ["tools/list (2026-07-28)"], (route, failed)
            assert "cacheScope" in failed["tools/list (2026-07-28)"]
        else:
            assert code == 0, (route, failed)
