"""MCPServerSet as rendered: every server, its pod, its network, its scaling."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.mcp_servers import DELETION_PROPAGATION_ANNOTATION, EXECUTES_CODE_ANNOTATION
from components.quantities import parse_quantity
from offline.harness import ProgramRun
from policies.mcp_policies import kube

NS = "data-science"
REGISTRY = "ghcr.io/finetunings-ai/mcp-datascience"

# What each server must look like, written out independently of the catalog.
# (transport, proxyPort, mcpPort, size class, egress, route path or group, probe, writes)
EXPECTED: dict[str, tuple[Any, ...]] = {
    "huggingface": ("streamable-http", 8001, 3000, "small", "internet", "/huggingface", ("tcp", None)),
    "dataset-viewer": ("stdio", 8008, None, "small", "internet", "/dataset-viewer", None),
    "data-exploration": ("stdio", 8003, None, "large", "none", "/data-explorer", None),
    "pandas": ("stdio", 8004, None, "large", "none", "/pandas", None),
    "datahub": ("streamable-http", 8005, 8000, "small", "internet", "/datahub", ("http", "/health")),
    "penrose": ("streamable-http", 8006, 8080, "medium", "none", "/penrose", ("http", "/health")),
    "datagov": ("streamable-http", 8007, 3000, "small", "internet", "group:gov-data", ("tcp", None)),
    "treasury": ("streamable-http", 8007, 3010, "medium", "internet", "group:gov-data", ("http", "/healthz")),
    "nasa-cmr": ("streamable-http", 8007, 4040, "medium", "internet", "group:gov-data", ("http", "/healthz")),
}
PROD_SIZES = {
    "small": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
    "medium": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "3", "memory": "6Gi"}},
    "large": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
}
STATELESS_HTTP = {"huggingface", "datahub", "datagov", "treasury", "nasa-cmr"}
# Where the servers with outputs write them (pandas: upstream's <install root>/charts).
OUTPUT_DIRECTORIES = {"data-exploration": "/tmp/outputs", "pandas": "/opt/pandas-mcp-server/charts"}
HARDENED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def objects(run: ProgramRun, kind: str, namespace: str = NS) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in run.objects()
        if o["kind"] == kind and o["metadata"].get("namespace") == namespace
    }


def mcp_container(spec: dict[str, Any]) -> dict[str, Any]:
    """The `mcp` container patch of an MCPServer spec (the first: ToolHive reports the
    first container's image as the workload's)."""
    containers = spec["podTemplateSpec"]["spec"]["containers"]
    assert containers[0]["name"] == "mcp"
    assert [c["name"] for c in containers[1:]] in ([], ["outputs"])
    return containers[0]


def test_prod_holds_nine_servers_one_vmcp_and_their_configs(fixture_prod):
    assert sorted(objects(fixture_prod, "MCPServer")) == sorted(EXPECTED)
    assert list(objects(fixture_prod, "VirtualMCPServer")) == ["gov-data"]
    assert list(objects(fixture_prod, "MCPGroup")) == ["gov-data"]
    assert list(objects(fixture_prod, "MCPTelemetryConfig")) == ["mcp-telemetry"]
    assert sorted(objects(fixture_prod, "MCPToolConfig")) == [
        "datagov-tools",
        "dataset-viewer-tools",
        "huggingface-tools",
        "pandas-tools",
    ]
    assert list(objects(fixture_prod, "MCPOIDCConfig")) == ["mcp-oidc"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_server_as_rendered(fixture_prod, name):
    transport, proxy_port, mcp_port, size, egress, route, probe = EXPECTED[name]
    spec = objects(fixture_prod, "MCPServer")[name]["spec"]
    # image pinned to the project's registry, never latest
    assert spec["image"].startswith(REGISTRY + "/")
    tag = spec["image"].rsplit(":", 1)[1]
    assert tag
    assert tag != "latest"
    assert spec["transport"] == transport
    assert spec["proxyPort"] == proxy_port
    assert spec.get("mcpPort") == mcp_port
    if transport == "stdio":
        assert spec["proxyMode"] == "streamable-http"
    # the MCP container is sized through podTemplateSpec; spec.resources is the proxy's
    container = mcp_container(spec)
    assert container["resources"] == PROD_SIZES[size]
    assert spec["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert container["securityContext"] == HARDENED
    pod = spec["podTemplateSpec"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # every server writes to /tmp, on an emptyDir, and a server with outputs to its outputs volume
    mounts = [{"name": "scratch-0", "mountPath": "/tmp"}]
    volumes = [{"name": "scratch-0", "emptyDir": {"sizeLimit": "1Gi"}}]
    if name in OUTPUT_DIRECTORIES:
        mounts.append({"name": "outputs", "mountPath": OUTPUT_DIRECTORIES[name]})
        volumes.append({"name": "outputs", "emptyDir": {"sizeLimit": "512Mi"}})
    assert container["volumeMounts"] == mounts
    assert pod["volumes"] == volumes
    assert "volumes" not in spec  # MCPServer.spec.volumes is hostPath only
    # egress class, from the backend's NetworkPolicy
    backend_policy = objects(fixture_prod, "NetworkPolicy")[f"mcp-{name}-backend"]["spec"]
    internet = [r for r in backend_policy["egress"] if any("ipBlock" in p for p in r["to"])]
    assert ("internet" if internet else "none") == egress
    if internet:
        assert internet[0]["ports"] == [{"protocol": "TCP", "port": 443}]
    # route
    routes = {r["name"]: r for r in fixture_prod.outputs["mcp_routes"]}
    if route.startswith("group:"):
        assert name not in routes
        assert spec["groupRef"] == {"name": route.split(":")[1]}
    else:
        assert routes[name]["path"] == route
        assert routes[name]["service"] == f"mcp-{name}-proxy"
        assert routes[name]["port"] == proxy_port
    # probes on the mcp container where the server has a port
    if probe is None:
        assert "livenessProbe" not in container
        assert "readinessProbe" not in container
    else:
        kind, path = probe
        for key in ("livenessProbe", "readinessProbe"):
            if kind == "http":
                assert container[key]["httpGet"] == {"path": path, "port": mcp_port}
            else:
                assert container[key]["tcpSocket"] == {"port": mcp_port}
    assert spec["telemetryConfigRef"] == {"name": "mcp-telemetry", "serviceName": name}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_backend_pod_mounts_a_service_account_token(stack_runs, stack):
    run = stack_runs[stack]
    account = objects(run, "ServiceAccount")["mcp-backend"]
    assert account["automountServiceAccountToken"] is False
    for name, server in objects(run, "MCPServer").items():
        assert server["spec"]["serviceAccount"] == "mcp-backend", name
        assert server["spec"]["podTemplateSpec"]["spec"]["automountServiceAccountToken"] is False, name
    # the account is bound to nothing
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for binding in run.objects():
            if binding["kind"] == kind:
                assert all(s.get("name") != "mcp-backend" for s in binding.get("subjects", []))


def test_proxy_health_check_fix_on_http_proxies(fixture_prod):
    for name, server in objects(fixture_prod, "MCPServer").items():
        env = server["spec"]["resourceOverrides"]["proxyDeployment"].get("env", [])
        if server["spec"]["transport"] == "stdio":
            assert env == [], name
        else:
            assert {"name": "TOOLHIVE_HEALTH_CHECK_PING_TIMEOUT", "value": "2s"} in env, name
            assert {"name": "TOOLHIVE_HEALTH_CHECK_FAILURE_THRESHOLD", "value": "12"} in env, name


def test_hugging_face_host_allowlist_and_read_only_tools(fixture_prod):
    server = objects(fixture_prod, "MCPServer")["huggingface"]["spec"]
    env = {e["name"]: e["value"] for e in server["env"]}
    # the ToolHive proxy sends Host: mcp-huggingface (the runner's backend Service)
    assert env["MCP_ALLOWED_HOSTS"] == "mcp-huggingface"
    assert env["DISABLE_TOOLS"] == "create_repo,hf_jobs,dynamic_space"
    tools = objects(fixture_prod, "MCPToolConfig")["huggingface-tools"]["spec"]["toolsFilter"]
    assert not {"create_repo", "hf_jobs", "dynamic_space"} & set(tools)
    assert "hub_repo_search" in tools


def test_pandas_code_execution_is_off_and_hidden(fixture_prod):
    server = objects(fixture_prod, "MCPServer")["pandas"]["spec"]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["PANDAS_MCP_ENABLE_CODE_EXECUTION"] == "false"
    # The directory config.py creates at import is the one the charts are written to.
    assert env["PANDAS_MCP_CHARTS_DIR"] == OUTPUT_DIRECTORIES["pandas"]
    assert "run_pandas_code_tool" not in objects(fixture_prod, "MCPToolConfig")["pandas-tools"]["spec"]["toolsFilter"]


def test_code_executing_server_is_behind_oidc_in_prod(fixture_prod):
    spec = objects(fixture_prod, "MCPServer")["data-exploration"]["spec"]
    assert spec["oidcConfigRef"]["name"] == "mcp-oidc"
    assert spec["oidcConfigRef"]["resourceUrl"] == "https://finetunings.ai/data-explorer/mcp"
    oidc = objects(fixture_prod, "MCPOIDCConfig")["mcp-oidc"]["spec"]
    assert oidc == {"type": "inline", "inline": {"issuer": "https://auth.finetunings.ai/realms/mcp"}}


def test_every_server_declares_whether_it_executes_code(fixture_prod):
    """The policy pack recognises catalog images by their facts and fails closed on an
    unknown image without this declaration, so a user-defined server needs it."""
    annotation = "mcp-datascience.finetunings.ai/executes-code"
    declared = {
        name: obj["metadata"].get("annotations", {}).get(annotation)
        for name, obj in objects(fixture_prod, "MCPServer").items()
    }
    assert set(declared.values()) == {"true", "false"}
    assert {n for n, v in declared.items() if v == "true"} == {"data-exploration"}  # pandas: code tool off
    # The policy pack cannot import components/: its copy of the name is tied here.
    assert EXECUTES_CODE_ANNOTATION == kube.EXECUTES_CODE_ANNOTATION == annotation


def test_telemetry_config_pushes_traces_and_serves_metrics_once(fixture_prod):
    spec = objects(fixture_prod, "MCPTelemetryConfig")["mcp-telemetry"]["spec"]
    otel = spec["openTelemetry"]
    assert otel["enabled"] is True
    assert otel["endpoint"].endswith(".monitoring.svc.cluster.local:4318")
    # Tracing on is also what keeps the endpoint valid (the operator's
    # validateEndpointRequiresSignals: an endpoint needs a signal).
    assert otel["tracing"] == {"enabled": True, "samplingRate": "0.05"}
    # Metrics have one source: Prometheus scrapes /metrics; no OTLP copy of each series.
    assert otel["metrics"] == {"enabled": False}
    assert spec["prometheus"] == {"enabled": True}


def test_only_the_vmcp_is_deleted_in_the_background(fixture_dev, fixture_prod):
    """The operator re-creates a vMCP's Deployment while a foreground delete waits on it;
    MCPServers keep the provider's foreground default (their finalizer is the operator's)."""
    for run in (fixture_dev, fixture_prod):
        for obj in run.objects():
            policy = (obj["metadata"].get("annotations") or {}).get(DELETION_PROPAGATION_ANNOTATION)
            assert policy == ("background" if obj["kind"] == "VirtualMCPServer" else None), obj["metadata"]["name"]
        assert objects(run, "VirtualMCPServer")


def test_gov_data_is_one_vmcp_endpoint(fixture_prod):
    vmcp = objects(fixture_prod, "VirtualMCPServer")["gov-data"]["spec"]
    assert vmcp["groupRef"] == {"name": "gov-data"}
    assert vmcp["incomingAuth"] == {"type": "anonymous"}
    assert vmcp["replicas"] == 1  # session state is per pod without Redis
    routes = {r["name"]: r for r in fixture_prod.outputs["mcp_routes"]}
    assert routes["gov-data"] == {
        "name": "gov-data",
        "path": "/gov-data",
        "service": "vmcp-gov-data",
        "port": 4483,
        "mcp_path": "/mcp",
        "requires_auth": False,
        "outputs": None,
    }
    assert sorted(r["path"] for r in fixture_prod.outputs["mcp_routes"]) == [
        "/data-explorer",
        "/datahub",
        "/dataset-viewer",
        "/gov-data",
        "/huggingface",
        "/pandas",
        "/penrose",
    ]


# ---------------------------------------------------------------------------
# Scaling
# ---------------------------------------------------------------------------


def test_only_stateless_http_servers_autoscale(fixture_prod):
    hpas = objects(fixture_prod, "HorizontalPodAutoscaler")
    scaled = {name.rsplit("-", 1)[0] for name in hpas}
    assert scaled == STATELESS_HTTP
    for name, server in objects(fixture_prod, "MCPServer").items():
        spec = server["spec"]
        if name in STATELESS_HTTP:
            assert "replicas" not in spec  # owned by the HPA
            assert "backendReplicas" not in spec
            proxy = hpas[f"{name}-proxy"]["spec"]
            backend = hpas[f"{name}-backend"]["spec"]
            assert proxy["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            assert backend["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name}
            assert (proxy["minReplicas"], proxy["maxReplicas"]) == (2, 4)
        else:
            assert spec["replicas"] == 1
            assert spec["backendReplicas"] == 1


def test_disruption_budgets_only_where_replicas_run(fixture_prod, fixture_dev):
    pdbs = objects(fixture_prod, "PodDisruptionBudget")
    assert sorted(pdbs) == sorted(f"{n}-{r}" for n in STATELESS_HTTP for r in ("proxy", "backend"))
    assert pdbs["datahub-proxy"]["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "datahub"}},
    }
    assert pdbs["datahub-backend"]["spec"]["selector"] == {"matchLabels": {"app": "datahub", "toolhive": "true"}}
    assert objects(fixture_dev, "PodDisruptionBudget") == {}  # the fixture dev runs one replica minimum


# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------


def _pods(run: ProgramRun) -> list[tuple[str, dict[str, str]]]:
    """The pods the operator will create in the MCP namespace, with their labels."""
    pods = []
    for name in objects(run, "MCPServer"):
        pods.append((f"{name} proxy", {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": name}))
        pods.append((f"{name} backend", {"app": name, "toolhive": "true", "toolhive-name": name}))
    for name in objects(run, "VirtualMCPServer"):
        pods.append(
            (f"{name} vmcp", {"app.kubernetes.io/name": "virtualmcpserver", "app.kubernetes.io/instance": name})
        )
    return pods


def _selects(policy: dict[str, Any], pod_labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return wanted.items() <= pod_labels.items()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_pod_is_selected_by_a_policy_of_its_own(stack_runs, stack):
    run = stack_runs[stack]
    policies = objects(run, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    specific = [p for n, p in policies.items() if p["spec"]["podSelector"] != {}]
    for pod, pod_labels in _pods(run):
        assert any(_selects(p, pod_labels) for p in specific), f"no NetworkPolicy names the {pod} pod"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_egress_to_everywhere_reaches_cloud_metadata(stack_runs, stack):
    metadata = ipaddress.ip_address("169.254.169.254")
    opened = 0
    for obj in stack_runs[stack].objects():
        if obj["kind"] != "NetworkPolicy":
            continue
        for rule in obj["spec"].get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if not block or metadata not in ipaddress.ip_network(block["cidr"]):
                    continue
                opened += 1
                excepted = [ipaddress.ip_network(c) for c in block.get("except", [])]
                assert any(metadata in net for net in excepted), obj["metadata"]
    assert opened > 0  # the check saw the internet and API rules


def test_backends_take_traffic_only_from_their_proxy(prod):
    policies = objects(prod, "NetworkPolicy")
    for name, server in objects(prod, "MCPServer").items():
        backend = policies[f"mcp-{name}-backend"]["spec"]
        if server["spec"]["transport"] == "stdio":
            assert backend["ingress"] == []  # stdin through the API server, never the network
        else:
            [rule] = backend["ingress"]
            assert rule["from"] == [
                {
                    "podSelector": {
                        "matchLabels": {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": name}
                    }
                }
            ]
            assert rule["ports"] == [{"protocol": "TCP", "port": server["spec"]["mcpPort"]}]


def test_proxies_take_traffic_from_the_edge_monitoring_and_vmcp(fixture_prod):
    policies = objects(fixture_prod, "NetworkPolicy")
    edge = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nginx-ingress"}}}
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    vmcp = {
        "podSelector": {
            "matchLabels": {"app.kubernetes.io/name": "virtualmcpserver", "app.kubernetes.io/instance": "gov-data"}
        }
    }
    for name, (_, proxy_port, *_rest) in EXPECTED.items():
        [rule] = policies[f"mcp-{name}-proxy"]["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": proxy_port}]
        assert monitoring in rule["from"]
        grouped = EXPECTED[name][5].startswith("group:")
        assert (edge in rule["from"]) is not grouped  # group members are published through vMCP only
        assert (vmcp in rule["from"]) is grouped


def test_code_executing_servers_have_no_egress(fixture_prod):
    policies = objects(fixture_prod, "NetworkPolicy")
    for name in ("data-exploration", "pandas"):
        assert policies[f"mcp-{name}-backend"]["spec"]["egress"] == []


def test_dns_egress_for_the_whole_namespace(prod):
    dns = objects(prod, "NetworkPolicy")["allow-dns"]["spec"]
    assert dns["podSelector"] == {}
    assert dns["egress"][0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def test_prod_warns_until_the_api_server_address_is_set(run):
    unset = run("prod", **{"network.api_server_cidrs": None})
    assert any("network.api_server_cidrs is not set" in m for level, m in unset.logs if level == "warning")
    pinned = run("prod", **{"network.api_server_cidrs": ["10.0.0.1/32"]})
    assert not any("api_server_cidrs" in m for _, m in pinned.logs)
    proxy = objects(pinned, "NetworkPolicy")["mcp-datahub-proxy"]["spec"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
    } in proxy["egress"]


# ---------------------------------------------------------------------------
# Sizing per environment
# ---------------------------------------------------------------------------


def _requests(run: ProgramRun) -> tuple[float, float]:
    cpu = memory = 0.0
    for server in objects(run, "MCPServer").values():
        pod = [c["resources"] for c in server["spec"]["podTemplateSpec"]["spec"]["containers"]]
        for res in (*pod, server["spec"]["resources"]):
            cpu += float(parse_quantity(res["requests"]["cpu"]))
            memory += float(parse_quantity(res["requests"]["memory"]))
    return cpu, memory


def test_dev_fits_one_small_node_with_room_for_the_platform(fixture_dev):
    cpu, memory = _requests(fixture_dev)
    # A 4 vCPU / 16 GiB node; the MCP layer takes at most half of it.
    assert cpu <= 2.0
    assert memory <= 8 * 2**30


def test_prod_mcp_containers_stay_in_the_seed_range(fixture_prod):
    for name, server in objects(fixture_prod, "MCPServer").items():
        res = mcp_container(server["spec"])["resources"]
        assert 1 <= parse_quantity(res["requests"]["cpu"]) <= parse_quantity(res["limits"]["cpu"]) <= 4, name
        assert (
            2 * 2**30
            <= parse_quantity(res["requests"]["memory"])
            <= parse_quantity(res["limits"]["memory"])
            <= 8 * 2**30
        ), name


def test_per_server_size_override(run_fixture):
    result = run_fixture(
        "prod", **{"mcp.servers.penrose.size": "large", "mcp.servers.pandas.resources": PROD_SIZES["small"]}
    )
    servers = objects(result, "MCPServer")
    assert mcp_container(servers["penrose"]["spec"])["resources"] == PROD_SIZES["large"]
    assert mcp_container(servers["pandas"]["spec"])["resources"] == PROD_SIZES["small"]


def test_fifty_user_defined_servers_render_valid(validators):
    from offline.bench import scaled_config
    from offline.harness import run_program

    result = run_program("prod", config=scaled_config(50))
    servers = objects(result, "MCPServer")
    assert len(servers) == 59
    assert servers["extra-007"]["spec"]["image"] == "registry.example.com/bench/server-007:1.0.7"
    validator = validators("1.34")
    assert [o["metadata"]["name"] for o in result.objects() if validator.errors(o)] == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_pod_template_of_ours_runs_as_a_host_account_uid(stack_runs, stack):
    """Host accounts get UIDs from 1000 up: a container sharing one would own that user's
    files on a hostPath or after an escape. Every podTemplateSpec runs as 10000 or above."""
    templates = [
        (o["metadata"]["name"], o["spec"]["podTemplateSpec"]["spec"])
        for kind in ("MCPServer", "VirtualMCPServer")
        for o in objects(stack_runs[stack], kind).values()
    ]
    assert templates
    for name, pod in templates:
        contexts = [pod.get("securityContext", {}), *(c.get("securityContext", {}) for c in pod["containers"])]
        uids = [ctx["runAsUser"] for ctx in contexts if "runAsUser" in ctx]
        assert uids, name
        assert min(uids) >= 10000, (name, uids)
