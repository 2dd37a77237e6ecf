"""Point 3: the stack as rendered is accepted by the real API server, without one warning."""

from __future__ import annotations

from e2e.kube import describe
from e2e.stack import ApplyReport, crd_documents


def warnings_of(report: ApplyReport) -> list[str]:
    return [f"{name}: {warning}" for name, warning in report.warnings]


def test_every_rendered_object_is_applied(live):
    assert sorted(live.report.applied) == sorted(describe(o) for o in live.objects)
    for obj in live.objects:
        meta = obj["metadata"]
        got = live.kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        assert got["metadata"]["uid"]


def test_every_crd_of_the_charts_is_established(live):
    names = sorted(d["metadata"]["name"] for d in crd_documents())
    assert sorted(n.removeprefix("CustomResourceDefinition ") for n in live.cluster.report.applied) == names


def test_the_api_server_returned_no_warning(live):
    assert warnings_of(live.cluster.report) == []
    assert warnings_of(live.report) == []


def test_namespaces_enforce_pod_security_as_rendered(live):
    for ns in live.rendered("Namespace"):
        labels = live.kube.get("v1", "Namespace", ns["metadata"]["name"])["metadata"]["labels"]
        assert (
            labels["pod-security.kubernetes.io/enforce"]
            == ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        )
