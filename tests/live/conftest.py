"""Fixtures of the live runs: installs first (they need the registries), then, as root,
the whole session moves onto a loopback-only network namespace, so no server, stand-in
or client of these tests can reach anything but this machine's loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline.harness import ProgramRun
from tests.live import launch, proxy
from tests.live.edge import EDGE
from tests.live.install import ensure_installed
from tests.live.recipes import LIVE
from tests.live.standins import DataHubStandIn
from tests.loopback.deployment import wait_port

DATAHUB_TOKEN = "loopback-datahub-token"
HF_TOKEN = "hf_loopbackTestToken"


@pytest.fixture(scope="session")
def proxyrunner() -> Path:
    return proxy.proxyrunner_binary()


@pytest.fixture(scope="session")
def live_network(proxyrunner: Path) -> bool:
    """Every live recipe installed and the proxy built, then this process isolated (root only)."""
    for recipe in LIVE.values():
        ensure_installed(recipe)
    isolated = launch.isolate_network()
    if not isolated:
        print("live: not root, servers share the host's loopback (no network namespace)", file=sys.stderr)
    return isolated


@pytest.fixture(scope="session")
def mcpservers(dev: ProgramRun) -> dict[str, dict[str, Any]]:
    """The dev stack's rendered MCPServers by name."""
    return {o["metadata"]["name"]: o for o in dev.objects() if o["kind"] == "MCPServer"}


@pytest.fixture(scope="session")
def tool_filters(dev: ProgramRun) -> dict[str, list[str]]:
    """Each rendered MCPToolConfig's toolsFilter, by the server whose toolConfigRef names it."""
    configs = {o["metadata"]["name"]: o["spec"]["toolsFilter"] for o in dev.objects() if o["kind"] == "MCPToolConfig"}
    return {
        o["metadata"]["name"]: configs[o["spec"]["toolConfigRef"]["name"]]
        for o in dev.objects()
        if o["kind"] == "MCPServer" and "toolConfigRef" in o["spec"]
    }


@pytest.fixture(scope="session")
def datahub_gms(live_network: bool) -> Iterator[DataHubStandIn]:
    standin = DataHubStandIn(DATAHUB_TOKEN)
    yield standin
    standin.close()


def overrides(name: str, gms: DataHubStandIn) -> dict[str, str]:
    """Upstream URLs pointed at loopback stand-ins, public URLs at the loopback edge."""
    return {
        "datahub": {"DATAHUB_GMS_URL": gms.url},
        "penrose": {"PUBLIC_BASE_URL": f"{EDGE}/penrose"},
    }.get(name, {})


@pytest.fixture(scope="session")
def http_servers(
    live_network: bool,
    mcpservers: dict[str, dict[str, Any]],
    datahub_gms: DataHubStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, launch.Server]]:
    """Every live HTTP server, started together, each on its catalog port."""
    names = [n for n, r in LIVE.items() if mcpservers[n]["spec"].get("transport") != "stdio"]
    servers: dict[str, launch.Server] = {}
    try:
        for name in names:
            run_dir = tmp_path_factory.mktemp(name)
            plan = launch.prepare(LIVE[name], mcpservers[name], run_dir, overrides(name, datahub_gms))
            servers[name] = launch.start(plan)
        for name, server in servers.items():
            try:
                wait_port(mcpservers[name]["spec"]["mcpPort"], server.proc)
            except RuntimeError as exc:
                raise RuntimeError(f"{name}: {exc}\n{server.output()[-3000:]}") from None
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def stdio_launches(
    live_network: bool, mcpservers: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, launch.Launch]:
    """How to start each live stdio server (the client starts it)."""
    return {
        name: launch.prepare(LIVE[name], mcpservers[name], Path(tmp_path_factory.mktemp(name)))
        for name in LIVE
        if mcpservers[name]["spec"].get("transport", "stdio") == "stdio"
    }
