"""Start earthdata-mcp-server 0.6.0 so that it answers behind the ToolHive proxy.

Upstream's `earthdata-mcp-server start --transport streamable-http` leaves the MCP
SDK's transport options at their defaults (earthdata_mcp_server/server.py `http_app`;
reactor_mcp_server 1.3.2 app.py passes only `app_options`). With no transport security
given and the SDK's `host` argument at its default 127.0.0.1, mcp 2.3.0 turns on
DNS-rebinding protection that admits only loopback Host values
(mcp/server/lowlevel/server.py `streamable_http_app`): every /mcp request through the
proxy, which sends `Host: mcp-<name>:<port>`, gets 421. It also issues session IDs, and
the proxy pins a session to the pod address it reached, so later requests would arrive
as `Host: <pod IP>:<port>`, which no allowlist can name in advance.

This launcher serves upstream's own host and app (`earthdata_host`, `create_mcp_app`,
same /mcp, /healthz and /toolsets) with two options upstream's code accepts:

- stateless streamable HTTP: no `Mcp-Session-Id`, so every request of a client reaches
  the server as the first one did (the tools keep no state between calls);
- DNS-rebinding protection with the Host values in MCP_ALLOWED_HOSTS (comma-separated,
  exact `host:port` or `host:*`), loopback kept for `kubectl port-forward`.

Upstream's permissive CORS middleware (any origin) is left out: no browser client is
served, and a request carrying an Origin header is refused (403).

Env: MCP_ALLOWED_HOSTS (required), HOST (0.0.0.0), PORT (4040), the names upstream's
`start` command reads.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from earthdata_mcp_server.server import earthdata_host
from mcp.server.transport_security import TransportSecuritySettings
from reactor_mcp_server import create_mcp_app

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")


def allowed_hosts(value: str) -> list[str]:
    hosts = [h.strip() for h in value.split(",") if h.strip()]
    if not hosts:
        sys.exit("serve.py: MCP_ALLOWED_HOSTS is empty: set the Host values the proxy sends, e.g. mcp-nasa-cmr:4040")
    return [*hosts, *LOOPBACK_HOSTS]


def main() -> None:
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed_hosts(os.environ.get("MCP_ALLOWED_HOSTS", "")),
    )
    app = create_mcp_app(
        earthdata_host(), path="/mcp", app_options={"stateless_http": True, "transport_security": security}
    )
    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "4040")))


if __name__ == "__main__":
    main()
