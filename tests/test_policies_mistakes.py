"""One realistic mistake at a time, made to the whole rendered prod stack (as a reviewer
would try): each is caught by exactly the rule written for it, as a mandatory
violation naming the resource. The unit tests of each rule show the caught/passing pair;
this file shows the rules still catch the mistake among every other resource of the
stack, with the shipped policy config."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from offline.harness import ProgramRun, Registered
from offline.policy_run import check_run


def _obj(run: ProgramRun, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    return run.find(kind, name, namespace).inputs


def _add(run: ProgramRun, api_version: str, kind: str, props: dict[str, Any]) -> None:
    """Register one more object, as a hand-written resource in the program would."""
    type_ = f"kubernetes:{'core/v1' if api_version == 'v1' else api_version}:{kind}"  # engine type token
    name = props["metadata"]["name"]
    urn = f"urn:pulumi:prod::mcp-datascience::{type_}::mistake-{name}"
    inputs = {"apiVersion": api_version, "kind": kind, **props}
    run.resources.append(Registered(urn, type_, f"mistake-{name}", True, "", [], inputs, [], {}))


def wildcard_role(run: ProgramRun) -> None:
    rules = [{"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["get", "list"]}]
    _add(run, "rbac.authorization.k8s.io/v1", "ClusterRole", {"metadata": {"name": "debug-reader"}, "rules": rules})


def chart_wildcard_rule(run: ProgramRun) -> None:
    values = run.release("sealed-secrets").inputs["values"]
    values["rbac"] = {
        "namespacedRoles": True,
        "extraRules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}],
    }


def secrets_for_mcp_backend(run: ProgramRun) -> None:
    rules = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    meta = {"name": "read-secrets", "namespace": "data-science"}
    _add(run, "rbac.authorization.k8s.io/v1", "Role", {"metadata": meta, "rules": rules})
    binding = {
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-secrets"},
        "subjects": [{"kind": "ServiceAccount", "name": "mcp-backend", "namespace": "data-science"}],
    }
    _add(run, "rbac.authorization.k8s.io/v1", "RoleBinding", binding)


def token_in_backend(run: ProgramRun) -> None:
    _obj(run, "MCPServer", "penrose", "data-science")["spec"]["podTemplateSpec"]["spec"].pop(
        "automountServiceAccountToken"
    )
    _obj(run, "ServiceAccount", "mcp-backend")["automountServiceAccountToken"] = True


def nodeport_metrics(run: ProgramRun) -> None:
    _obj(run, "Service", "toolhive-operator-metrics")["spec"]["type"] = "NodePort"


def privileged_namespace(run: ProgramRun) -> None:
    _obj(run, "Namespace", "data-science")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"


def workload_in_default(run: ProgramRun) -> None:
    _obj(run, "MCPServer", "penrose", "data-science")["metadata"]["namespace"] = "default"


def open_ingress(run: ProgramRun) -> None:
    spec = _obj(run, "NetworkPolicy", "mcp-penrose-proxy", "data-science")["spec"]
    spec["ingress"][0]["from"] = [{"namespaceSelector": {}}]


def internet_for_code(run: ProgramRun) -> None:
    spec = _obj(run, "NetworkPolicy", "mcp-data-exploration-backend", "data-science")["spec"]
    spec["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]})


def snippet(run: ProgramRun) -> None:
    notes = _obj(run, "Ingress", "mcp-penrose-mcp", "data-science")["metadata"]["annotations"]
    notes["nginx.org/location-snippets"] = "add_header X-Debug $upstream_addr;"


def staging_certificate(run: ProgramRun) -> None:
    [cert] = [r for r in run.k8s_objects() if r.kind == "Certificate"]
    cert.inputs["spec"]["issuerRef"]["name"] = "letsencrypt-staging"


def blocking_budget(run: ProgramRun) -> None:
    _obj(run, "PodDisruptionBudget", "huggingface-proxy", "data-science")["spec"] = {
        "maxUnavailable": 0,
        "selector": {
            "matchLabels": {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "huggingface"}
        },
    }


def password_in_config_map(run: ProgramRun) -> None:
    meta = {"name": "datahub-client", "namespace": "data-science"}
    _add(run, "v1", "ConfigMap", {"metadata": meta, "data": {"datahub.env": "DATAHUB_GMS_TOKEN=eyJ-pasted\n"}})


def never_pull(run: ProgramRun) -> None:
    spec = _obj(run, "MCPServer", "penrose", "data-science")["spec"]["podTemplateSpec"]["spec"]
    spec["containers"][0]["imagePullPolicy"] = "Never"


def unknown_image(run: ProgramRun) -> None:
    """A server whose image the catalog does not know, published, without a declaration."""
    server = _obj(run, "MCPServer", "penrose", "data-science")
    server["spec"]["image"] = "registry.example.com/team/penrose-fork:2.0.0"
    server["metadata"].pop("annotations")


def public_grafana(run: ProgramRun) -> None:
    props = {
        "metadata": {"name": "grafana", "namespace": "monitoring"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "grafana.finetunings.ai",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": "kube-prometheus-stack-grafana", "port": {"number": 80}}
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }
    _add(run, "networking.k8s.io/v1", "Ingress", props)


MISTAKES: list[tuple[Callable[[ProgramRun], None], str, str]] = [
    (wildcard_role, "rbac-no-admin-or-wildcard", "ClusterRole debug-reader rules[0] grants '*' in apiGroups"),
    (chart_wildcard_rule, "rbac-no-admin-or-wildcard", "values rbac.extraRules.0 grants '*' in resources"),
    (secrets_for_mcp_backend, "rbac-mcp-service-account-least-privilege", "and grants resource secrets"),
    (
        token_in_backend,
        "service-account-token-automount",
        "ServiceAccount data-science/mcp-backend is bound to no role",
    ),
    (nodeport_metrics, "service-not-exposed", "Service toolhive-system/toolhive-operator-metrics is of type NodePort"),
    (privileged_namespace, "namespace-pod-security", "Namespace data-science: pod-security.kubernetes.io/enforce is"),
    (workload_in_default, "workload-not-in-system-namespace", "MCPServer default/penrose runs in system namespace"),
    (open_ingress, "network-policy-no-open-ingress", "NetworkPolicy data-science/mcp-penrose-proxy ingress[0]"),
    (internet_for_code, "code-execution-no-public-egress", "mcp-data-exploration-backend egress[0] allows public"),
    (snippet, "edge-no-config-injection", "annotation nginx.org/location-snippets hands raw NGINX"),
    (staging_certificate, "certificate-production-issuer", "ClusterIssuer letsencrypt-staging uses https://acme-st"),
    (blocking_budget, "pdb-allows-eviction", "PodDisruptionBudget data-science/huggingface-proxy: maxUnavailable is 0"),
    (password_in_config_map, "configmap-no-credentials", "data key datahub.env sets DATAHUB_GMS_TOKEN"),
    (never_pull, "workload-image-pull-policy", "backend pod container 'mcp': imagePullPolicy is Never"),
    (unknown_image, "mcp-code-execution-requires-oidc", "runs an image the catalog does not describe"),
    (public_grafana, "monitoring-ui-behind-allowlist", "Service monitoring/kube-prometheus-stack-grafana without"),
]

# Mistakes that also, rightly, trip a neighbouring rule (exactly these).
ALSO = {
    # Out of the MCP namespace, the stack's own registry (declared on that namespace) no longer admits its image.
    workload_in_default: {"namespace-default-deny", "pod-selected-by-network-policy", "mcp-route-backend-exists",
                          "mcp-proxy-service-monitor", "workload-image-registry"},
    unknown_image: {"workload-image-registry"},
    internet_for_code: {"egress-excepts-metadata"},
    public_grafana: {"route-tls"},
}  # fmt: skip


@pytest.mark.parametrize(("mistake", "policy", "fragment"), MISTAKES, ids=[m[1] for m in MISTAKES])
def test_each_mistake_is_caught_by_its_rule(prod, mistake, policy, fragment):
    report = check_run(copy.deepcopy(prod), transform=mistake)
    assert report.exit_code == 1
    found = report.of(policy)
    assert any(fragment in v.message for v in found), [v.message for v in report.violations]
    assert {v.level for v in found} == {EnforcementLevel.MANDATORY}
    assert {v.policy for v in report.violations} == {policy, *ALSO.get(mistake, set())}
