"""A small MCP server for the verify tests, built with the official `mcp` SDK.

    python -m tests.loopback.demo_server --port P --mode stateless|session --tools a,b
        [--token-env VAR] [--delay S] [--request-log FILE] [--host-log FILE]

`stateless`: stateless streamable HTTP with JSON responses (like the HF, DataHub and
Treasury servers); `session`: sessions with `Mcp-Session-Id` and SSE responses (like
NASA CMR). `--token-env VAR`: every HTTP request must carry `Authorization: Bearer
<value of VAR>`, else 401 with a Bearer challenge (a stand-in for the ToolHive proxy's
OIDC check). `--delay S`: every HTTP request waits S seconds first (a stuck server).
`--request-log FILE`: one line per HTTP request, its `traceparent` header or `-` (what
the monitoring stand-ins in the tests count and look up). `--host-log FILE`: one line per
HTTP request, its `Host` header (what a proxy in front sends). Every server also has the
tool `stream_for` (seconds): a log notification each second, then the result, streamed
as one SSE response in session mode (a long call through the proxies and the edge).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings


def _tool(name: str):
    def tool(text: str = "") -> str:
        return f"{name}: {text}"

    return tool


async def stream_for(seconds: int, ctx: Context) -> str:
    """Sends a log notification each second for `seconds`, then answers."""
    for second in range(1, seconds + 1):
        await asyncio.sleep(1)
        await ctx.info(f"second {second} of {seconds}")
    return f"streamed for {seconds} s"


class Gate:
    """ASGI middleware: bearer token check and delay, before the MCP app sees the request."""

    def __init__(self, app: Any, token: str | None, delay: float, log: str | None, host_log: str | None) -> None:
        self.app, self.token, self.delay, self.log, self.host_log = app, token, delay, log, host_log

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if self.delay:
                await asyncio.sleep(self.delay)
            headers = dict(scope["headers"])
            for path, header in ((self.log, b"traceparent"), (self.host_log, b"host")):
                if path:
                    with open(path, "a") as f:
                        f.write(headers.get(header, b"-").decode() + "\n")
            if self.token is not None and headers.get(b"authorization") != f"Bearer {self.token}".encode():
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"text/plain"),
                            (b"www-authenticate", b'Bearer error="invalid_token"'),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b"invalid or expired token\n"})
                return
        await self.app(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("stateless", "session"), required=True)
    parser.add_argument("--tools", required=True)
    parser.add_argument("--name", default="demo")
    parser.add_argument("--token-env")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--request-log")
    parser.add_argument("--host-log")
    args = parser.parse_args()
    server = MCPServer(args.name)
    for name in args.tools.split(","):
        server.add_tool(_tool(name), name=name, description=f"demo tool {name}")
    server.add_tool(stream_for, name="stream_for", description="log once a second, then answer")
    stateless = args.mode == "stateless"
    app = server.streamable_http_app(
        stateless_http=stateless,
        json_response=stateless,
        # Behind the proxy the Host header is the upstream address; the edge is the guard.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    token = os.environ[args.token_env] if args.token_env else None
    gate = Gate(app, token, args.delay, args.request_log, args.host_log)
    uvicorn.run(gate, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
