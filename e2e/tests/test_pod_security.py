"""Point 4: every pod template the operator makes, and every Pod the controller-manager
creates from them, passes Pod Security `restricted`: the API server says so."""

from __future__ import annotations

from e2e.tests.conftest import checked

OPERATOR_OWNERS = {"MCPServer", "VirtualMCPServer"}


def _operator_workloads(live):
    for kind in ("Deployment", "StatefulSet"):
        for workload in live.kube.list("apps/v1", kind):
            owners = {o["kind"] for o in workload["metadata"].get("ownerReferences", [])}
            if owners & OPERATOR_OWNERS or workload["metadata"].get("labels", {}).get("toolhive") == "true":
                yield kind, workload


def _restricted(live, namespace: str) -> bool:
    labels = live.kube.get("v1", "Namespace", namespace)["metadata"].get("labels", {})
    return labels.get("pod-security.kubernetes.io/enforce") == "restricted"


def test_the_operator_made_workloads(live):
    made = list(_operator_workloads(live))
    servers = len(live.rendered("MCPServer")) + len(live.rendered("VirtualMCPServer"))
    assert len([w for k, w in made if k == "Deployment"]) == servers


def test_every_operator_pod_template_passes_restricted(live):
    for kind, workload in _operator_workloads(live):
        meta = workload["metadata"]
        assert _restricted(live, meta["namespace"]), f"{meta['namespace']} does not enforce restricted"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"pss-{meta['name']}"[:63], "namespace": meta["namespace"]},
            "spec": workload["spec"]["template"]["spec"],
        }
        response = live.kube.apply(pod, dry_run=True)  # enforce refuses, warn would warn
        assert response.warnings == [], f"{kind} {meta['name']}: {response.warnings}"
        checked(live, f"{kind} {meta['namespace']}/{meta['name']} template")


def test_the_controller_manager_created_every_pod(live):
    namespaces = {w["metadata"]["namespace"] for _k, w in _operator_workloads(live)}
    for namespace in namespaces:
        failed = [
            e
            for e in live.kube.list("v1", "Event", namespace)
            if e.get("reason") in {"FailedCreate", "FailedCreatePodSandBox"}
        ]
        assert failed == [], [e["message"] for e in failed]
        pods = live.kube.list("v1", "Pod", namespace)
        owners = [("ReplicaSet", r) for r in live.kube.list("apps/v1", "ReplicaSet", namespace)]
        owners += [("StatefulSet", s) for s in live.kube.list("apps/v1", "StatefulSet", namespace)]
        for kind, owner in owners:
            wanted = owner["spec"].get("replicas", 0)
            if kind == "StatefulSet" and owner["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady":
                wanted = min(wanted, 1)  # pod N+1 waits for pod N to be Ready, which needs a kubelet
            made = [
                p
                for p in pods
                if any(o["uid"] == owner["metadata"]["uid"] for o in p["metadata"].get("ownerReferences", []))
            ]
            assert len(made) == wanted, f"{kind} {owner['metadata']['name']}: {len(made)} of {wanted} pods"
            checked(live, *(f"Pod {namespace}/{p['metadata']['name']}" for p in made))
