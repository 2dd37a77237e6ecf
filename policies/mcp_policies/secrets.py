"""Secrets: no literal Secret data when a real secrets backend is in use, and no literal
credential in an environment variable.

The secrets backend reaches the policy through its per-environment config
(`secretsBackend` in policies/config/<env>.json). The offline run refuses to start when
that value differs from the stack's `secrets.backend`, and a test keeps the shipped
files in step, so the policy never judges a stack by the wrong backend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .base import resource_policy, stack_policy, string_list
from .kube import HELM_RELEASE, SECRET, annotations, as_dict, describe, dotted, get, values_env, walk, workload_env
from .stackview import StackView

GENERATED_BY = "mcp-datascience.finetunings.ai/generated-by"
PULUMI_RANDOM = "pulumi-random"

SECRET_CONFIG = {
    "secretsBackend": {
        "type": "string",
        "enum": ["sealed", "external", "pulumi"],
        "description": "The stack's secrets.backend. With sealed or external, credentials reach the cluster as "
        "SealedSecrets or ExternalSecrets, never as Secrets with data in the Pulumi program.",
        "default": "sealed",
    },
    "valuesCredentialKeys": {
        "type": "string",
        "description": "Regular expression (Python re, searched) for Helm values keys that carry a credential itself "
        "(adminPassword, apiKey, clientSecret, token...), not a reference to one (existingSecret, passwordKey). "
        "A chart stores such a value in a Secret of its own, which is literal Secret data.",
        "default": r"(?i)^((admin|root|user|db|database|redis|smtp|basic[-_]?auth)[-_]?)?(password|passwd)$"
        r"|^((api|auth|access|bearer|bot|client|github|hf|slack)[-_]?)?token$"
        r"|^(api|access|secret|private|client)[-_]?(key|secret)$",
    },
}

# Secrets a controller writes from a template whose `data` values are Go templates over the
# decrypted or fetched keys (CRDs: SealedSecret spec.template.data "Keys that should be
# templated using decrypted data"; ExternalSecret spec.target.template.data). A value with
# no template action in it is literal data in the resulting Secret.
SEALED_SECRET = "kubernetes:bitnami.com/v1alpha1:SealedSecret"
EXTERNAL_SECRET_TYPES = (
    "kubernetes:external-secrets.io/v1:ExternalSecret",
    "kubernetes:external-secrets.io/v1beta1:ExternalSecret",
)
TEMPLATE_DATA: dict[str, tuple[str, ...]] = {
    SEALED_SECRET: ("spec", "template", "data"),
    **dict.fromkeys(EXTERNAL_SECRET_TYPES, ("spec", "target", "template", "data")),
}

# Values that name where a credential lives instead of holding it (Grafana file/env providers).
_REFERENCE_PREFIXES = ("$__file{", "$__env{", "$__vault{", "${")


def _check_secret_data(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    backend = config["secretsBackend"]
    if backend == "pulumi":
        return
    view = StackView(args.resources)
    for secret in view.of_type(SECRET):
        keys = sorted({*as_dict(secret.props.get("data")), *as_dict(secret.props.get("stringData"))})
        if not keys:
            continue
        where = describe(secret.resource_type, secret.props, secret.name)
        if annotations(secret.props).get(GENERATED_BY) == PULUMI_RANDOM:
            # Generated in the program (e.g. the Grafana admin password): allowed only when the
            # Secret really takes its data from a pulumi-random resource.
            if any(d.resource_type.startswith("random:") for d in secret.dependencies):
                continue
            report(
                f"{where} is annotated {GENERATED_BY}: {PULUMI_RANDOM} but depends on no random: resource; "
                f"its data keys {keys} are literal",
                secret.urn,
            )
            continue
        report(
            f"{where} carries literal data (keys {keys}) although secrets.backend is {backend}",
            secret.urn,
        )
    for templated in view.of_type(*TEMPLATE_DATA):
        data = as_dict(get(templated.props, *TEMPLATE_DATA[templated.resource_type]))
        literal_keys = sorted(k for k, v in data.items() if isinstance(v, str) and v and "{{" not in v)
        if literal_keys:
            where = describe(templated.resource_type, templated.props, templated.name)
            field = ".".join(TEMPLATE_DATA[templated.resource_type])
            report(
                f"{where} writes literal data into its Secret ({field} keys {literal_keys} hold no template) "
                f"although secrets.backend is {backend}",
                templated.urn,
            )
    pattern = re.compile(str(config["valuesCredentialKeys"]))
    for release in view.of_type(HELM_RELEASE):
        where = describe(release.resource_type, release.props, release.name)
        for path, node in walk(release.props.get("values")):
            literal = isinstance(node, str) and node and not node.startswith(_REFERENCE_PREFIXES)
            if path and literal and pattern.search(path[-1]):
                report(
                    f"{where} values {dotted(path)} holds a literal credential, which the chart stores in a "
                    f"Secret of its own although secrets.backend is {backend}",
                    release.urn,
                )


SECRET_NO_LITERAL_DATA = stack_policy(
    "secret-no-literal-data",
    "With secrets.backend sealed or external, the stack creates no Secret with literal data or stringData, and "
    "no SealedSecret or ExternalSecret template writes literal data, and no Helm release hands its chart a "
    "literal credential (adminPassword, apiKey, token... in values); "
    f"Secrets whose data the program generates with pulumi-random (annotated {GENERATED_BY}: {PULUMI_RANDOM} "
    "and depending on a random: resource) are the exception.",
    _check_secret_data,
    severity=Severity.CRITICAL,
    remediation="Provide the credential through the SecretsLayer (a SealedSecret ciphertext or an ExternalSecret) "
    "and point the chart at that Secret (existingSecret and the like), or generate it with pulumi-random and "
    "annotate the Secret.",
    config=SECRET_CONFIG,
)


ENV_CONFIG = {
    "namePattern": {
        "type": "string",
        "description": "Regular expression (Python re, searched) for env var names that hold credentials.",
        "default": r"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)",
    },
    "allowedNames": string_list("Env var names that match namePattern but are not credentials.", []),
}


def _check_env(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    pattern = re.compile(str(config["namePattern"]))
    allowed = set(config["allowedNames"])

    def bad(entry: Mapping[str, Any]) -> bool:
        name, value = str(entry.get("name") or ""), entry.get("value")
        return bool(pattern.search(name)) and name not in allowed and value not in (None, "")

    for where, container, entry in workload_env(args.resource_type, args.props):
        if bad(entry):
            report(f"{where} container '{container}': env {entry.get('name')} holds a literal value", None)
    if args.resource_type == HELM_RELEASE:
        where = describe(args.resource_type, args.props, args.name)
        for path, entry in values_env(args.props.get("values")):
            if bad(entry):
                report(f"{where} values {path}: env {entry.get('name')} holds a literal value", None)


ENV_NO_LITERAL_CREDENTIALS = resource_policy(
    "env-no-literal-credentials",
    "No environment variable whose name looks like a credential (TOKEN, SECRET, PASSWORD, API_KEY, ...) "
    "carries a literal value: it comes from a Secret (valueFrom.secretKeyRef, MCPServer spec.secrets).",
    _check_env,
    severity=Severity.CRITICAL,
    remediation="Reference a Secret key instead (MCPServer spec.secrets / catalog secret_env, or "
    "valueFrom.secretKeyRef), or list a non-secret name under allowedNames.",
    config=ENV_CONFIG,
)

POLICIES = [SECRET_NO_LITERAL_DATA, ENV_NO_LITERAL_CREDENTIALS]
