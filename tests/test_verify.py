"""`verify` against a real loopback deployment, then against planted faults.

Servers: the project's Penrose server (node) and two small servers written with the
`mcp` SDK (one stateless, one session-based), plus one behind a bearer-token check and
one that is too slow; all behind Debian's nginx configured from the route table.
"""

from __future__ import annotations

import copy
import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mcpds import cli, verify
from mcpds.outputs import parse
from offline.render import stack_outputs
from tests.loopback import deployment as lb
from tests.loopback.monitoring import Monitoring

STATELESS_TOOLS = ["load_table", "summarize"]
SESSION_TOOLS = ["search_granules", "describe_collection"]
TOKEN_ENV = "LOOPBACK_MCP_TOKEN"
TOKEN = "loopback-test-token-7f3a"


@pytest.fixture(scope="module")
def loopback(dev, tmp_path_factory):
    """Penrose as the dev stack publishes it, plus demo servers, behind nginx."""
    dev_out = stack_outputs(dev)
    penrose_route = next(r for r in dev_out["mcp_routes"] if r["name"] == "penrose")
    ports = {
        name: lb.free_port()
        for name in ("stateless-demo", "session-demo", "secure-demo", "slow-demo", "doomed", "outputs", "listing")
    }
    routes = [
        penrose_route,
        {"name": "stateless-demo", "path": "/stateless", "service": "mcp-stateless-demo-proxy", "port": 8101},
        {"name": "session-demo", "path": "/session", "service": "mcp-session-demo-proxy", "port": 8102},
        {"name": "secure-demo", "path": "/secure", "service": "mcp-secure-demo-proxy", "port": 8103},
        {"name": "slow-demo", "path": "/slow", "service": "mcp-slow-demo-proxy", "port": 8104},
        {"name": "doomed", "path": "/doomed", "service": "mcp-doomed-proxy", "port": 8105},
    ]
    demo = {"transport": "streamable-http", "auth": "none", "group": None}
    servers = {
        "penrose": dev_out["mcp_servers"]["penrose"],
        "stateless-demo": {**demo, "tools": STATELESS_TOOLS, "route": "/stateless"},
        "session-demo": {**demo, "tools": SESSION_TOOLS, "route": "/session"},
        "secure-demo": {**demo, "tools": STATELESS_TOOLS, "route": "/secure", "auth": "oidc"},
        "slow-demo": {**demo, "tools": STATELESS_TOOLS, "route": "/slow"},
        "doomed": {**demo, "tools": STATELESS_TOOLS, "route": "/doomed"},
    }
    cert = lb.self_signed_cert(tmp_path_factory.mktemp("tls"))
    # Every port is chosen first: nginx's is Penrose's public base URL.
    upstream = {"penrose": lb.free_port(), **ports}
    table = {r["path"]: upstream[r["name"]] for r in routes}
    # stateless-demo's files, served by the outputs sidecar's server; and a server that lists.
    table |= {"/stateless/outputs": ports["outputs"], "/listing": ports["listing"]}
    files = tmp_path_factory.mktemp("outputs")
    (files / "0123456789abcdef0123456789abcdef.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    nginx, tls_port = lb.start_nginx(table, lb.free_port(), tls_cert=cert)
    deployment = lb.Loopback(nginx=nginx, tls_port=tls_port, cert=cert[0], outputs={}, ports=ports)
    logs_dir = tmp_path_factory.mktemp("requests")
    deployment.request_logs = {name: logs_dir / f"{name}.log" for name in ("stateless-demo", "session-demo")}
    try:
        # Started together, then waited for: start-up takes seconds, not their sum.
        procs = deployment.processes
        procs["penrose"] = lb.start_penrose(f"{nginx.base_url}{penrose_route['path']}", upstream["penrose"], wait=False)
        for name, mode, tools, kw in (
            ("stateless-demo", "stateless", STATELESS_TOOLS, {}),
            ("session-demo", "session", SESSION_TOOLS, {}),
            ("secure-demo", "stateless", STATELESS_TOOLS, {"token": TOKEN}),
            ("slow-demo", "stateless", STATELESS_TOOLS, {"delay": 5}),
        ):
            procs[name] = lb.start_demo(
                ports[name], mode, tools, request_log=deployment.request_logs.get(name), wait=False, **kw
            )
        procs["outputs"] = lb.start_outputs(files, ports["outputs"], wait=False)
        procs["listing"] = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(ports["listing"]), "--bind", "127.0.0.1", "-d", str(files)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("stateless-demo", "session-demo", "secure-demo", "slow-demo", "outputs", "listing"):
            lb.wait_port(ports[name], procs[name])
        lb.wait_penrose(procs["penrose"], upstream["penrose"])
        base = deployment.nginx.base_url
        deployment.outputs = {
            "environment": "loopback",
            "domain": "127.0.0.1",
            "base_url": base,
            "mcp_namespace": dev_out["mcp_namespace"],
            "mcp_routes": routes,
            "mcp_servers": servers,
            "mcp_urls": {r["name"]: f"{base}{r['path']}/mcp" for r in routes},
            "outputs_urls": {"penrose": f"{base}/penrose/outputs", "stateless-demo": f"{base}/stateless/outputs"},
            "web_urls": {},
        }
        yield deployment
    finally:
        deployment.close()


def _write(tmp_path: Path, outputs: dict) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def _verify(tmp_path, outputs, *extra, routes=None, timeout="10"):
    """Run `python -m mcpds verify` in-process; returns (exit code, JSON report)."""
    report = tmp_path / "report.json"
    argv = ["verify", "--outputs", str(_write(tmp_path, outputs)), "--json", str(report), "--timeout", timeout]
    if routes:
        argv += ["--routes", ",".join(routes)]
    code = cli.main([*argv, *extra])
    return code, json.loads(report.read_text())


def _failures(report) -> dict[tuple[str, str], str]:
    return {(f["route"], f["check"]): f["class"] for f in report["failures"]}


FAST = ["penrose", "stateless-demo", "session-demo", "secure-demo"]


def test_all_routes_pass(loopback, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    code, report = _verify(tmp_path, loopback.outputs, "--token-env", TOKEN_ENV, routes=FAST)
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert report["ok"] is True
    checks = {(c["route"], c["check"]): c for c in report["checks"]}
    for route in FAST:
        legacy = checks[(route, "mcp 2025-11-25")]
        assert legacy["status"] == "pass"
        assert legacy["data"]["negotiated"] == "2025-11-25"
        assert legacy["latency_ms"] > 0
        assert checks[(route, "tools")]["status"] == "pass"
    # The SDK servers speak 2026-07-28; the Penrose server (TypeScript SDK) is reported either way.
    assert checks[("stateless-demo", "mcp 2026-07-28")]["data"]["negotiated"] == "2026-07-28"
    assert checks[("session-demo", "mcp 2026-07-28")]["data"]["negotiated"] == "2026-07-28"
    assert checks[("penrose", "mcp 2026-07-28")]["status"] in ("pass", "info")
    # Penrose rendered through the edge, and its SVG was fetched at the published URL.
    render = checks[("penrose", "penrose render")]
    assert render["data"]["output_url"].startswith(loopback.outputs["outputs_urls"]["penrose"] + "/")
    assert checks[("penrose", "penrose output")]["status"] == "pass"
    # Both kinds of outputs route answer 404 to a name nobody was given, and list nothing.
    for route in ("penrose", "stateless-demo"):
        for check in ("outputs missing name", "outputs listing"):
            assert (checks[(route, check)]["status"], checks[(route, check)]["detail"]) == ("pass", "HTTP 404")
    assert checks[("penrose", "health")]["status"] == "pass"
    assert checks[("stateless-demo", "health")]["status"] == "info"  # no /health on that server
    # The table names every route, the token never appears anywhere.
    for route in FAST:
        assert route in printed.out
    assert TOKEN not in printed.out + printed.err + json.dumps(report)
    assert report["network_probes"], "a probe plan is always printed"


def test_an_outputs_route_that_lists_or_is_not_routed_fails(loopback, tmp_path):
    outputs = copy.deepcopy(loopback.outputs)
    outputs["outputs_urls"]["stateless-demo"] = f"{loopback.nginx.base_url}/listing"
    code, report = _verify(tmp_path, outputs, routes=["stateless-demo"])
    assert code == 1
    # A plain file server lists the directory, and its 404 is not the output server's.
    assert _failures(report) == {
        ("stateless-demo", "outputs listing"): "outputs",
        ("stateless-demo", "outputs missing name"): "not-found",
    }
    listing = next(c for c in report["checks"] if c["check"] == "outputs listing")
    assert listing["detail"].endswith("HTTP 200 (listed)")
    # The edge's own 404 (nothing routed there) is not the output server's answer.
    outputs["outputs_urls"]["stateless-demo"] = f"{loopback.nginx.base_url}/stateless/files"
    code, report = _verify(tmp_path, outputs, routes=["stateless-demo"])
    assert code == 1
    assert _failures(report) == {("stateless-demo", "outputs missing name"): "not-found"}


def test_missing_token_and_invalid_token_are_401(loopback, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, report = _verify(tmp_path, loopback.outputs, "--token-env", TOKEN_ENV, routes=["secure-demo"])
    assert code == 1
    assert _failures(report)[("secure-demo", "mcp 2025-11-25")] == "unauthorized"
    monkeypatch.setenv(TOKEN_ENV, "expired-token")
    code, report = _verify(tmp_path, loopback.outputs, "--token-env", TOKEN_ENV, routes=["secure-demo"])
    assert code == 1
    assert set(_failures(report).values()) == {"unauthorized"}
    assert "401" in capsys.readouterr().err


def test_wrong_prefix_is_404(loopback, tmp_path):
    outputs = copy.deepcopy(loopback.outputs)
    route = next(r for r in outputs["mcp_routes"] if r["name"] == "stateless-demo")
    route["path"] = "/stateles"  # a typo in the prefix
    del outputs["mcp_urls"]["stateless-demo"]
    code, report = _verify(tmp_path, outputs, routes=["stateless-demo"])
    assert code == 1
    assert _failures(report)[("stateless-demo", "mcp 2025-11-25")] == "not-found"


def test_missing_tool(loopback, tmp_path):
    outputs = copy.deepcopy(loopback.outputs)
    outputs["mcp_servers"]["session-demo"]["tools"] = [*SESSION_TOOLS, "download_granules"]
    code, report = _verify(tmp_path, outputs, routes=["session-demo"])
    assert code == 1
    assert _failures(report) == {("session-demo", "tools"): "missing-tool"}
    tools = next(c for c in report["checks"] if c["check"] == "tools")
    assert tools["detail"] == "missing: download_granules"


def test_stopped_server_is_reported_as_down(loopback, tmp_path):
    port = loopback.ports["doomed"]
    proc = lb.start_demo(port, "stateless", STATELESS_TOOLS)
    try:
        code, _ = _verify(tmp_path, loopback.outputs, routes=["doomed"])
        assert code == 0
    finally:
        lb.stop(proc)
    code, report = _verify(tmp_path, loopback.outputs, routes=["doomed"])
    assert code == 1
    assert _failures(report)[("doomed", "mcp 2025-11-25")] == "upstream-down"  # nginx answers 502
    assert _failures(report)[("doomed", "health")] == "upstream-down"  # every check classes a 502 alike


def test_nothing_listening_is_connection_refused(loopback, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    code, report = _verify(
        tmp_path, loopback.outputs, "--base-url", f"http://127.0.0.1:{closed}", routes=["stateless-demo"]
    )
    assert code == 1
    assert _failures(report)[("stateless-demo", "mcp 2025-11-25")] == "connection-refused"


def test_slow_server_times_out(loopback, tmp_path):
    code, report = _verify(tmp_path, loopback.outputs, routes=["slow-demo"], timeout="1")
    assert code == 1
    assert _failures(report)[("slow-demo", "mcp 2025-11-25")] == "timeout"


def test_tls_untrusted_then_trusted_with_ca_bundle(loopback, tmp_path):
    https = f"https://127.0.0.1:{loopback.tls_port}"
    code, report = _verify(tmp_path, loopback.outputs, "--base-url", https, routes=["stateless-demo"])
    assert code == 1
    assert _failures(report)[("stateless-demo", "mcp 2025-11-25")] == "tls"
    code, report = _verify(
        tmp_path,
        loopback.outputs,
        "--base-url",
        https,
        "--ca-bundle",
        str(loopback.cert),
        routes=["stateless-demo", "penrose"],
    )
    assert code == 0, report["failures"]
    # Penrose answers with its public (plain-HTTP) base: fetched there, without credentials.
    output = next(c for c in report["checks"] if c["check"] == "penrose output")
    assert output["status"] == "pass"


def test_group_route_expects_prefixed_tools():
    outputs = parse(
        {
            "base_url": "https://example.org",
            "mcp_routes": [{"name": "gov-data", "path": "/gov-data"}],
            "mcp_servers": {
                "datagov": {"tools": ["ckan_package_search"], "group": "gov-data", "auth": "none"},
                "treasury": {"tools": ["treasury_get_debt"], "group": "gov-data", "auth": "none"},
            },
        },
        "test",
    )
    assert outputs.route("gov-data").tools == ("datagov_ckan_package_search", "treasury_treasury_get_debt")


def test_probe_plan_covers_every_server(dev):
    outputs = parse(stack_outputs(dev), "dev")
    ns = outputs.mcp_namespace
    plan = verify.probe_plan(outputs)
    whys = [p["why"] for p in plan]
    for server in outputs.servers:
        assert f"{server} backend -> Kubernetes API" in whys
    for route in outputs.routes:  # the group's vMCP included
        assert f"unlabelled pod in {ns} -> {route.name}" in whys
        assert any(w.startswith(f"pod in default -> {route.name} ({route.service}.{ns}") for w in whys)
    # Outputs sidecars: nothing but the edge reaches them.
    for route in outputs.routes:
        if route.outputs_service:
            target = f"http://{route.outputs_service}.{ns}.svc.cluster.local:{route.outputs_port}/healthz"
            denied = {p["why"] for p in plan if p["command"].endswith(target)}
            assert {
                f"pod in default -> {route.name}/outputs ({target.split('/')[2]})",
                f"unlabelled pod in {ns} -> {route.name}/outputs",
            } <= denied, denied
    assert any(r.outputs_service for r in outputs.routes)
    # Code-executing data-exploration has no egress: the internet must be unreachable.
    assert "data-exploration backend (no egress allowed) -> internet" in whys
    for probe in plan:
        argv = shlex.split(probe["command"])
        assert argv[:2] == ["kubectl", "-n"]
        assert argv[2] in (ns, "default")
        assert "--rm" in argv
        overrides = json.loads(next(a for a in argv if a.startswith("--overrides=")).split("=", 1)[1])
        # Pod Security `restricted` admits the probe pod.
        assert overrides["spec"]["securityContext"]["runAsNonRoot"] is True
        assert overrides["spec"]["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_bad_arguments_are_one_line_errors(loopback, tmp_path, capsys):
    path = _write(tmp_path, loopback.outputs)
    assert cli.main(["verify", "--outputs", str(path), "--timeout", "0"]) == 2
    assert cli.main(["verify", "--outputs", str(path), "--ca-bundle", str(tmp_path / "none.pem")]) == 2
    assert cli.main(["verify", "--outputs", str(path), "--routes", "nope"]) == 2
    assert cli.main(["verify", "--outputs", str(path), "--token-env", "Bearer abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4
    assert all(line.startswith("mcpds: error: ") for line in err)
    assert "Traceback" not in "\n".join(err)


def test_auth_claimed_but_not_enforced(loopback, tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    code, report = _verify(tmp_path, loopback.outputs, "--token-env", TOKEN_ENV, routes=["secure-demo"])
    assert code == 0
    enforced = next(c for c in report["checks"] if c["check"] == "auth enforced")
    assert enforced["status"] == "pass"
    # The stack says stateless-demo is behind OIDC, but it answers without a token.
    outputs = copy.deepcopy(loopback.outputs)
    outputs["mcp_servers"]["stateless-demo"]["auth"] = "oidc"
    code, report = _verify(tmp_path, outputs, "--token-env", TOKEN_ENV, routes=["stateless-demo"])
    assert code == 1
    assert _failures(report) == {("stateless-demo", "auth enforced"): "auth-not-enforced"}


def test_metrics_and_traces(loopback, tmp_path):
    """Prometheus counts come from the servers' own request logs; Jaeger finds the
    verifier's traceparent as the server received it through nginx."""
    for log in loopback.request_logs.values():
        log.write_text("")
    monitoring = Monitoring(loopback.request_logs, drop_traces={"session-demo"})
    try:
        routes = ["stateless-demo", "session-demo", "penrose"]
        code, report = _verify(
            tmp_path,
            loopback.outputs,
            "--prometheus",
            monitoring.url,
            "--jaeger",
            monitoring.url,
            "--trace-wait",
            "1",
            routes=routes,
        )
    finally:
        monitoring.close()
    assert code == 1
    checks = {(c["route"], c["check"]): c for c in report["checks"]}
    assert checks[("stateless-demo", "prometheus")]["status"] == "pass"
    assert checks[("session-demo", "prometheus")]["status"] == "pass"
    assert checks[("stateless-demo", "jaeger")]["status"] == "pass"
    # Only the checked routes' servers are queried.
    assert {q.split('"')[1] for q in monitoring.queries} == set(routes)
    # Planted: Penrose is neither scraped nor traced here; session-demo's spans are lost.
    assert _failures(report) == {
        ("penrose", "prometheus"): "metrics",
        ("penrose", "jaeger"): "trace",
        ("session-demo", "jaeger"): "trace",
    }
    trace_id = checks[("stateless-demo", "mcp 2025-11-25")]["data"]["trace_id"]
    seen = loopback.request_logs["stateless-demo"].read_text().split()
    assert any(h.split("-")[1] == trace_id for h in seen if h != "-")


def test_unresolvable_host_is_dns(loopback, tmp_path):
    # .invalid never resolves (RFC 6761).
    code, report = _verify(tmp_path, loopback.outputs, "--base-url", "http://mcpds.invalid", routes=["session-demo"])
    assert code == 1
    assert _failures(report)[("session-demo", "mcp 2025-11-25")] == "dns"


def test_bad_flags_fail_before_any_request(dev, tmp_path, capsys):
    """Rejected up front (exit 2, one line), so a bad flag never costs a full run."""
    path = _write(tmp_path, stack_outputs(dev))
    cases = [
        (["--json", str(tmp_path)], "is a directory"),
        (["--prometheus", "localhost:9090"], "--prometheus"),
        (["--jaeger", "jaeger"], "--jaeger"),
        (["--trace-wait", "-1"], "--trace-wait"),
        (["--timeout", "nan"], "--timeout"),
        (["--base-url", "https://"], "--base-url"),
    ]
    for extra, expected in cases:
        assert cli.main(["verify", "--outputs", str(path), *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, (extra, err)
        assert err[0].startswith("mcpds: error: "), (extra, err)
        assert expected in err[0], (extra, err)


def test_probe_plan_follows_routes(dev):
    outputs = parse(stack_outputs(dev), "dev")
    ns = outputs.mcp_namespace
    plan = verify.probe_plan(outputs, {"penrose", "gov-data"})
    whys = [p["why"] for p in plan]
    assert f"unlabelled pod in {ns} -> penrose" in whys
    assert f"unlabelled pod in {ns} -> gov-data" in whys
    assert not any(w.startswith((f"unlabelled pod in {ns} -> pandas", "pandas backend")) for w in whys)
    # The group's members are probed from their own backends.
    for member in ("datagov", "treasury", "nasa-cmr", "penrose"):
        assert f"{member} backend -> Kubernetes API" in whys
    assert len(plan) < len(verify.probe_plan(outputs))
