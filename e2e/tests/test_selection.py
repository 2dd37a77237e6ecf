"""Point 4: the stack's NetworkPolicies, ServiceMonitors, HPAs, PDBs and Ingress backends
select what the controllers really made: labels, Service names and port names read from
the live objects. Checked in the namespaces the operator manages (the charts' own
workloads in the other namespaces are not installed here)."""

from __future__ import annotations

from e2e.tests.conftest import checked


def _watched(live) -> tuple[str, ...]:
    return live.cluster.operator.watched


def _templates(live, namespace: str) -> dict[tuple[str, str], dict]:
    """(kind, name) -> pod template labels of every live workload in the namespace."""
    out = {}
    for kind in ("Deployment", "StatefulSet"):
        for workload in live.kube.list("apps/v1", kind, namespace):
            out[(kind, workload["metadata"]["name"])] = workload["spec"]["template"]["metadata"].get("labels", {})
    return out


def _matches(selector: dict, labels: dict) -> bool:
    expressions = selector.get("matchExpressions") or []
    if any(e["operator"] not in {"In", "Exists"} for e in expressions):
        raise NotImplementedError(f"selector operator in {expressions}")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()) and all(
        e["key"] in labels and (e["operator"] == "Exists" or labels[e["key"]] in e["values"]) for e in expressions
    )


def test_every_network_policy_selects_live_pods(live):
    for namespace in _watched(live):
        templates = _templates(live, namespace)
        for policy in live.kube.list("networking.k8s.io/v1", "NetworkPolicy", namespace):
            selector = policy["spec"]["podSelector"]
            if not selector:
                continue  # the namespace-wide defaults
            hits = [name for name, labels in templates.items() if _matches(selector, labels)]
            assert hits, f"NetworkPolicy {namespace}/{policy['metadata']['name']} selects no live workload: {selector}"
            checked(live, f"NetworkPolicy {namespace}/{policy['metadata']['name']}")


def test_network_policy_peers_in_the_namespace_select_live_pods(live):
    for namespace in _watched(live):
        templates = _templates(live, namespace)
        for policy in live.kube.list("networking.k8s.io/v1", "NetworkPolicy", namespace):
            for rule in [*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])]:
                for peer in [*rule.get("from", []), *rule.get("to", [])]:
                    if "podSelector" in peer and "namespaceSelector" not in peer and peer["podSelector"]:
                        assert any(_matches(peer["podSelector"], labels) for labels in templates.values()), (
                            f"NetworkPolicy {namespace}/{policy['metadata']['name']} peer {peer} selects no live pod"
                        )


def test_every_service_monitor_selects_a_live_service_port(live):
    watched = set(_watched(live))
    for monitor in live.rendered("ServiceMonitor"):
        names = set(monitor["spec"].get("namespaceSelector", {}).get("matchNames") or [])
        if not names & watched:
            continue
        for namespace in names & watched:
            services = [
                s
                for s in live.kube.list("v1", "Service", namespace)
                if _matches(monitor["spec"]["selector"], s["metadata"].get("labels", {}))
            ]
            assert services, f"ServiceMonitor {monitor['metadata']['name']} selects no live Service in {namespace}"
            for endpoint in monitor["spec"]["endpoints"]:
                ports = {p.get("name") for s in services for p in s["spec"]["ports"]}
                assert endpoint["port"] in ports, (monitor["metadata"]["name"], endpoint["port"], ports)
            checked(live, f"ServiceMonitor {monitor['metadata']['name']}")


def test_every_hpa_targets_a_live_workload(live):
    for hpa in live.rendered("HorizontalPodAutoscaler"):
        namespace = hpa["metadata"]["namespace"]
        target = hpa["spec"]["scaleTargetRef"]
        found = live.kube.get_or_none(target["apiVersion"], target["kind"], target["name"], namespace)
        assert found is not None, f"HPA {hpa['metadata']['name']}: no live {target['kind']} {target['name']}"
        checked(live, f"HorizontalPodAutoscaler {namespace}/{hpa['metadata']['name']}")


def test_every_pdb_selects_live_pods(live):
    for pdb in live.rendered("PodDisruptionBudget"):
        namespace = pdb["metadata"]["namespace"]
        templates = _templates(live, namespace)
        assert any(_matches(pdb["spec"]["selector"], labels) for labels in templates.values()), pdb["metadata"]["name"]
        checked(live, f"PodDisruptionBudget {namespace}/{pdb['metadata']['name']}")


def test_every_ingress_backend_is_a_live_service_port(live):
    for ingress in live.rendered("Ingress"):
        namespace = ingress["metadata"]["namespace"]
        if namespace not in _watched(live):
            continue  # masters (no backends) and the charts' web UIs
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                service = live.kube.get_or_none("v1", "Service", backend["name"], namespace)
                assert service is not None, f"Ingress {ingress['metadata']['name']}: no Service {backend['name']}"
                port = backend["port"]
                ports = service["spec"]["ports"]
                assert any(p["port"] == port.get("number") or p.get("name") == port.get("name") for p in ports)
                checked(live, f"Ingress {namespace}/{ingress['metadata']['name']}")
