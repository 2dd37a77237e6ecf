"""Point 5: what the offline proof assumes about the operator's output (components/plan.py
for the components, policies/mcp_policies/kube.py for the policy pack, the dashboards' pod
and HPA name patterns) checked against the objects the real operator, proxy runner and
controller-manager made in this run. The offline tests keep their models (make test has no
control plane); this is where the models meet the real thing."""

from __future__ import annotations

import json
import re

from components import monitoring, outputs, plan
from e2e.tests.conftest import checked
from policies.mcp_policies import kube as pack


def _pods(live, namespace: str) -> list[dict]:
    return live.kube.list("v1", "Pod", namespace)


def _owned_by(pod: dict, kind: str) -> bool:
    return any(o["kind"] == kind for o in pod["metadata"].get("ownerReferences", []))


def test_the_pack_and_the_plan_model_proxy_and_backend_pods_as_they_are(live):
    for server in live.rendered("MCPServer"):
        ns, name = server["metadata"]["namespace"], server["metadata"]["name"]
        proxy = live.kube.get("apps/v1", "Deployment", name, ns)["spec"]["template"]["metadata"]["labels"]
        backend = live.kube.get("apps/v1", "StatefulSet", name, ns)["spec"]["template"]["metadata"]["labels"]
        assert pack.proxy_pod_labels(name).items() <= proxy.items(), (name, proxy)
        assert pack.backend_pod_labels(name).items() <= backend.items(), (name, backend)
        assert plan.backend_selector(name).items() <= backend.items()
        assert not plan.backend_selector(name).items() <= proxy.items(), "backend policies would select the proxy"
        assert live.kube.get_or_none("v1", "Service", pack.proxy_service(name), ns) is not None
        checked(live, f"StatefulSet {ns}/{name}")


def test_http_backends_get_the_service_the_plan_names(live):
    for server in live.rendered("MCPServer"):
        ns, name = server["metadata"]["namespace"], server["metadata"]["name"]
        if server["spec"]["transport"] == "stdio":
            continue  # the runner attaches to stdio backends; no Service
        service = live.kube.get("v1", "Service", plan.backend_service(name), ns)
        assert service["spec"]["selector"].items() <= (
            live.kube.get("apps/v1", "StatefulSet", name, ns)["spec"]["template"]["metadata"]["labels"].items()
        )
        assert server["spec"]["mcpPort"] in {p["port"] for p in service["spec"]["ports"]}
        checked(live, f"Service {ns}/{plan.backend_service(name)}")


def test_the_outputs_sidecar_reaches_the_backend_pod_as_written(live):
    """components/outputs.py relies on the proxy runner copying the podTemplateSpec's second
    container and volumes into the backend StatefulSet, leaving `mcp` first (ToolHive reports
    the first container's image and attaches to `mcp` by name), and on our Service selecting
    the runner's pods and reaching the sidecar's named port."""
    found = 0
    for server in live.rendered("MCPServer"):
        ns, name = server["metadata"]["namespace"], server["metadata"]["name"]
        rendered = server["spec"]["podTemplateSpec"]["spec"]
        if outputs.CONTAINER not in {c["name"] for c in rendered["containers"]}:
            continue
        found += 1
        template = live.kube.get("apps/v1", "StatefulSet", name, ns)["spec"]["template"]
        containers = {c["name"]: c for c in template["spec"]["containers"]}
        assert template["spec"]["containers"][0]["name"] == "mcp"
        assert template["spec"]["containers"][0]["image"] == server["spec"]["image"]
        sidecar = containers[outputs.CONTAINER]
        assert sidecar["command"] == list(outputs.COMMAND)
        assert {"name": outputs.PORT_NAME, "containerPort": outputs.PORT, "protocol": "TCP"} in sidecar["ports"]
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert "emptyDir" in volumes[outputs.VOLUME]
        for container in (containers["mcp"], sidecar):
            assert outputs.VOLUME in {m["name"] for m in container["volumeMounts"]}, container["name"]
        assert not sidecar.get("stdin"), "the runner attaches stdin to `mcp` only"
        service = live.kube.get_or_none("v1", "Service", outputs.service_name(name), ns)
        if service is not None:  # published servers only
            assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
            assert [p["targetPort"] for p in service["spec"]["ports"]] == [outputs.PORT_NAME]
            checked(live, f"Service {ns}/{outputs.service_name(name)}")
        checked(live, f"StatefulSet {ns}/{name} outputs sidecar")
    assert found, "no MCPServer of the stack runs the outputs sidecar"


def test_the_pack_models_vmcp_pods_as_they_are(live):
    for vmcp in live.rendered("VirtualMCPServer"):
        ns, name = vmcp["metadata"]["namespace"], vmcp["metadata"]["name"]
        labels = live.kube.get("apps/v1", "Deployment", name, ns)["spec"]["template"]["metadata"]["labels"]
        assert pack.vmcp_pod_labels(name).items() <= labels.items()
        ports = live.kube.get("v1", "Service", pack.vmcp_service(name), ns)["spec"]["ports"]
        assert (pack.VMCP_PORT, "http") in {(p["port"], p.get("name")) for p in ports}


def _pattern(label: str) -> str:
    board = json.loads(monitoring.dashboard_files()["mcp-server.json"])
    exprs = [t["expr"] for p in board["panels"] if p["type"] != "row" for t in p.get("targets", [])]
    [pattern] = {m for e in exprs for m in re.findall(label + r'=~"([^"]+)"', e)}
    return pattern


def test_the_server_dashboard_matches_each_servers_real_pods_and_no_other(live):
    """The pod names the controller-manager really generated (Deployment and StatefulSet
    pods), not names made up in a test."""
    pattern = _pattern("pod")
    servers = [s["metadata"]["name"] for s in live.rendered("MCPServer")]
    ns = live.rendered("MCPServer")[0]["metadata"]["namespace"]
    pods = [p["metadata"]["name"] for p in _pods(live, ns) if _owned_by(p, "ReplicaSet") or _owned_by(p, "StatefulSet")]
    assert any(p.endswith("-0") for p in pods), "no StatefulSet pod was created"
    for server in servers:
        regex = re.compile(pattern.replace("$server", server))
        own = [p for p in pods if p.startswith(f"{server}-") and regex.fullmatch(p)]
        assert len(own) >= 2, (server, "its proxy and backend pods", pods)
        others = [p for p in pods if regex.fullmatch(p) and p not in own]
        assert others == [], (server, others)
        for p in pods:
            if regex.fullmatch(p):
                checked(live, f"Pod {ns}/{p}")
