"""Bring your own controllers (components/existing.py): with an install key `false` the
stack installs no chart for that controller, owns nothing of its namespace, reads what it
relies on from the cluster before the objects that need it, and stops with one line
naming the key when the cluster lacks it. The `e2e` stack (every controller brought) and
its skip-await transform (e2e/engine_program.py) are checked here too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.existing import MissingDependency
from components.monitoring import OTLP_HTTP_PORT
from e2e.engine_program import SKIP_AWAIT, with_skip_await
from e2e.engine_stack import stack_config
from offline.cluster import MockCluster, ReadError
from offline.harness import PROJECT_ROOT, ProgramRun, read_stack_file, run_program
from tests.stackconfig import FIXTURE_STACKS

RELEASE = "kubernetes:helm.sh/v3:Release"
APISERVICE = "kubernetes:apiregistration.k8s.io/v1:APIService"
TOOLHIVE_API = "v1beta1.toolhive.stacklok.dev"


def _releases(run: ProgramRun) -> set[str]:
    return {r.inputs["name"] for r in run.of_type(RELEASE)}


def _objects(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    return [o for o in run.objects() if o["kind"] == kind]


def _reads(run: ProgramRun) -> set[tuple[str, str]]:
    return {(r.type.rsplit(":", 1)[-1], r.id) for r in run.reads}


def _depends_on_read(run: ProgramRun, kind: str, read_name: str) -> None:
    """Every registered object of `kind` waits for the read named `read_name`."""
    assert any(r.name == read_name for r in run.reads)
    dependents = [r for r in run.resources if r.type.endswith(f":{kind}")]
    assert dependents, kind
    for resource in dependents:
        assert any(d.endswith(f"::{read_name}") for d in resource.dependencies), resource.name


@pytest.fixture(scope="module")
def e2e_run() -> ProgramRun:
    return run_program("e2e", stack_config())


def test_the_fixture_stacks_install_every_controller_and_read_nothing(fixture_dev, fixture_prod):
    for run in (fixture_dev, fixture_prod):
        assert run.reads == []
        assert {"toolhive-operator", "toolhive-operator-crds", "cert-manager", "kube-prometheus-stack"} <= _releases(
            run
        )


def test_the_e2e_stack_installs_no_chart_and_reads_each_dependency(e2e_run):
    assert _releases(e2e_run) == set()
    assert _reads(e2e_run) == {
        ("APIService", TOOLHIVE_API),
        ("APIService", "v1.cert-manager.io"),
        ("APIService", "v1.k8s.nginx.org"),
        ("APIService", "v1.monitoring.coreos.com"),
        ("APIService", "v1alpha1.bitnami.com"),
        ("IngressClass", "nginx"),
        ("Service", "monitoring/otel-collector"),
    }
    # No namespace of an existing controller is the stack's.
    names = {o["metadata"]["name"] for o in _objects(e2e_run, "Namespace")}
    assert names == {"data-science"}


def test_the_objects_of_a_brought_api_wait_for_its_read(e2e_run):
    _depends_on_read(e2e_run, "MCPServer", f"toolhive-requires-{TOOLHIVE_API}")
    _depends_on_read(e2e_run, "ClusterIssuer", "edge-requires-v1.cert-manager.io")
    _depends_on_read(e2e_run, "ServiceMonitor", "monitoring-requires-v1.monitoring.coreos.com")
    _depends_on_read(e2e_run, "Ingress", "edge-requires-ingressclass-nginx")


def test_an_existing_monitoring_stack_gets_only_our_objects_with_its_selector_labels(e2e_run):
    monitors = _objects(e2e_run, "ServiceMonitor") + _objects(e2e_run, "PrometheusRule")
    assert monitors
    for obj in monitors:
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert _objects(e2e_run, "ConfigMap")  # the dashboards, for the existing Grafana's sidecar
    assert e2e_run.outputs["grafana_admin_secret"] is None
    assert not any(r.type == "random:index/randomPassword:RandomPassword" for r in e2e_run.resources)


def test_an_existing_cert_manager_keeps_its_namespace_and_gets_our_issuers():
    config = read_stack_file("dev", FIXTURE_STACKS)
    webhook = "acme.dev.finetunings.ai/v1alpha1"  # the fixture's GoDaddy solver (dns.godaddy_group_name)
    overrides = {"edge.install_cert_manager": False}
    with pytest.raises(ReadError, match=re.escape("resource 'v1alpha1.acme.dev.finetunings.ai' does not exist")):
        run_program("dev", config, overrides=overrides)
    run = run_program("dev", config, overrides=overrides, cluster=MockCluster(extra_apis=frozenset({webhook})))
    assert not {"cert-manager", "godaddy-webhook"} & _releases(run)
    assert "cert-manager" not in {o["metadata"]["name"] for o in _objects(run, "Namespace")}
    assert _objects(run, "ClusterIssuer") or _objects(run, "Issuer")
    assert _objects(run, "Certificate")
    assert _reads(run) == {("APIService", "v1.cert-manager.io"), ("APIService", "v1alpha1.acme.dev.finetunings.ai")}


def test_an_existing_operator_needs_its_api_served(run_fixture):
    run = run_fixture("dev", **{"toolhive.install_operator": False})
    assert not {"toolhive-operator", "toolhive-operator-crds"} & _releases(run)
    assert _reads(run) == {("APIService", TOOLHIVE_API)}


def test_a_missing_api_fails_the_read_with_the_engines_words():
    absent = MockCluster(absent=frozenset({("APIService", TOOLHIVE_API)}))
    with pytest.raises(ReadError, match=re.escape(f"resource '{TOOLHIVE_API}' does not exist")):
        run_program("e2e", stack_config(), cluster=absent)


def _one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message
    return message


def test_an_api_not_available_names_the_key_and_the_fix():
    status = {
        "conditions": [{"type": "Available", "status": "False", "message": "service toolhive/x has no endpoints"}]
    }
    cluster = MockCluster(objects={("APIService", TOOLHIVE_API): {"status": status}})
    with pytest.raises(MissingDependency) as raised:
        run_program("e2e", stack_config(), cluster=cluster)
    message = _one_line(raised.value)
    assert message.startswith("toolhive.install_operator: false: the cluster's APIService")
    assert "not Available (service toolhive/x has no endpoints)" in message
    assert "set the key to true" in message


def test_an_existing_edge_controller_missing_an_api_is_told_to_let_the_stack_install_one():
    """edge.controller: existing has no key to set to true: the fix names the controllers."""
    status = {"conditions": [{"type": "Available", "status": "False", "message": "no endpoints"}]}
    cluster = MockCluster(objects={("APIService", "v1.k8s.nginx.org"): {"status": status}})
    with pytest.raises(MissingDependency) as raised:
        run_program("e2e", stack_config(), cluster=cluster)
    message = _one_line(raised.value)
    assert message.startswith("edge.controller: existing: the cluster's APIService v1.k8s.nginx.org"), message
    assert "let the stack install one (edge.controller: nginx-ingress or gateway-api)" in message
    assert "set the key to true" not in message


def test_a_foreign_ingress_class_is_refused():
    cluster = MockCluster(objects={("IngressClass", "nginx"): {"spec": {"controller": "k8s.io/ingress-nginx"}}})
    with pytest.raises(MissingDependency) as raised:
        run_program("e2e", stack_config(), cluster=cluster)
    assert _one_line(raised.value).startswith(
        "edge.controller: existing: IngressClass nginx belongs to controller 'k8s.io/ingress-nginx', "
        "not 'nginx.org/ingress-controller'"
    )


def test_a_collector_without_the_otlp_port_is_refused():
    service = {"spec": {"ports": [{"name": "grpc", "port": 4317}]}}
    cluster = MockCluster(objects={("Service", "monitoring/otel-collector"): service})
    with pytest.raises(MissingDependency) as raised:
        run_program("e2e", stack_config(), cluster=cluster)
    message = _one_line(raised.value)
    assert f"Service monitoring/otel-collector has no port {OTLP_HTTP_PORT} (ports: 4317)" in message
    assert "monitoring.existing_collector_service" in message


def test_skip_await_is_added_for_kubelet_kinds_only():
    service = {"metadata": {"name": "s", "annotations": {"a": "b"}}, "spec": {}}
    marked = with_skip_await("kubernetes:core/v1:Service", service)
    assert marked is not None
    assert marked["metadata"]["annotations"] == {"a": "b", SKIP_AWAIT: "true"}
    assert service["metadata"]["annotations"] == {"a": "b"}  # the input is left as it was
    assert with_skip_await("kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer", service) is None


def test_dev_and_prod_never_carry_skip_await(fixture_dev, fixture_prod, dev, prod):
    for run in (fixture_dev, fixture_prod, dev, prod):
        for obj in run.objects():
            assert SKIP_AWAIT not in (obj["metadata"].get("annotations") or {}), obj["metadata"]["name"]


def test_only_the_e2e_program_registers_the_skip_await_transform():
    """The transform lives in e2e/engine_program.py, which only the e2e stack's project runs:
    the program dev and prod run never imports it nor registers a transform of its own."""
    program = [PROJECT_ROOT / "__main__.py", *sorted((PROJECT_ROOT / "components").glob("*.py"))]
    for path in program:
        text = path.read_text()
        assert "engine_program" not in text, path
        assert "register_resource_transform" not in text, path
        assert SKIP_AWAIT not in text, path
