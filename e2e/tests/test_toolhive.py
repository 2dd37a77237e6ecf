"""Point 4 and 5: what the real ToolHive operator makes from the stack's MCPServers,
VirtualMCPServer and MCPGroup, read back live and checked against the plan's facts."""

from __future__ import annotations

import pytest

from components import plan
from e2e.tests.conftest import checked

# Conditions that only say the workload is not running: there is no kubelet here.
NOT_RUNNING_REASONS = {"DeploymentNotReady", "PodsNotReady", "NotReady", "Pending", "BackendsNotReady"}


def _by_name(items):
    return {(i["metadata"]["namespace"], i["metadata"]["name"]): i for i in items}


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def test_every_mcpserver_has_its_proxy_deployment_and_service(live):
    deployments = _by_name(live.kube.list("apps/v1", "Deployment"))
    services = _by_name(live.kube.list("v1", "Service"))
    for server in live.rendered("MCPServer"):
        ns, name = server["metadata"]["namespace"], server["metadata"]["name"]
        deployment = deployments[(ns, name)]
        service = services[(ns, plan.proxy_service(name))]
        template_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert plan.proxy_selector(name).items() <= template_labels.items()
        assert _selects(service["spec"]["selector"], template_labels)
        ports = {p["port"]: p for p in service["spec"]["ports"]}
        assert server["spec"]["proxyPort"] in ports
        owner = deployment["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"]) == ("MCPServer", name)
        checked(live, f"Deployment {ns}/{name}", f"Service {ns}/{plan.proxy_service(name)}")


def test_the_virtual_mcp_server_has_its_deployment_and_service(live):
    vmcps = live.rendered("VirtualMCPServer")
    assert vmcps, "the stack aggregates gov-data: a VirtualMCPServer is expected"
    for vmcp in vmcps:
        ns, name = vmcp["metadata"]["namespace"], vmcp["metadata"]["name"]
        deployment = live.kube.get("apps/v1", "Deployment", name, ns)
        service = live.kube.get("v1", "Service", plan.vmcp_service(name), ns)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert plan.vmcp_selector(name).items() <= labels.items()
        assert _selects(service["spec"]["selector"], labels)
        assert plan.VMCP_PORT in {p["port"] for p in service["spec"]["ports"]}
        checked(live, f"Deployment {ns}/{name}", f"Service {ns}/{plan.vmcp_service(name)}")


@pytest.mark.parametrize("kind", ["MCPServer", "VirtualMCPServer", "MCPGroup"])
def test_status_conditions_carry_no_error_but_pods_not_ready(live, kind):
    for rendered in live.rendered(kind):
        meta = rendered["metadata"]
        obj = live.kube.get(rendered["apiVersion"], kind, meta["name"], meta["namespace"])
        status = obj.get("status") or {}
        assert status, f"{kind} {meta['name']} has no status: the operator never reconciled it"
        for condition in status.get("conditions", []):
            if condition["status"] == "False" and condition["type"] in {"Ready", "Available"}:
                assert condition.get("reason") in NOT_RUNNING_REASONS, (kind, meta["name"], condition)
            if condition["type"].endswith(("Failed", "Error", "Invalid")) or condition.get("reason", "").endswith(
                ("Failed", "Error", "Invalid")
            ):
                pytest.fail(f"{kind} {meta['name']}: {condition}")
        checked(live, f"{kind} {meta['namespace']}/{meta['name']}")
