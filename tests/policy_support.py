"""Helpers for the policy tests: call a policy's real validate function the way the
engine does (research/pulumi.md §1c "Testing packs without the CLI") and build the
objects the rules judge."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.k8s import container_security_context
from offline.harness import ProgramRun, read_stack_file, shared_run
from offline.made_up_digests import as_deployed
from offline.policy_run import stack_config
from policies.mcp_policies import kube

OPTS = PolicyResourceOptions(
    protect=False,
    ignore_changes=[],
    delete_before_replace=None,
    aliases=[],
    custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
    additional_secret_outputs=[],
)


def deployed_run(stack: str, overrides: Mapping[str, Any] | None = None) -> ProgramRun:
    """The stack as `pulumi up` deploys it: production with a digest for every image (MADE
    UP here, as `make policy` does: offline/made_up_digests.py), which the deploy workflow
    passes and without which the program refuses a production update. Shared with every
    other caller of the same stack and overrides (offline/harness.py shared_run)."""
    return shared_run(stack, read_stack_file(stack), overrides=as_deployed(stack_config(stack, overrides), overrides))


def violations(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    type_: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """The messages for one resource (a stack policy sees a stack of that one resource)."""
    if isinstance(policy, StackValidationPolicy):
        return messages(stack_violations(policy, [resource(type_, props)], config))
    found: list[str] = []
    args = ResourceValidationArgs(type_, props, f"urn:pulumi:t::p::{type_}::r", "r", OPTS, None, dict(config or {}))
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def resource(type_: str, props: Mapping[str, Any], name: str | None = None) -> PolicyResource:
    name = name or kube.name_of(props, "r")
    return PolicyResource(type_, props, f"urn:pulumi:t::p::{type_}::{name}", name, OPTS, None, None, [], {})


def stack_violations(
    policy: StackValidationPolicy, resources: Sequence[PolicyResource], config: Mapping[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    args = StackValidationArgs(list(resources), dict(config or {}))
    policy.validate(args, lambda message, urn=None: found.append((message, urn)))
    return found


def messages(found: Sequence[tuple[str, str | None]]) -> list[str]:
    return [m for m, _ in found]


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------

RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
POD_SC = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def container(name: str = "app", image: str | None = "ghcr.io/stacklok/toolhive/operator:v0.44.0", **over: Any) -> dict:
    c: dict[str, Any] = {"name": name, "securityContext": container_security_context(1000), "resources": RESOURCES}
    if image:
        c["image"] = image
    c.update(over)
    return c


def deployment(*containers: dict, pod: Mapping[str, Any] | None = None, labels: Mapping[str, str] | None = None):
    spec = {"securityContext": POD_SC, "containers": list(containers) or [container()], **(pod or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"template": {"metadata": {"labels": dict(labels or {"app": "web"})}, "spec": spec}},
    }


def cronjob(*containers: dict) -> dict:
    spec = {"securityContext": POD_SC, "containers": list(containers) or [container()]}
    return {
        "metadata": {"name": "nightly", "namespace": "apps"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
    }


def mcpserver(name: str = "pandas", namespace: str = "data-science", **spec_over: Any) -> dict:
    spec: dict[str, Any] = {
        "image": "ghcr.io/finetunings-ai/mcp-datascience/pandas-mcp-server:0.1.0",
        "transport": "stdio",
        "proxyPort": 8004,
        "resources": RESOURCES,
        "telemetryConfigRef": {"name": "mcp-telemetry", "serviceName": name},
        "podTemplateSpec": {
            "metadata": {"labels": {"mcp-datascience/server": name}},
            "spec": {
                "securityContext": {**POD_SC, "runAsUser": 1000},
                "containers": [
                    {"name": "mcp", "resources": RESOURCES, "securityContext": container_security_context()}
                ],
            },
        },
    }
    spec.update(spec_over)
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def vmcp(name: str = "gov-data", namespace: str = "data-science", **spec_over: Any) -> dict:
    spec: dict[str, Any] = {
        "groupRef": {"name": name},
        "incomingAuth": {"type": "anonymous"},
        "telemetryConfigRef": {"name": "mcp-telemetry", "serviceName": name},
        "replicas": 1,
        "podTemplateSpec": {
            "spec": {
                "containers": [
                    {"name": "vmcp", "resources": RESOURCES, "securityContext": container_security_context()}
                ]
            }
        },
    }
    spec.update(spec_over)
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def ingress(  # noqa: PLR0917 - an Ingress is named by these six facts
    name: str,
    namespace: str,
    host: str,
    path: str,
    service: str,
    port: int,
    *,
    annotations: Mapping[str, str] | None = None,
    path_type: str = "Exact",
    tls: Sequence[Mapping[str, Any]] = (),
) -> dict:
    spec: dict[str, Any] = {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": path,
                            "pathType": path_type,
                            "backend": {"service": {"name": service, "port": {"number": port}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls:
        spec["tls"] = list(tls)
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta, "spec": spec}


STREAMING = {
    "nginx.org/mergeable-ingress-type": "minion",
    "nginx.org/proxy-read-timeout": "3600s",
    "nginx.org/proxy-send-timeout": "3600s",
    "nginx.org/proxy-buffering": "False",
}


def master(host: str = "finetunings.ai", secret: str = "finetunings-ai-tls") -> dict:
    return {
        "metadata": {
            "name": "edge-" + host.replace(".", "-"),
            "namespace": "nginx-ingress",
            "annotations": {"nginx.org/mergeable-ingress-type": "master"},
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": secret}],
            "rules": [{"host": host}],
        },
    }


def certificate(dns_names: Sequence[str], secret: str = "finetunings-ai-tls", namespace: str = "nginx-ingress") -> dict:
    return {
        "metadata": {"name": secret, "namespace": namespace},
        "spec": {"secretName": secret, "dnsNames": list(dns_names)},
    }


def helm(values: Mapping[str, Any], name: str = "rel", chart: str = "oci://ghcr.io/nginx/charts/nginx-ingress") -> dict:
    return {
        "name": name,
        "namespace": "edge",
        "chart": chart,
        "version": "2.6.4",
        "values": copy.deepcopy(dict(values)),
    }
