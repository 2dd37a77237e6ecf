"""Stand-ins for Prometheus and Jaeger's query APIs, fed by what the demo servers saw.

Only the two endpoints `verify` reads, in their documented response shapes:
- Prometheus `GET /api/v1/query?query=...` (instant vector: `{"status": "success",
  "data": {"resultType": "vector", "result": [{"metric": {}, "value": [ts, "N"]}]}}`),
  answering `sum(toolhive_mcp_requests_total{server="X"})` with the number of HTTP
  requests server X logged (no sample when X logs nothing: not scraped);
- Jaeger `GET /api/traces/<traceID>` (`{"data": [{"traceID", "spans": [...]}]}`, or 404
  with `errors`), knowing the trace IDs of the `traceparent` headers servers received,
  minus the servers in `drop_traces` (an exporter that loses spans).
"""

from __future__ import annotations

import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.loopback.http import JsonHandler, LoopbackServer


class Monitoring(LoopbackServer):
    def __init__(self, request_logs: dict[str, Path], drop_traces: set[str] = frozenset()) -> None:
        self.request_logs = request_logs
        self.drop_traces = set(drop_traces)
        self.queries: list[str] = []
        super().__init__()

    def _lines(self, server: str) -> list[str]:
        path = self.request_logs.get(server)
        return path.read_text().splitlines() if path and path.exists() else []

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        monitoring = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler method name
                url = urlparse(self.path)
                if url.path == "/api/v1/query":
                    query = parse_qs(url.query).get("query", [""])[0]
                    monitoring.queries.append(query)
                    match = re.fullmatch(r'sum\(toolhive_mcp_requests_total\{server="([^"]+)"\}\)', query)
                    if not match:
                        self._json(400, {"status": "error", "errorType": "bad_data", "error": "unexpected query"})
                        return
                    count = len(monitoring._lines(match.group(1)))
                    result = [{"metric": {}, "value": [time.time(), str(count)]}] if count else []
                    self._json(200, {"status": "success", "data": {"resultType": "vector", "result": result}})
                    return
                if match := re.fullmatch(r"/api/traces/([0-9a-f]{32})", url.path):
                    trace_id = match.group(1)
                    spans = [
                        {"traceID": trace_id, "spanID": header.split("-")[2], "operationName": f"{server} POST /mcp"}
                        for server in monitoring.request_logs
                        if server not in monitoring.drop_traces
                        for header in monitoring._lines(server)
                        if header.count("-") == 3 and header.split("-")[1] == trace_id
                    ]
                    if spans:
                        self._json(200, {"data": [{"traceID": trace_id, "spans": spans}]})
                    else:
                        self._json(404, {"data": None, "errors": [{"code": 404, "msg": "trace not found"}]})
                    return
                self._json(404, {"error": "not found"})

        return Handler
