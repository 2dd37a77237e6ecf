"""Workload hygiene rules: each passes a hardened pod template and names what is wrong
with a broken one, for built-in workloads, MCPServer/VirtualMCPServer templates and
Helm release values."""

from __future__ import annotations

import copy

import pytest

from policies.mcp_policies import kube, workloads
from tests.policy_support import (
    POD_SC,
    container,
    cronjob,
    deployment,
    helm,
    mcpserver,
    messages,
    resource,
    stack_violations,
    violations,
    vmcp,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRONJOB = "kubernetes:batch/v1:CronJob"
ALL_RULES = workloads.POLICIES


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        (DEPLOYMENT, deployment()),
        (CRONJOB, cronjob()),
        (kube.MCP_SERVER, mcpserver()),
        (kube.VIRTUAL_MCP_SERVER, vmcp()),
        ("kubernetes:apps/v1:StatefulSet", deployment()),
        ("kubernetes:apps/v1:DaemonSet", deployment()),
        ("kubernetes:batch/v1:Job", deployment()),
    ],
)
@pytest.mark.parametrize("policy", ALL_RULES, ids=lambda p: p.name)
def test_hardened_templates_pass_every_rule(policy, type_, props):
    config = {"allowedRegistries": ["ghcr.io/stacklok/toolhive", "ghcr.io/finetunings-ai/mcp-datascience"]}
    assert violations(policy, type_, props, config) == []


def test_root_container_is_refused_everywhere():
    root = container(securityContext={**container(name="x")["securityContext"], "runAsUser": 0})
    [msg] = violations(workloads.NON_ROOT, DEPLOYMENT, deployment(root))
    assert msg == "Deployment apps/web container 'app': runAsUser is 0 (root)"

    no_flag = container(securityContext={"allowPrivilegeEscalation": False})
    dep = deployment(no_flag, pod={"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})
    [msg] = violations(workloads.NON_ROOT, DEPLOYMENT, dep)
    assert "runAsNonRoot is not true" in msg

    server = mcpserver()
    server["spec"]["podTemplateSpec"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = False
    [msg] = violations(workloads.NON_ROOT, kube.MCP_SERVER, server)
    assert msg.startswith("MCPServer data-science/pandas backend pod container 'mcp': runAsNonRoot is not true")


def test_pod_level_non_root_covers_containers_without_their_own():
    c = container()
    c["securityContext"] = {k: v for k, v in c["securityContext"].items() if k not in ("runAsNonRoot", "runAsUser")}
    assert violations(workloads.NON_ROOT, DEPLOYMENT, deployment(c)) == []  # pod: runAsNonRoot true


def test_mcpserver_without_mcp_container_fails_hygiene():
    server = mcpserver()
    server["spec"]["podTemplateSpec"]["spec"]["containers"] = []
    msgs = violations(workloads.READ_ONLY_ROOT_FILESYSTEM, kube.MCP_SERVER, server)
    assert msgs == ["MCPServer data-science/pandas backend pod container 'mcp': readOnlyRootFilesystem is not true"]


@pytest.mark.parametrize(
    ("policy", "change", "fragment"),
    [
        (
            workloads.NO_PRIVILEGE_ESCALATION,
            {"allowPrivilegeEscalation": True},
            "allowPrivilegeEscalation is not false",
        ),
        (workloads.NO_PRIVILEGE_ESCALATION, {"privileged": True}, "privileged: true"),
        (workloads.DROP_ALL_CAPABILITIES, {"capabilities": {"drop": ["NET_RAW"]}}, "drop does not include ALL"),
        (
            workloads.DROP_ALL_CAPABILITIES,
            {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}},
            "adds capabilities ['SYS_ADMIN']",
        ),
        (workloads.READ_ONLY_ROOT_FILESYSTEM, {"readOnlyRootFilesystem": False}, "readOnlyRootFilesystem is not true"),
        (
            workloads.SECCOMP_RUNTIME_DEFAULT,
            {"seccompProfile": {"type": "Unconfined"}},
            "seccompProfile.type is Unconfined",
        ),
    ],
)
def test_container_security_context_violations(policy, change, fragment):
    c = container()
    c["securityContext"] = {**c["securityContext"], **change}
    msgs = violations(policy, DEPLOYMENT, deployment(c))
    assert len(msgs) == 1
    assert msgs[0].startswith("Deployment apps/web container 'app': ")
    assert fragment in msgs[0]


def test_net_bind_service_is_the_one_capability_allowed_by_default():
    c = container()
    c["securityContext"] = {**c["securityContext"], "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}
    assert violations(workloads.DROP_ALL_CAPABILITIES, DEPLOYMENT, deployment(c)) == []
    msgs = violations(workloads.DROP_ALL_CAPABILITIES, DEPLOYMENT, deployment(c), {"allowedAddedCapabilities": []})
    assert msgs == ["Deployment apps/web container 'app': adds capabilities ['NET_BIND_SERVICE'] (allowed: [])"]


def test_seccomp_falls_back_to_the_pod_and_fails_without_either():
    c = container()
    c["securityContext"] = {k: v for k, v in c["securityContext"].items() if k != "seccompProfile"}
    assert violations(workloads.SECCOMP_RUNTIME_DEFAULT, DEPLOYMENT, deployment(c)) == []
    dep = deployment(c, pod={"securityContext": {"runAsNonRoot": True}})
    [msg] = violations(workloads.SECCOMP_RUNTIME_DEFAULT, DEPLOYMENT, dep)
    assert "seccompProfile.type is unset" in msg


def test_resources_need_all_four_quantities_and_cover_the_mcp_proxy():
    c = container(resources={"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}})
    [msg] = violations(workloads.RESOURCES, CRONJOB, cronjob(c))
    assert msg == "CronJob apps/nightly container 'app': resources lack requests.memory, limits.cpu"

    server = mcpserver(resources={"requests": {"cpu": "100m", "memory": "64Mi"}})
    [msg] = violations(workloads.RESOURCES, kube.MCP_SERVER, server)
    assert msg == (
        "MCPServer data-science/pandas proxy container 'toolhive' (spec.resources): resources lack limits.cpu, "
        "limits.memory"
    )


@pytest.mark.parametrize(
    ("pod", "fragment"),
    [
        ({"hostNetwork": True}, "hostNetwork: true"),
        ({"hostPID": True}, "hostPID: true"),
        ({"hostIPC": True}, "hostIPC: true"),
        (
            {"volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]},
            "volume 'docker' is a hostPath",
        ),
    ],
)
def test_host_access_is_refused(pod, fragment):
    [msg] = violations(workloads.NO_HOST_ACCESS, DEPLOYMENT, deployment(pod=pod))
    assert msg == f"Deployment apps/web: {fragment}"


def test_mcpserver_volumes_are_host_paths():
    server = mcpserver(volumes=[{"name": "data", "hostPath": "/srv/data", "mountPath": "/data"}])
    [msg] = violations(workloads.NO_HOST_ACCESS, kube.MCP_SERVER, server)
    assert msg == "MCPServer data-science/pandas: spec.volumes 'data' mounts host path /srv/data"


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("ghcr.io/stacklok/toolhive/operator:latest", "uses the 'latest' tag"),
        ("ghcr.io/stacklok/toolhive/operator", "has no tag or digest"),
        ("nginx", "has no tag or digest"),
    ],
)
def test_unpinned_images_fail(image, fragment):
    [msg] = violations(workloads.IMAGE_PINNED, DEPLOYMENT, deployment(container(image=image)))
    assert msg == f"Deployment apps/web container 'app': image '{image}' {fragment}" + (
        " (an untagged image means :latest)" if "no tag" in fragment else ""
    )


def test_mcpserver_image_is_the_mcp_containers_image():
    server = mcpserver(image="ghcr.io/finetunings-ai/mcp-datascience/pandas-mcp-server:latest")
    [msg] = violations(workloads.IMAGE_PINNED, kube.MCP_SERVER, server)
    assert msg.startswith("MCPServer data-science/pandas backend pod container 'mcp': image ")
    assert msg.endswith("uses the 'latest' tag")


def test_digest_required_when_configured():
    digest = "ghcr.io/stacklok/toolhive/operator:v0.44.0@sha256:" + "a" * 64
    assert (
        violations(workloads.IMAGE_PINNED, DEPLOYMENT, deployment(container(image=digest)), {"requireDigest": True})
        == []
    )
    [msg] = violations(workloads.IMAGE_PINNED, DEPLOYMENT, deployment(), {"requireDigest": True})
    assert msg.endswith("is not pinned by digest")


def test_registry_prefixes_match_at_path_boundaries():
    config = {"allowedRegistries": ["ghcr.io/stacklok"]}
    assert violations(workloads.IMAGE_REGISTRY, DEPLOYMENT, deployment(), config) == []
    [msg] = violations(
        workloads.IMAGE_REGISTRY, DEPLOYMENT, deployment(container(image="ghcr.io/stacklokx/a:1")), config
    )
    assert "image 'ghcr.io/stacklokx/a:1' (ghcr.io/stacklokx/a) is not from an allowed registry" in msg
    [msg] = violations(workloads.IMAGE_REGISTRY, DEPLOYMENT, deployment(container(image="nginx:1.27")), config)
    assert "(docker.io/library/nginx)" in msg


def _namespace(name: str, registry: str | None) -> dict:
    annotations = {kube.IMAGE_REGISTRY_ANNOTATION: registry} if registry else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "annotations": annotations}}


def test_the_registry_the_stack_declares_is_allowed_in_its_namespace_only():
    """A fork's images.registry arrives as the MCP namespace's annotation: its images pass
    there without any policy config edit; elsewhere, and other registries, still fail."""
    config = {"allowedRegistries": ["ghcr.io/stacklok/toolhive"]}
    own = "registry.example.com/team/mcp/mcp-server-ds:0.1.5"
    server = mcpserver()
    server["spec"]["image"] = own
    server["spec"]["podTemplateSpec"]["spec"]["containers"][0]["image"] = own
    declared = resource(kube.NAMESPACE, _namespace("data-science", "registry.example.com/team/mcp"))
    assert stack_violations(workloads.IMAGE_REGISTRY, [declared, resource(kube.MCP_SERVER, server)], config) == []

    undeclared = resource(kube.NAMESPACE, _namespace("data-science", None))
    found = stack_violations(workloads.IMAGE_REGISTRY, [undeclared, resource(kube.MCP_SERVER, server)], config)
    assert found
    assert all(
        "(registry.example.com/team/mcp/mcp-server-ds) is not from an allowed registry" in m for m in messages(found)
    )
    assert {urn for _, urn in found} == {resource(kube.MCP_SERVER, server).urn}

    elsewhere = copy.deepcopy(server)
    elsewhere["metadata"]["namespace"] = "other"
    assert stack_violations(workloads.IMAGE_REGISTRY, [declared, resource(kube.MCP_SERVER, elsewhere)], config)

    foreign = mcpserver()
    foreign["spec"]["image"] = "docker.io/someone/mcp:1"
    assert stack_violations(workloads.IMAGE_REGISTRY, [declared, resource(kube.MCP_SERVER, foreign)], config)


@pytest.mark.parametrize(
    ("ref", "registry", "repository", "tag", "digest"),
    [
        ("nginx/nginx-ingress:5.5.4", "docker.io", "nginx/nginx-ingress", "5.5.4", None),
        ("localhost:5000/x/y:1", "localhost:5000", "x/y", "1", None),
        ("ghcr.io/a/b@sha256:" + "0" * 64, "ghcr.io", "a/b", None, "sha256:" + "0" * 64),
        (
            "registry.k8s.io/external-dns/external-dns:v0.21.0",
            "registry.k8s.io",
            "external-dns/external-dns",
            "v0.21.0",
            None,
        ),
    ],
)
def test_image_references_parse_like_docker(ref, registry, repository, tag, digest):
    assert kube.parse_image(ref) == kube.ImageRef(registry, repository, tag, digest)


# ---------------------------------------------------------------------------
# Helm values
# ---------------------------------------------------------------------------

HARDENED_VALUES = {
    "controller": {
        "image": {"repository": "nginx/nginx-ingress", "tag": "5.5.4"},
        "podSecurityContext": POD_SC,
        "securityContext": {
            **container()["securityContext"],
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    }
}
HELM_REGISTRIES = {"allowedRegistries": ["docker.io/nginx", "ghcr.io/stacklok"]}


@pytest.mark.parametrize("policy", ALL_RULES, ids=lambda p: p.name)
def test_hardened_helm_values_pass(policy):
    assert violations(policy, kube.HELM_RELEASE, helm(HARDENED_VALUES), HELM_REGISTRIES) == []


@pytest.mark.parametrize(
    ("policy", "path", "value", "fragment"),
    [
        (
            workloads.NON_ROOT,
            ("controller", "securityContext", "runAsUser"),
            0,
            "runAsUser: 0 runs the chart's pods as root",
        ),
        (workloads.NON_ROOT, ("controller", "podSecurityContext", "runAsNonRoot"), False, "runAsNonRoot: false"),
        (workloads.NO_PRIVILEGE_ESCALATION, ("controller", "securityContext", "privileged"), True, "privileged: true"),
        (
            workloads.READ_ONLY_ROOT_FILESYSTEM,
            ("controller", "securityContext", "readOnlyRootFilesystem"),
            False,
            "false",
        ),
        (
            workloads.SECCOMP_RUNTIME_DEFAULT,
            ("controller", "podSecurityContext", "seccompProfile"),
            {"type": "Unconfined"},
            "Unconfined",
        ),
        (
            workloads.RESOURCES,
            ("controller", "resources"),
            {"requests": {"cpu": "1"}},
            "resources lack requests.memory",
        ),
        (workloads.NO_HOST_ACCESS, ("controller", "hostNetwork"), True, "controller.hostNetwork: true"),
        (workloads.IMAGE_PINNED, ("controller", "image", "tag"), "latest", "uses the 'latest' tag"),
        (
            workloads.IMAGE_REGISTRY,
            ("controller", "image", "repository"),
            "evil.example.com/nginx",
            "not from an allowed",
        ),
    ],
)
def test_helm_values_violations_name_the_values_path(policy, path, value, fragment):
    values = copy.deepcopy(HARDENED_VALUES)
    node = values
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    msgs = violations(policy, kube.HELM_RELEASE, helm(values), HELM_REGISTRIES)
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith("Helm release edge/rel values controller.")
    assert fragment in msgs[0]


def test_helm_image_without_tag_leaves_it_to_the_chart():
    values = {"image": {"repository": "nginx/nginx-ingress"}}
    assert violations(workloads.IMAGE_PINNED, kube.HELM_RELEASE, helm(values)) == []
    values = {"operator": {"image": "ghcr.io/stacklok/toolhive/operator"}}
    [msg] = violations(workloads.IMAGE_PINNED, kube.HELM_RELEASE, helm(values))
    assert "values operator.image: image 'ghcr.io/stacklok/toolhive/operator' has no tag" in msg


def test_volume_claim_resources_are_not_container_resources():
    """A PVC template's `resources` (requests.storage) sizes a volume: not a container
    lacking CPU and memory. A container block next to it is still checked."""
    values = copy.deepcopy(HARDENED_VALUES)
    claim = {"spec": {"resources": {"requests": {"storage": "50Gi"}}}}
    values["prometheus"] = {"storageSpec": {"volumeClaimTemplate": claim}}
    assert violations(workloads.RESOURCES, kube.HELM_RELEASE, helm(values), HELM_REGISTRIES) == []
    values["prometheus"]["resources"] = {"requests": {"cpu": "1"}}
    [msg] = violations(workloads.RESOURCES, kube.HELM_RELEASE, helm(values), HELM_REGISTRIES)
    assert "values prometheus.resources: resources lack requests.memory" in msg
