"""`verify`: does a deployment work? One command, every published MCP route.

For every route of the stack outputs, with the official `mcp` Python SDK over
streamable HTTP:

- the 2025-11-25 handshake (`initialize`; the server may answer an older revision,
  which is reported) and `tools/list`;
- 2026-07-28 (`server/discover`, the SDK's `mode="auto"`): reported as negotiated, or as
  not offered when the server only speaks the handshake era (not a failure);
- every tool the stack says the route publishes is listed (a group's tools carry the
  vMCP prefix `<server>_`);
- latency of each call;
- Penrose (a route with `list_examples`, `get_example`, `render_diagram`): render a
  bundled example and fetch the SVG at the URL it returns;
- `<route>/outputs/`, where the stack publishes the server's files: a name nobody was
  given is not found (404), and the directory is never listed;
- `<route>/health`, where the edge publishes it;
- with `--prometheus URL`: `toolhive_mcp_requests_total{server=...}` has samples for
  every server; with `--jaeger URL`: the trace of a request sent with a `traceparent`
  the verifier chose is in Jaeger.

It also prints a network-isolation probe plan: pod-to-pod paths the NetworkPolicies
must deny, as `kubectl run` commands (each must fail).

Exit status: 0 every check passed, 1 a check failed, 2 bad arguments or outputs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import shlex
import socket
import ssl
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from components.config_errors import not_an_env_name
from components.contracts import Route
from mcpds.cli import PREFIX, CliError, cannot_write
from mcpds.outputs import (
    OIDC_TOKEN_ENV,
    RouteInfo,
    StackOutputs,
    add_source_arguments,
    caller_token_envs,
    is_http_url,
    load_from_args,
)
from mcpds.tls import staging_advice

# The health endpoint of a route (components/contracts.py; outputs do not export it per route).
HEALTH_PATH = Route.health_path
LEGACY = "2025-11-25"
MODERN = "2026-07-28"

# One line per failure class: what happened and what to do.
FAILURES = {
    "tls": "TLS error: the certificate is not trusted or does not match the host "
    "(private CA or Let's Encrypt staging: pass --ca-bundle; otherwise check the edge's Certificate and cert-manager)",
    "not-found": "HTTP 404: nothing is published at this path (check the route prefix and the edge route table)",
    "unauthorized": "HTTP 401/403: the route rejected the credential (set --token-env to a variable "
    "holding a current access token; an expired or wrong-audience token is rejected too)",
    "timeout": "timeout: no answer within --timeout seconds (server overloaded, stuck, or a proxy buffering)",
    "dns": "DNS: the host name does not resolve (check the DNS record, external-dns, or the --base-url)",
    "connection-refused": "connection refused: nothing listens at this address (check DNS, the edge Service, ports)",
    "upstream-down": "HTTP 502/503/504 from the edge: the MCP server behind the route is down or not ready",
    "http-error": "HTTP error from the route",
    "protocol-error": "MCP protocol error: the endpoint answered, but not as an MCP server",
    "auth-not-enforced": "the stack puts authentication in front of this route, but it answered "
    "an MCP request that carried no token (check the MCPServer's oidcConfigRef and the edge)",
    "missing-tool": "tool(s) missing from tools/list (server misconfigured, wrong image, or a ToolConfig hides them)",
    "penrose": "Penrose render check failed",
    "outputs": "the outputs route served a name nobody was given, or listed its files "
    "(check the server's outputs sidecar and the edge route to it)",
    "health": "health endpoint unhealthy",
    "metrics": "no toolhive_mcp_requests_total samples in Prometheus for this server",
    "trace": "the verifier's trace did not reach Jaeger",
    "query-error": "monitoring query failed",
}


# HTTP answers with a failure class of their own, whichever check got them.
STATUS_FAILURES = {
    401: "unauthorized",
    403: "unauthorized",
    404: "not-found",
    502: "upstream-down",
    503: "upstream-down",
    504: "upstream-down",
}


@dataclass
class Check:
    route: str
    check: str
    status: str  # "pass", "fail" or "info"
    detail: str
    failure: str | None = None  # a FAILURES key when status == "fail"
    latency_ms: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Options:
    timeout: float
    verify: ssl.SSLContext | bool
    token_env: str
    trace_wait: float
    prometheus: str | None = None
    jaeger: str | None = None


# ---------------------------------------------------------------------------
# Failure classification
# ---------------------------------------------------------------------------


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, with their cause chains."""
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            yield from _leaves(sub)
        return
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException, statuses: list[int]) -> tuple[str, str]:
    """(failure class, one-line detail) for an exception from a check."""
    import httpx2

    leaves = list(_leaves(exc))
    for status in (401, 403, 404):  # auth and routing first: they explain a later 5xx
        if status in statuses:
            return STATUS_FAILURES[status], f"HTTP {status}"
    if upstream := [s for s in statuses if STATUS_FAILURES.get(s) == "upstream-down"]:
        return "upstream-down", f"HTTP {upstream[-1]}"
    for leaf in leaves:
        if isinstance(leaf, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(leaf) or "SSL:" in str(leaf):
            return "tls", str(leaf).splitlines()[0][:200]
    for leaf in leaves:
        if isinstance(leaf, socket.gaierror):
            return "dns", str(leaf)[:200]
    for leaf in leaves:
        if isinstance(leaf, (TimeoutError, httpx2.TimeoutException)):
            return "timeout", type(leaf).__name__
    for leaf in leaves:
        if isinstance(leaf, ConnectionRefusedError) or (
            isinstance(leaf, httpx2.ConnectError) and not any(isinstance(x, ssl.SSLError) for x in leaves)
        ):
            return "connection-refused", str(leaf)[:200] or type(leaf).__name__
    if errors := [s for s in statuses if s >= 400]:
        return "http-error", f"HTTP {errors[-1]}"
    leaf = leaves[-1] if leaves else exc
    return "protocol-error", f"{type(leaf).__name__}: {str(leaf)[:200]}"


# ---------------------------------------------------------------------------
# MCP checks
# ---------------------------------------------------------------------------


def _headers(route: RouteInfo, opts: Options, traceparent: str | None = None) -> dict[str, str]:
    headers = {}
    env = opts.token_env if route.auth else route.token_env
    if env and os.environ.get(env):
        headers["Authorization"] = f"Bearer {os.environ[env]}"
    if traceparent:
        headers["traceparent"] = traceparent
    return headers


class _Recorder:
    """httpx2 response hook: every HTTP status the SDK saw (it folds them into MCP errors)."""

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        self.statuses: list[int] = []
        self.verify = verify  # the TLS settings of the session, for follow-up requests

    async def __call__(self, response: Any) -> None:
        self.statuses.append(response.status_code)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


async def _list_tools(client: Any) -> list[str]:
    names: list[str] = []
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
        names += [t.name for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return names


def _text(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "type", "") == "text")


async def _session_checks(
    route: RouteInfo, opts: Options, mode: str, traceparent: str | None, penrose: bool
) -> tuple[list[Check], list[str] | None]:
    """One MCP session in `mode`: handshake, tools/list, and (once) the Penrose render."""
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    label = f"mcp {LEGACY}" if mode == "legacy" else f"mcp {MODERN}"
    checks: list[Check] = []
    recorder = _Recorder(opts.verify)
    tools: list[str] | None = None
    stage = label
    try:
        async with httpx2.AsyncClient(
            headers=_headers(route, opts, traceparent),
            timeout=httpx2.Timeout(opts.timeout),
            verify=opts.verify,
            event_hooks={"response": [recorder]},
        ) as http:
            with anyio.fail_after(opts.timeout * (4 if penrose else 2)):
                start = time.perf_counter()
                transport = streamable_http_client(route.url, http_client=http)
                async with Client(transport, mode=mode, cache=None) as client:
                    version = client.protocol_version
                    # A server that only speaks the handshake era is reported, not failed.
                    offered = mode == "legacy" or version == MODERN
                    detail = f"negotiated {version}" if offered else f"not offered; server speaks {version} only"
                    status = "pass" if offered else "info"
                    checks.append(Check(route.name, label, status, detail, None, _ms(start), {"negotiated": version}))
                    stage = f"tools/list ({version})" if offered else "tools/list (fallback)"
                    start = time.perf_counter()
                    tools = await _list_tools(client)
                    checks.append(
                        Check(route.name, stage, "pass", f"{len(tools)} tools", None, _ms(start), {"tools": tools})
                    )
                    if penrose:
                        stage = "penrose render"
                        checks += await _penrose(route, client, http, recorder)
    except Exception as exc:
        kind, detail = classify(exc, recorder.statuses)
        checks.append(Check(route.name, stage, "fail", detail, kind))
    return checks, tools


async def _penrose(route: RouteInfo, client: Any, http: Any, recorder: _Recorder) -> list[Check]:
    """Render the first bundled example and fetch the SVG from the URL the result names."""
    start = time.perf_counter()
    listed = await client.call_tool("list_examples", {})
    examples = json.loads(_text(listed) or "[]")
    if listed.is_error or not examples:
        return [Check(route.name, "penrose render", "fail", f"list_examples: {_text(listed)[:200]}", "penrose")]
    example_id = examples[0]["id"] if isinstance(examples[0], dict) else str(examples[0])
    got = await client.call_tool("get_example", {"id": example_id})
    trio = json.loads(_text(got))
    rendered = await client.call_tool(
        "render_diagram", {k: trio[k] for k in ("domain", "substance", "style")} | {"variation": "mcpds-verify"}
    )
    text = _text(rendered)
    took = _ms(start)
    match = re.search(r"URL:\s*(\S+)", text)
    if rendered.is_error or not match:
        return [Check(route.name, "penrose render", "fail", f"render_diagram({example_id}): {text[:200]}", "penrose")]
    url = urljoin(route.base + "/", match.group(1).lstrip("/")) if match.group(1).startswith("/") else match.group(1)
    checks = [Check(route.name, "penrose render", "pass", f"example {example_id}", None, took, {"output_url": url})]
    start = time.perf_counter()
    if urlparse(url).netloc == urlparse(route.base).netloc:
        response = await http.get(url)
    else:  # another host: never send it the route's credentials
        import httpx2

        async with httpx2.AsyncClient(timeout=http.timeout, verify=recorder.verify) as other:
            response = await other.get(url)
    ctype = response.headers.get("content-type", "")
    if response.status_code == 200 and ctype.startswith("image/svg+xml") and b"<svg" in response.content[:4096]:
        checks.append(
            Check(route.name, "penrose output", "pass", f"{len(response.content)} B {ctype}", None, _ms(start))
        )
    else:
        kind = STATUS_FAILURES.get(response.status_code, "penrose")
        checks.append(
            Check(
                route.name,
                "penrose output",
                "fail",
                f"GET {url}: HTTP {response.status_code} {ctype or 'no content type'}",
                kind,
                _ms(start),
            )
        )
    return checks


async def _health(route: RouteInfo, opts: Options) -> Check:
    import httpx2

    url = f"{route.base}{HEALTH_PATH}"
    start = time.perf_counter()
    try:
        async with httpx2.AsyncClient(
            timeout=httpx2.Timeout(opts.timeout), verify=opts.verify, headers=_headers(route, opts)
        ) as http:
            response = await http.get(url)
    except Exception as exc:
        kind, detail = classify(exc, [])
        return Check(route.name, "health", "fail", f"GET {url}: {detail}", kind)
    if response.status_code == 200:
        return Check(route.name, "health", "pass", "HTTP 200", None, _ms(start))
    if response.status_code == 404:
        return Check(route.name, "health", "info", "not published at the edge (edge.publish_health)", None, _ms(start))
    kind = STATUS_FAILURES.get(response.status_code, "health")
    return Check(route.name, "health", "fail", f"GET {url}: HTTP {response.status_code}", kind, _ms(start))


async def _outputs(route: RouteInfo, opts: Options) -> list[Check]:
    """The outputs route answers, and only for names it handed out: a random name is not
    found by the output server itself (its 404 carries `X-Content-Type-Options: nosniff`,
    which the edge's own 404 for an unrouted path does not), and the directory is never
    listed. No credential is sent: a browser opening the file sends none."""
    import httpx2

    assert route.outputs_url is not None
    probes = (
        ("outputs missing name", f"{route.outputs_url}/{secrets.token_hex(16)}.png", "served", True),
        ("outputs listing", f"{route.outputs_url}/", "listed", False),
    )
    checks = []
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(opts.timeout), verify=opts.verify) as http:
        for label, url, wrong, from_server in probes:
            start = time.perf_counter()
            try:
                response = await http.get(url)
            except Exception as exc:
                kind, detail = classify(exc, [])
                checks.append(Check(route.name, label, "fail", f"GET {url}: {detail}", kind))
                continue
            status = response.status_code
            answered = response.headers.get("x-content-type-options", "").lower() == "nosniff"
            if status == 404 and (answered or not from_server):
                checks.append(Check(route.name, label, "pass", "HTTP 404", None, _ms(start)))
            elif status == 404:
                detail = f"GET {url}: HTTP 404 without the output server's nosniff header: is the outputs route there?"
                checks.append(Check(route.name, label, "fail", detail, "not-found", _ms(start)))
            else:
                kind = "outputs" if status < 400 else STATUS_FAILURES.get(status, "outputs")
                detail = f"GET {url}: HTTP {status}" + (f" ({wrong})" if status < 400 else "")
                checks.append(Check(route.name, label, "fail", detail, kind, _ms(start)))
    return checks


async def _auth_enforced(route: RouteInfo, opts: Options) -> Check:
    """A route the stack puts behind OIDC must refuse an MCP request without a token."""
    import httpx2

    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "mcpds-verify", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    start = time.perf_counter()
    try:
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(opts.timeout), verify=opts.verify) as http:
            response = await http.post(route.url, json=body, headers=headers)
    except Exception as exc:
        kind, detail = classify(exc, [])
        return Check(route.name, "auth enforced", "fail", f"anonymous POST: {detail}", kind)
    status = response.status_code
    if status in (401, 403):
        challenge = response.headers.get("www-authenticate", "")
        return Check(
            route.name, "auth enforced", "pass", f"anonymous: HTTP {status} {challenge}".strip(), None, _ms(start)
        )
    if status < 300:
        return Check(route.name, "auth enforced", "fail", f"anonymous: HTTP {status}", "auth-not-enforced", _ms(start))
    return Check(
        route.name, "auth enforced", "info", f"anonymous: HTTP {status} (see the MCP checks)", None, _ms(start)
    )


async def _route_checks(route: RouteInfo, opts: Options, trace_id: str) -> list[Check]:
    penrose = {"list_examples", "get_example", "render_diagram"} <= set(route.tools)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    checks, tools = await _session_checks(route, opts, "legacy", traceparent, penrose)
    modern_checks, modern_tools = await _session_checks(route, opts, "auto", None, False)
    checks += modern_checks
    seen = tools if tools is not None else modern_tools
    if seen is not None:
        missing = [t for t in route.tools if t not in seen]
        extra = sorted(set(seen) - set(route.tools))
        if missing:
            checks.append(Check(route.name, "tools", "fail", "missing: " + ", ".join(missing), "missing-tool"))
        else:
            note = f"all {len(route.tools)} expected" + (f"; also {', '.join(extra)}" if extra else "")
            checks.append(Check(route.name, "tools", "pass", note, None, None, {"extra": extra}))
    if route.auth:
        checks.append(await _auth_enforced(route, opts))
    if route.outputs_url:
        checks += await _outputs(route, opts)
    checks.append(await _health(route, opts))
    for check in checks:
        if check.check.startswith(f"mcp {LEGACY}"):
            check.data["trace_id"] = trace_id
    return checks


# ---------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------


async def _prometheus(servers: list[str], opts: Options) -> list[Check]:
    import httpx2

    assert opts.prometheus is not None
    checks = []
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(opts.timeout), verify=opts.verify) as http:
        for server in servers:
            query = f'sum(toolhive_mcp_requests_total{{server="{server}"}})'
            start = time.perf_counter()
            try:
                response = await http.get(f"{opts.prometheus.rstrip('/')}/api/v1/query", params={"query": query})
                body = response.json()
            except Exception as exc:
                kind, detail = classify(exc, [])
                # Not an MCP endpoint: an answer that is not Prometheus JSON is a failed query.
                kind = "query-error" if kind in ("protocol-error", "http-error") else kind
                checks.append(Check(server, "prometheus", "fail", f"query failed: {detail}", kind))
                continue
            if not isinstance(body, dict):
                checks.append(Check(server, "prometheus", "fail", f"{query}: not a Prometheus answer", "query-error"))
                continue
            result = (body.get("data") or {}).get("result") or [] if body.get("status") == "success" else None
            if result is None:
                checks.append(Check(server, "prometheus", "fail", f"{query}: {body.get('error', body)}", "query-error"))
            elif not result or float(result[0]["value"][1]) <= 0:
                checks.append(Check(server, "prometheus", "fail", f"{query}: no samples", "metrics", _ms(start)))
            else:
                value = result[0]["value"][1]
                checks.append(Check(server, "prometheus", "pass", f"{value} requests", None, _ms(start)))
    return checks


async def _jaeger(trace_ids: dict[str, str], opts: Options) -> list[Check]:
    """Poll Jaeger's query API (`/api/traces/<id>`) for each route's trace."""
    import anyio
    import httpx2

    assert opts.jaeger is not None
    checks = []
    deadline = time.monotonic() + opts.trace_wait
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(opts.timeout), verify=opts.verify) as http:
        for route, trace_id in trace_ids.items():
            url = f"{opts.jaeger.rstrip('/')}/api/traces/{trace_id}"
            spans, error = 0, ""
            while True:
                try:
                    response = await http.get(url)
                    if response.status_code == 200:
                        spans = sum(len(t.get("spans", [])) for t in response.json().get("data") or [])
                    else:
                        error = f"HTTP {response.status_code}"
                except Exception as exc:
                    error = classify(exc, [])[1]
                if spans or time.monotonic() >= deadline:
                    break
                await anyio.sleep(1)
            if spans:
                checks.append(Check(route, "jaeger", "pass", f"trace {trace_id}: {spans} spans", None))
            else:
                checks.append(
                    Check(route, "jaeger", "fail", f"trace {trace_id} not found ({error or 'no spans'})", "trace")
                )
    return checks


# ---------------------------------------------------------------------------
# Network isolation probe plan
# ---------------------------------------------------------------------------

PROBE_IMAGE = "busybox:1.37.0"


def _probe(name: str, namespace: str, labels: dict[str, str], target: str, why: str) -> dict[str, str]:
    """A throw-away pod with a source pod's labels (NetworkPolicies select by label) that
    fetches `target`; under Pod Security `restricted`, hence the security context."""
    pod = re.sub(r"[^a-z0-9-]", "-", f"np-{name}".lower())[:63].rstrip("-")
    overrides = {
        "apiVersion": "v1",
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": pod,
                    "image": PROBE_IMAGE,
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }
    label_arg = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    parts = [
        "kubectl",
        "-n",
        namespace,
        "run",
        pod,
        "--rm",
        "-i",
        "--restart=Never",
        f"--image={PROBE_IMAGE}",
        *([f"--labels={label_arg}"] if label_arg else []),
        f"--overrides={json.dumps(overrides, separators=(',', ':'))}",
        "--",
        "wget",
        "-q",
        "-T",
        "3",
        "-O",
        "/dev/null",
        target,
    ]
    return {"name": pod, "why": why, "expect": "denied (wget times out, non-zero exit)", "command": shlex.join(parts)}


def probe_plan(outputs: StackOutputs, only: set[str] | None = None) -> list[dict[str, str]]:
    """Pod-to-pod paths the NetworkPolicies must deny, derived from the stack's routes
    (components/mcp_servers.py network_policies: default deny in the MCP namespace;
    proxies and vMCPs admit only the edge, monitoring and their vMCP; backends admit only
    their proxy (and the edge, on their outputs sidecar's port) and reach only DNS and, if
    the catalog lists egress hosts, the internet):

    - a pod in `default` must not reach any published Service, outputs sidecars included
      (ingress rules);
    - a pod with no labels in the MCP namespace must not reach them (default deny);
    - each server's backend must not reach another route's Service (no lateral movement);
    - a backend must not reach the Kubernetes API;
    - a server the catalog gives no egress hosts must not reach the internet.

    With `only` (the `--routes` names), the plan covers those routes and their servers.
    """
    from components.catalog import CATALOG
    from components.plan import backend_selector

    ns = outputs.mcp_namespace
    every_target = [
        (r.name, f"http://{r.service}.{ns}.svc.cluster.local:{r.port}{HEALTH_PATH}")
        for r in outputs.routes
        if r.service and r.port
    ]
    # The outputs sidecars (components/outputs.py): only the edge reaches them.
    every_target += [
        (f"{r.name}/outputs", f"http://{r.outputs_service}.{ns}.svc.cluster.local:{r.outputs_port}/healthz")
        for r in outputs.routes
        if r.outputs_service and r.outputs_port
    ]
    sources = sorted(outputs.servers)
    if only:
        sources = sorted({m for r in outputs.routes if r.name in only for m in r.members} & set(outputs.servers))
    plan = []
    for name, url in every_target:
        if only and name.split("/")[0] not in only:
            continue
        plan.append(_probe(f"default-to-{name}", "default", {}, url, f"pod in default -> {name} ({url.split('/')[2]})"))
        plan.append(_probe(f"anon-to-{name}", ns, {}, url, f"unlabelled pod in {ns} -> {name}"))
    for i, source in enumerate(sources):
        labels = backend_selector(source)
        others = [(n, u) for n, u in every_target if n.split("/")[0] != source]
        if others:
            name, url = others[i % len(others)]
            plan.append(_probe(f"{source}-to-{name}", ns, labels, url, f"{source} backend -> {name}"))
        api = "https://kubernetes.default.svc/version"
        plan.append(_probe(f"{source}-to-apiserver", ns, labels, api, f"{source} backend -> Kubernetes API"))
        spec = CATALOG.get(source)
        if spec is not None and not spec.egress_hosts and not spec.egress_from_env:
            plan.append(
                _probe(
                    f"{source}-to-internet",
                    ns,
                    labels,
                    "https://huggingface.co/",
                    f"{source} backend (no egress allowed) -> internet",
                )
            )
    return plan


# ---------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------


async def run_checks(outputs: StackOutputs, opts: Options, only: set[str] | None = None) -> list[Check]:
    checks: list[Check] = []
    trace_ids: dict[str, str] = {}
    servers: set[str] = set()
    for route in outputs.routes:
        if only and route.name not in only:
            continue
        trace_ids[route.name] = secrets.token_hex(16)
        servers.update(route.members)
        checks += await _route_checks(route, opts, trace_ids[route.name])
    if opts.prometheus:
        checks += await _prometheus(sorted(servers), opts)
    if opts.jaeger:
        checks += await _jaeger(trace_ids, opts)
    return checks


def table(checks: list[Check]) -> str:
    rows = [("ROUTE", "CHECK", "RESULT", "MS", "DETAIL")]
    for c in checks:
        ms = "" if c.latency_ms is None else f"{c.latency_ms:.0f}"
        rows.append((c.route, c.check, c.status.upper(), ms, c.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows)


def report(
    outputs: StackOutputs, checks: list[Check], plan: list[dict[str, str]], tls_advice: str | None = None
) -> dict[str, Any]:
    failures = [c for c in checks if c.status == "fail"]
    return {
        "tls_advice": tls_advice,
        "base_url": outputs.base_url,
        "source": outputs.source,
        "ok": not failures,
        "checks": [asdict(c) for c in checks],
        "failures": [
            {"route": c.route, "check": c.check, "class": c.failure, "message": FAILURES.get(c.failure or "", "")}
            for c in failures
        ],
        "network_probes": plan,
    }


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check every published MCP route of a deployment (handshake, tools, Penrose, health, metrics, traces)",
        description="Check every published MCP route of a deployment with the mcp SDK (2025-11-25 and "
        "2026-07-28 handshakes, tools/list, expected tools, latency), render and fetch a Penrose diagram, "
        "probe health, optionally query Prometheus and Jaeger, and print a network-isolation probe plan. "
        "Exit 0: all checks passed; 1: a check failed; 2: bad arguments or outputs.",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--token-env",
        default=OIDC_TOKEN_ENV,
        metavar="VAR",
        help=f"environment variable holding the bearer token for routes with auth (default {OIDC_TOKEN_ENV}); "
        f"routes taking the caller's own token read their own variable ({', '.join(caller_token_envs())})",
    )
    parser.add_argument("--ca-bundle", type=Path, metavar="FILE", help="PEM bundle of CAs to trust (private CA)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--timeout", type=float, default=15.0, metavar="S", help="per-request timeout (default 15)")
    parser.add_argument("--routes", metavar="LIST", help="comma-separated route names to check (default: all)")
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus base URL: check toolhive_mcp_requests_total")
    parser.add_argument("--jaeger", metavar="URL", help="Jaeger query base URL: look up the verifier's traces")
    parser.add_argument(
        "--trace-wait", type=float, default=30.0, metavar="S", help="how long to wait for traces (default 30)"
    )
    parser.add_argument("--no-probe-plan", action="store_true", help="do not print the network-isolation probe plan")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise CliError(f"--timeout {args.timeout}: must be a positive number of seconds, such as 15")
    if not (math.isfinite(args.trace_wait) and args.trace_wait >= 0):
        raise CliError(f"--trace-wait {args.trace_wait}: must be zero or a positive number of seconds, such as 30")
    for flag, url in (("--prometheus", args.prometheus), ("--jaeger", args.jaeger)):
        if url is not None and not is_http_url(url):
            raise CliError(f"{flag} {url!r}: must be a URL such as http://localhost:9090 (a port-forward)")
    shown = not_an_env_name(args.token_env)
    if shown is not None:
        raise CliError(
            f"--token-env {shown}: give the NAME of an environment variable (e.g. {OIDC_TOKEN_ENV}), not a token"
        )
    verify: ssl.SSLContext | bool = True
    if args.ca_bundle is not None:
        if not args.ca_bundle.is_file():
            raise CliError(f"--ca-bundle {args.ca_bundle}: no such file (a PEM file of CA certificates)")
        try:
            verify = ssl.create_default_context(cafile=str(args.ca_bundle))
        except ssl.SSLError:
            raise CliError(
                f"--ca-bundle {args.ca_bundle}: holds no certificate openssl can read: "
                "pass a PEM file of -----BEGIN CERTIFICATE----- blocks"
            ) from None
    outputs = load_from_args(args)
    only = {r.strip() for r in args.routes.split(",") if r.strip()} if args.routes else None
    if only and (unknown := only - {r.name for r in outputs.routes}):
        names = ", ".join(r.name for r in outputs.routes)
        raise CliError(f"--routes: no route named {', '.join(sorted(unknown))} (routes: {names})")
    if not outputs.routes:
        raise CliError(f"{outputs.source}: the stack publishes no MCP route, so there is nothing to verify")
    if args.json is not None and not args.json.parent.is_dir():
        raise CliError(f"--json {args.json}: directory {args.json.parent} does not exist")
    if args.json is not None and args.json.is_dir():
        raise CliError(f"--json {args.json} is a directory: name a file, e.g. {args.json / 'verify.json'}")
    opts = Options(
        timeout=args.timeout,
        verify=verify,
        token_env=args.token_env,
        trace_wait=args.trace_wait,
        prometheus=args.prometheus,
        jaeger=args.jaeger,
    )
    checks = anyio.run(run_checks, outputs, opts, only)
    plan = probe_plan(outputs, only)
    print(f"verify {outputs.base_url} ({outputs.source})")
    print(table(checks))
    failures = [c for c in checks if c.status == "fail"]
    # A TLS failure at Let's Encrypt staging (dev) is named with how to trust it.
    advice = staging_advice(outputs.base_url, args.timeout) if any(c.failure == "tls" for c in failures) else None
    if not args.no_probe_plan:
        print(f"\nNetwork isolation: {len(plan)} paths must be denied; run each, it must fail:")
        for probe in plan:
            print(f"# {probe['why']}\n{probe['command']}")
    if args.json is not None:
        tmp = args.json.with_name(args.json.name + ".tmp")
        try:
            tmp.write_text(json.dumps(report(outputs, checks, plan, advice), indent=2) + "\n")
            tmp.replace(args.json)
        except OSError as exc:
            print(f"\n{PREFIX}{cannot_write(exc, args.json, '--json', 'a file')}", file=sys.stderr)
            return 2
        print(f"\nwrote {args.json}")
    if failures:
        print(f"\n{len(failures)} check(s) failed:", file=sys.stderr)
        for c in failures:
            print(f"FAIL {c.route} {c.check}: {FAILURES.get(c.failure or '', c.failure)} [{c.detail}]", file=sys.stderr)
        if advice:
            print(f"tls: {advice}", file=sys.stderr)
        return 1
    print(f"\nall {len(checks)} checks passed ({sum(c.status == 'info' for c in checks)} informational)")
    return 0
