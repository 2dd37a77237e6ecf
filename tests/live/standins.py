"""Loopback stand-ins for the upstream services a live server calls.

DataHub GMS: mcp-server-datahub 0.8.0 checks each caller's token with GraphQL
`query getMe { me { corpUser { urn username exists } } }` (seen when run here) and
answers 401 unless GMS names a user. The stand-in accepts one token, logs every request
(method, path, the GraphQL operation name or the query's first line) and answers anything else with an
empty GraphQL result, so a test sees exactly what the server asked of DataHub.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from tests.loopback.http import JsonHandler, LoopbackServer

DATAHUB_USER = "urn:li:corpuser:loopback"
# GET /config of a DataHub Core (OSS) GMS: the client requires noCode "true" (DataHub's
# rest_emitter.py); the server offers tools by the version and serverEnv here
# (mcp_server_datahub version_requirements.py, DataHub server_config_util.py).
GMS_VERSION = "v1.4.0"
# searchAcrossEntities totals by GraphQL operation: one document, so the server lists
# its document tools (document_tools_middleware.py), and no dataset found by `search`.
SEARCHES = {"documentSearch": 1, "search": 0}
GMS_CONFIG = {
    "noCode": "true",
    "versions": {"acryldata/datahub": {"version": GMS_VERSION}},
    "datahub": {"serverType": "prod", "serverEnv": "core"},
}


class DataHubStandIn(LoopbackServer):
    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[tuple[str, str, str]] = []
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler method name
                standin.requests.append(("GET", self.path, ""))
                if self.path == "/config":
                    self._json(200, GMS_CONFIG)
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler method name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = ""
                if self.path == "/api/graphql":
                    request = json.loads(body or b"{}")
                    query = request.get("operationName") or (request.get("query") or "").strip().splitlines()[0]
                standin.requests.append(("POST", self.path, query))
                if self.headers.get("Authorization") != f"Bearer {standin.token}":
                    self._json(401, {"error": "Unauthorized"})
                elif "getMe" in query:
                    user = {"urn": DATAHUB_USER, "username": "loopback", "exists": True}
                    self._json(200, {"data": {"me": {"corpUser": user}}})
                elif query in SEARCHES:
                    found = {"start": 0, "count": 0, "total": SEARCHES[query], "searchResults": [], "facets": []}
                    self._json(200, {"data": {"searchAcrossEntities": found}})
                else:
                    self._json(200, {"data": {}})

        return Handler
