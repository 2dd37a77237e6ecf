"""The loopback deployment of the live tests: nginx (routed like the edge) -> the real
ToolHive proxy runner per server -> the live server.

The routes are the dev stack's published routes for the live HTTP servers; NASA CMR,
which the stack publishes only inside the gov-data VirtualMCPServer, gets a route of
its own here (/nasa-cmr), and two demo servers (one stateless, one with sessions, both
logging the Host they receive) show what the proxy sends to each kind of backend.
"""

from __future__ import annotations

import contextlib
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.live import proxy
from tests.loopback import deployment as lb

# Inside the test's own network namespace every port is free: the edge takes a fixed one,
# so Penrose (started before it) can be told its public base URL.
EDGE_PORT = 8443
EDGE = f"http://127.0.0.1:{EDGE_PORT}"
NASA_ROUTE = "/nasa-cmr"
# The demo backends (tests/loopback/demo_server.py): proxy port, backend port, mode.
DEMOS = {"stateless-demo": (8101, 9101, "stateless"), "session-demo": (8102, 9102, "session")}


def demo_mcpserver(name: str) -> dict[str, Any]:
    proxy_port, mcp_port, _ = DEMOS[name]
    return {
        "metadata": {"name": name},
        "spec": {
            "image": f"demo/{name}:0",
            "transport": "streamable-http",
            "proxyPort": proxy_port,
            "mcpPort": mcp_port,
        },
    }


def wait_health(proxied: proxy.Proxy, timeout: float = lb.START_TIMEOUT) -> None:
    """The proxy's /health (what the operator's probes call) answers 200."""
    lb.wait_port(proxied.port, proxied.proc, timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{proxied.port}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{proxied.name}: proxy /health is not 200 after {timeout} s\n{proxied.output()[-3000:]}")


@dataclass
class Deployment:
    routes: dict[str, str]  # server -> public path
    proxies: dict[str, proxy.Proxy] = field(default_factory=dict)
    demos: dict[str, Any] = field(default_factory=dict)
    host_logs: dict[str, Path] = field(default_factory=dict)
    nginx: lb.Nginx | None = None

    def url(self, name: str) -> str:
        return f"{EDGE}{self.routes[name]}/mcp"

    def close(self) -> None:
        for item in [*self.proxies.values(), *self.demos.values()]:
            item.stop() if isinstance(item, proxy.Proxy) else lb.stop(item)
        if self.nginx is not None:
            lb.stop(self.nginx.proc)


def deploy(
    binary: Path,
    servers: dict[str, dict[str, Any]],
    routes: dict[str, str],
    tool_filters: dict[str, list[str]],
    work: Path,
) -> Deployment:
    """Proxies for `servers` (rendered MCPServers, already running) and the demos, then nginx."""
    deployment = Deployment(routes={**routes, **{n: f"/{n}" for n in DEMOS}})
    try:
        for name, (_, mcp_port, mode) in DEMOS.items():
            deployment.host_logs[name] = work / f"{name}.hosts"
            deployment.demos[name] = lb.start_demo(
                mcp_port, mode, ["echo"], host_log=deployment.host_logs[name], wait=False
            )
        for name, mcpserver in [*servers.items(), *((n, demo_mcpserver(n)) for n in DEMOS)]:
            config = proxy.runconfig(mcpserver, tool_filters.get(name))
            deployment.proxies[name] = proxy.start(binary, config, work / name, [f"mcp-{name}"])
        for name, (_, mcp_port, _) in DEMOS.items():
            lb.wait_port(mcp_port, deployment.demos[name])
        for proxied in deployment.proxies.values():
            wait_health(proxied)
        table = {deployment.routes[name]: p.port for name, p in deployment.proxies.items()}
        deployment.nginx, _ = lb.start_nginx(table, EDGE_PORT)
    except BaseException:
        deployment.close()
        raise
    return deployment
