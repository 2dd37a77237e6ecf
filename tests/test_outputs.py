"""Outputs users can open (components/outputs.py): the plan, the rendered pod, Service,
NetworkPolicy and edge routes, per environment, for catalog and user-defined servers, and
the upstream facts of the two servers that write outputs.

What is asserted on the shipped stacks holds for any configuration: URLs are built from
the stack's own domain, names from the catalog."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from components import outputs as sidecar
from components import versions
from components.catalog import CATALOG
from components.config_errors import ConfigError
from components.edge_plan import build_edge_plan, gateway_objects
from components.images import stack_images
from components.plan import backend_selector, build_plan
from components.quantities import parse_quantity
from components.stack_config import parse_config
from offline.harness import ProgramRun
from offline.policy_run import stack_config
from tests.stackconfig import base_config
from tests.test_mcp_servers import HARDENED  # the `mcp` container's, written out there

ROOT = Path(__file__).resolve().parent.parent
NS = "data-science"
# A user-defined server that writes reports (the catalog schema, as a stack file has it).
CUSTOM = {
    "image": "registry.example.com/team/reports:1.2.3",
    "transport": "streamable-http",
    "proxy_port": 8020,
    "mcp_port": 9000,
    "stateless": False,
    "writable_paths": ["/tmp"],
    "path": "/reports",
    "env": {"REPORTS_DIR": "{outputs_dir}", "REPORTS_URL": "{outputs_url}"},
    "outputs": {"directory": "/var/reports", "extensions": ["csv", "svg"], "naming": "uuid4 hex"},
}


def cfg(raw: dict[str, Any] | None = None, stack: str = "prod"):
    return parse_config(raw or base_config(), stack=stack)


def objects(run: ProgramRun, kind: str) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o for o in run.objects() if o["kind"] == kind and o["metadata"].get("namespace") == NS
    }


def pod(run: ProgramRun, server: str) -> dict[str, Any]:
    return objects(run, "MCPServer")[server]["spec"]["podTemplateSpec"]["spec"]


def env_of(run: ProgramRun, server: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in objects(run, "MCPServer")[server]["spec"].get("env", [])}


def with_outputs(run: ProgramRun) -> list[str]:
    return sorted(n for n in objects(run, "MCPServer") if n in CATALOG and CATALOG[n].outputs)


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------


def test_each_server_with_outputs_gets_the_sidecar_image_and_its_public_base():
    plan = build_plan(cfg())
    servers = {s.name: s for s in plan.servers if s.outputs}
    assert sorted(servers) == ["data-exploration", "pandas"]
    image = versions.SERVER_IMAGES[sidecar.IMAGE_KEY]
    for name, server in servers.items():
        assert server.outputs.image == f"ghcr.io/finetunings-ai/mcp-datascience/{image.repository}:{image.tag}"
        assert server.outputs.base_url == f"https://finetunings.ai{server.route.path}/outputs"
        assert server.route.outputs.service == f"outputs-{name}"
        assert server.route.outputs.port == sidecar.PORT
        assert server.outputs.max_bytes == int(parse_quantity("512Mi") * sidecar.FILL)
        assert server.outputs.max_age_seconds == 24 * 3600
    # Where each server writes and where its clients are told the files open.
    assert servers["data-exploration"].env["OUTPUTS_DIR"] == "/tmp/outputs"
    assert servers["pandas"].env["PANDAS_MCP_CHARTS_DIR"] == "/opt/pandas-mcp-server/charts"
    for server in servers.values():
        assert server.env["OUTPUTS_BASE_URL"] == server.outputs.base_url


def test_a_server_that_is_not_published_publishes_no_outputs_but_keeps_its_sidecar():
    raw = base_config()
    del raw["mcp"]["oidc"]
    raw["mcp"]["servers"]["data-exploration"] = {}  # no OIDC: code execution is withheld
    server = build_plan(cfg(raw)).server("data-exploration")
    assert server.route is None
    assert server.withheld
    assert server.outputs is not None  # retention still runs, and the server still writes there
    assert server.outputs.base_url is None
    assert server.env["OUTPUTS_BASE_URL"] == ""
    off = base_config()
    off["mcp"]["servers"]["pandas"] = {"publish": False}
    pandas = build_plan(cfg(off)).server("pandas")
    assert (pandas.route, pandas.outputs.base_url) == (None, None)


def test_a_dedicated_host_moves_the_outputs_with_the_route():
    raw = base_config()
    raw["edge"] = {"hosts": {"pandas": "charts.finetunings.ai"}}
    config = cfg(raw)
    plan = build_plan(config)
    pandas = plan.server("pandas")
    assert pandas.env["OUTPUTS_BASE_URL"] == "https://charts.finetunings.ai/pandas/outputs"
    edge = build_edge_plan(config, plan.routes)
    assert edge.route("pandas").outputs_url == pandas.env["OUTPUTS_BASE_URL"]


def test_config_size_and_age_reach_the_sidecar():
    raw = base_config()
    raw["mcp"]["outputs"] = {"size": "64Mi", "max_age_hours": 2}
    pandas = build_plan(cfg(raw)).server("pandas")
    container = sidecar.container(pandas.outputs, pandas.outputs.image, 10001)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["OUTPUTS_MAX_AGE_SECONDS"] == "7200"
    assert env["OUTPUTS_MAX_BYTES"] == str(int(64 * 2**20 * 0.8))
    assert sidecar.volume(pandas.outputs) == {"name": "outputs", "emptyDir": {"sizeLimit": "64Mi"}}


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ({"size": "1Mi"}, "mcp.outputs.size"),
        ({"max_age_hours": 0}, "mcp.outputs.max_age_hours"),
        ({"keep": "forever"}, "mcp.outputs.keep"),
    ],
)
def test_bad_outputs_settings_are_refused_by_name(outputs, expected):
    raw = base_config()
    raw["mcp"]["outputs"] = outputs
    with pytest.raises(ConfigError) as caught:
        cfg(raw)
    assert expected in str(caught.value)


def test_a_user_defined_server_declares_outputs_the_same_way():
    raw = base_config()
    raw["mcp"]["custom_servers"] = {"reports": copy.deepcopy(CUSTOM)}
    reports = build_plan(cfg(raw)).server("reports")
    assert reports.outputs.spec.directory == "/var/reports"
    assert reports.route.outputs.service == "outputs-reports"
    assert reports.env == {"REPORTS_DIR": "/var/reports", "REPORTS_URL": "https://finetunings.ai/reports/outputs"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"outputs": None}, "uses ['outputs_dir'], but the server declares no outputs"),
        ({"extra_paths": ["/outputs/"]}, "outputs and extra path /outputs/ both claim <route>/outputs/"),
        ({"outputs": {**CUSTOM["outputs"], "extensions": ["exe"]}}, "outputs.extensions"),
        (
            {"outputs": {**CUSTOM["outputs"], "script_sources": ["https://cdn.example.com/a.js; script-src *"]}},
            "must be an https URL of one script",
        ),
        ({"outputs": {**CUSTOM["outputs"], "directory": "relative"}}, "must be an absolute directory path"),
    ],
)
def test_a_broken_outputs_declaration_is_refused(change, expected):
    raw = base_config()
    raw["mcp"]["custom_servers"] = {"reports": {**copy.deepcopy(CUSTOM), **change}}
    with pytest.raises(ConfigError) as caught:
        cfg(raw)
    assert expected in str(caught.value)


# ---------------------------------------------------------------------------
# Rendered: the pod, the Service, the NetworkPolicy, the edge, the stack outputs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_sidecar_shares_only_the_outputs_volume_and_runs_restricted(stack_runs, stack):
    run = stack_runs[stack]
    size = stack_config(stack).mcp.outputs.size
    for name in with_outputs(run):
        spec = pod(run, name)
        mcp, outputs = spec["containers"]
        assert (mcp["name"], outputs["name"]) == ("mcp", "outputs")
        assert {"name": "outputs", "mountPath": CATALOG[name].outputs.directory} in mcp["volumeMounts"]
        assert outputs["volumeMounts"] == [{"name": "outputs", "mountPath": "/outputs"}]
        assert {"name": "outputs", "emptyDir": {"sizeLimit": size}} in spec["volumes"]
        assert outputs["securityContext"] == HARDENED
        assert outputs["command"] == ["/opt/venv/bin/python", "-I", "/opt/mcpds/outputs_server.py"]
        repository = versions.SERVER_IMAGES[sidecar.IMAGE_KEY].repository
        assert outputs["image"].split("@")[0].rsplit(":", 1)[0].endswith("/" + repository)
        for kind in ("requests", "limits"):
            assert set(outputs["resources"][kind]) == {"cpu", "memory"}
        assert parse_quantity(outputs["resources"]["requests"]["memory"]) <= parse_quantity(
            outputs["resources"]["limits"]["memory"]
        )
        for probe in ("readinessProbe", "livenessProbe"):
            assert outputs[probe]["httpGet"] == {"path": "/healthz", "port": "outputs"}
        assert outputs["ports"] == [{"name": "outputs", "containerPort": 8090, "protocol": "TCP"}]
        env = {e["name"]: e["value"] for e in outputs["env"]}
        assert env["OUTPUTS_DIR"] == "/outputs"
        assert env["OUTPUTS_EXTENSIONS"] == ",".join(CATALOG[name].outputs.extensions)
        assert "stdin" not in outputs  # ToolHive attaches to the `mcp` container only


def test_published_outputs_get_a_service_a_policy_and_a_route_on_the_servers_host(prod):
    services = objects(prod, "Service")
    policies = objects(prod, "NetworkPolicy")
    routes = {r["name"]: r for r in prod.outputs["mcp_routes"]}
    for name in with_outputs(prod):
        service = services[f"outputs-{name}"]["spec"]
        assert service == {
            "type": "ClusterIP",
            "selector": backend_selector(name),
            "ports": [{"name": "outputs", "port": 8090, "targetPort": "outputs", "protocol": "TCP"}],
        }
        # Only the edge controller's namespace reaches the sidecar, on its port only.
        allowed = [
            (peer, rule.get("ports"))
            for policy in policies.values()
            if policy["spec"]["podSelector"].get("matchLabels", {}).items() <= backend_selector(name).items()
            and policy["spec"]["podSelector"].get("matchLabels")
            for rule in policy["spec"].get("ingress", [])
            for peer in rule.get("from", [])
        ]
        edge = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nginx-ingress"}}}
        assert (edge, [{"protocol": "TCP", "port": 8090}]) in allowed
        assert all(peer == edge for peer, ports in allowed if {"protocol": "TCP", "port": 8090} in (ports or []))
        assert routes[name]["outputs"] == {"service": f"outputs-{name}", "port": 8090}
        minion = objects(prod, "Ingress")[f"mcp-{name}-outputs"]
        [rule] = minion["spec"]["rules"]
        [path] = rule["http"]["paths"]
        assert (path["path"], path["pathType"]) == (f"{routes[name]['path']}/outputs/", "Prefix")
        assert path["backend"]["service"] == {"name": f"outputs-{name}", "port": {"number": 8090}}
        assert minion["metadata"]["annotations"]["nginx.org/rewrites"] == f"serviceName=outputs-{name} rewrite=/"
        mcp_minion = objects(prod, "Ingress")[f"mcp-{name}-mcp"]
        assert rule["host"] == mcp_minion["spec"]["rules"][0]["host"]
        assert minion["metadata"]["annotations"].get("nginx.org/policies") == mcp_minion["metadata"]["annotations"].get(
            "nginx.org/policies"
        )
    domain = prod.outputs["domain"]
    assert prod.outputs["outputs_urls"] == {
        name: f"https://{domain}{routes[name]['path']}/outputs" for name in [*with_outputs(prod), "penrose"]
    }


def test_dev_publishes_no_outputs_of_the_withheld_data_exploration(fixture_dev):
    names = {r["name"] for r in fixture_dev.outputs["mcp_routes"]}
    assert "data-exploration" not in names
    assert "outputs-data-exploration" not in objects(fixture_dev, "Service")
    assert "mcp-data-exploration-outputs" not in objects(fixture_dev, "NetworkPolicy")
    assert "data-exploration" not in fixture_dev.outputs["outputs_urls"]
    assert env_of(fixture_dev, "data-exploration")["OUTPUTS_BASE_URL"] == ""
    assert [c["name"] for c in pod(fixture_dev, "data-exploration")["containers"]] == ["mcp", "outputs"]  # retention
    assert sorted(fixture_dev.outputs["outputs_urls"]) == ["pandas", "penrose"]


def test_gateway_api_routes_the_outputs_to_the_sidecar():
    config = cfg()
    plan = build_plan(config)
    objs = gateway_objects(build_edge_plan(config, plan.routes), {})
    route = next(o for o in objs if o["metadata"]["name"] == "mcp-pandas")
    [rule] = [r for r in route["spec"]["rules"] if r["backendRefs"][0]["name"] == "outputs-pandas"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/pandas/outputs"}}]
    assert rule["backendRefs"] == [{"name": "outputs-pandas", "port": 8090}]
    assert rule["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
    streaming = next(o for o in objs if o["kind"] == "ProxySettingsPolicy")
    assert {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "mcp-pandas"} in streaming["spec"][
        "targetRefs"
    ]


def test_the_sidecar_image_is_among_the_images_the_stack_runs():
    """Pinned by digest in production like every other: `mcpds images` lists it even when
    the data exploration server itself is off."""
    raw = base_config()
    raw["mcp"]["servers"]["data-exploration"] = {"enabled": False}
    image = versions.SERVER_IMAGES[sidecar.IMAGE_KEY]
    assert f"ghcr.io/finetunings-ai/mcp-datascience/{image.repository}:{image.tag}" in stack_images(cfg(raw))


# ---------------------------------------------------------------------------
# Upstream facts the catalog records, and the images that carry them out
# ---------------------------------------------------------------------------


def test_pandas_writes_its_charts_where_serve_py_and_the_outputs_volume_are():
    """marlonluo2018/pandas-mcp-server d4892fa core/chart_generators/base.py writes
    `<install root>/charts/chart_<type>_<epoch>.html`; the image installs it at
    /opt/pandas-mcp-server and starts it through serve.py, which renames each chart."""
    spec = CATALOG["pandas"]
    dockerfile = (ROOT / "images" / "pandas-mcp-server" / "Dockerfile").read_text()
    assert "COPY --from=build /opt/pandas-mcp-server /opt/pandas-mcp-server" in dockerfile
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "/opt/mcpds/serve.py"]' in dockerfile
    assert "COPY serve.py /opt/mcpds/serve.py" in dockerfile
    serve = (ROOT / "images" / "pandas-mcp-server" / "serve.py").read_text()
    assert 'UPSTREAM = Path("/opt/pandas-mcp-server")' in serve
    assert spec.outputs.directory == "/opt/pandas-mcp-server/charts"
    assert spec.outputs.extensions == ("html",)
    # The chart templates load Chart.js and its datalabels plugin (templates/*_template.html L7-8).
    assert spec.outputs.script_sources == (
        "https://cdn.jsdelivr.net/npm/chart.js",
        "https://cdn.jsdelivr.net/npm/chartjs-plugin-datalabels@2.0.0",
    )
    assert "chart_<bar|line|pie>_<epoch seconds>.html" in spec.outputs.naming


def test_the_data_exploration_image_carries_matplotlib_headless_and_the_outputs_server():
    context = ROOT / versions.SERVER_IMAGES[sidecar.IMAGE_KEY].context
    dockerfile = (context / "Dockerfile").read_text()
    assert f"COPY outputs_server.py {sidecar.COMMAND[-1]}" in dockerfile
    assert "COPY --from=build /opt/venv /opt/venv" in dockerfile  # the command's interpreter
    assert "MPLBACKEND=Agg" in dockerfile
    assert "matplotlib==3.11.2" in (context / "requirements.in").read_text()
    assert "\nmatplotlib==3.11.2 \\\n" in (context / "requirements.txt").read_text()
    assert "OUTPUTS_DIR" in CATALOG["data-exploration"].env


def test_render_json_lists_the_outputs_urls(prod):
    json.dumps(prod.outputs["outputs_urls"])  # plain strings, what `pulumi stack output --json` prints
    assert all(url.startswith("https://") and not url.endswith("/") for url in prod.outputs["outputs_urls"].values())


# ---------------------------------------------------------------------------
# images/pandas-mcp-server/serve.py, against upstream's _save_chart contract
# ---------------------------------------------------------------------------


def _serve_module() -> Any:
    spec = importlib.util.spec_from_file_location("pandas_serve", ROOT / "images" / "pandas-mcp-server" / "serve.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _upstream(directory: Path) -> type:
    """What ChartGenerator._save_chart does at d4892fa: DEBUG prints on stdout, the chart
    written as chart_<type>_<epoch seconds>.html, an answer naming its path."""

    class ChartGenerator:
        chart_type = "bar"

        def _save_chart(self, config: dict[str, Any], title: str = "Chart") -> dict[str, Any]:
            path = directory / f"chart_{self.chart_type}_{int(time.time())}.html"
            print(f"DEBUG - Output file path: {path}")
            path.write_text(f"<title>{title}</title>{json.dumps(config['data'])}")
            return {"status": "SUCCESS", "html_path": str(path), "type": self.chart_type}

    return ChartGenerator


def test_serve_py_renames_each_chart_to_an_unguessable_name_and_answers_its_url(tmp_path, capsys):
    serve = _serve_module()
    generator = _upstream(tmp_path)
    serve.wrap_save_chart(generator, "https://charts.example.org/pandas/outputs/")
    first = generator()._save_chart({"data": {"labels": ["a"]}}, "Mean petal")
    second = generator()._save_chart({"data": {"labels": ["b"]}}, "Mean sepal")
    assert capsys.readouterr().out == ""  # upstream's prints kept off the stdio protocol stream
    for answer in (first, second):
        name = Path(answer["html_path"]).name
        assert re.fullmatch(r"[0-9a-f]{32}\.html", name)
        assert Path(answer["html_path"]).parent == tmp_path
        assert answer["url"] == f"https://charts.example.org/pandas/outputs/{name}"
        assert answer["type"] == "bar"
    assert first["html_path"] != second["html_path"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        Path(a["html_path"]).name for a in (first, second)
    )  # no chart_bar_<epoch>.html left behind
    assert "Mean petal" in Path(first["html_path"]).read_text()


def test_serve_py_leaves_errors_alone_and_gives_no_url_while_unpublished(tmp_path):
    serve = _serve_module()
    error = {"status": "ERROR", "message": "Invalid chart type"}
    assert serve.publish(error, "https://x.example/o") is error
    generator = _upstream(tmp_path)
    serve.wrap_save_chart(generator, None)
    answer = generator()._save_chart({"data": {}})
    assert "url" not in answer
    assert re.fullmatch(r"[0-9a-f]{32}\.html", Path(answer["html_path"]).name)
