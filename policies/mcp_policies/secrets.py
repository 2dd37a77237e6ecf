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
from .credentials import NAME_PATTERN, credential_shape, is_reference, literal_assignments
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
    relaxing=("valuesCredentialKeys",),
)


ENV_CONFIG = {
    "namePattern": {
        "type": "string",
        "description": "Regular expression (Python re, searched) for env var names that hold credentials: names "
        "ending in a credential word (HF_TOKEN, EARTHDATA_PASSWORD, MCP_AUTH_SECRET_KEY), not names that only "
        "mention one (TOOL_RESPONSE_TOKEN_LIMIT).",
        "default": NAME_PATTERN,
    },
    "allowedNames": string_list("Env var names that match namePattern but are not credentials.", []),
}


def _check_env(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    pattern = re.compile(str(config["namePattern"]))
    allowed = set(config["allowedNames"])

    def problem(entry: Mapping[str, Any]) -> str | None:
        name, value = str(entry.get("name") or ""), entry.get("value")
        if not isinstance(value, str) or not value or name in allowed:
            return None
        if pattern.search(name):
            return f"env {name} holds a literal value"
        shape = credential_shape(value)
        return f"env {name} holds what looks like {shape}" if shape else None

    for where, container, entry in workload_env(args.resource_type, args.props):
        if found := problem(entry):
            report(f"{where} container '{container}': {found}", None)
    if args.resource_type == HELM_RELEASE:
        where = describe(args.resource_type, args.props, args.name)
        for path, entry in values_env(args.props.get("values")):
            if found := problem(entry):
                report(f"{where} values {path}: {found}", None)


ENV_NO_LITERAL_CREDENTIALS = resource_policy(
    "env-no-literal-credentials",
    "No environment variable whose name is a credential's (..._TOKEN, ..._PASSWORD, ..._API_KEY) carries a literal "
    "value, and no literal value has a credential's shape (hf_..., ghp_..., a JWT, a private key, a URL with a "
    "password): it comes from a Secret (valueFrom.secretKeyRef, MCPServer spec.secrets).",
    _check_env,
    severity=Severity.CRITICAL,
    remediation="Reference a Secret key instead (MCPServer spec.secrets / catalog secret_env, or "
    "valueFrom.secretKeyRef), or list a non-secret name under allowedNames.",
    config=ENV_CONFIG,
    relaxing=("namePattern", "allowedNames"),
)


CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _check_config_map(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    if args.resource_type != CONFIG_MAP:
        return
    where = describe(args.resource_type, args.props, args.name)
    pattern = re.compile(str(config["namePattern"]))
    for key, value in sorted(as_dict(args.props.get("data")).items()):
        text = str(value or "")
        if pattern.search(key) and not is_reference(text):
            report(f"{where} data key {key} is a credential name with a literal value", None)
            continue
        shape = credential_shape(text)
        if shape:
            report(f"{where} data key {key} holds what looks like {shape}", None)
        for name in literal_assignments(text):
            report(f"{where} data key {key} sets {name} to a literal value", None)
    for key in sorted(as_dict(args.props.get("binaryData"))):
        if pattern.search(key):
            report(f"{where} binaryData key {key} is a credential name", None)


CONFIG_MAP_NO_CREDENTIALS = resource_policy(
    "configmap-no-credentials",
    "No ConfigMap carries a credential: no key named like one (namePattern) with a literal value, no value with a "
    "credential's shape (tokens, private keys, URLs with a password), no config file inside it assigning a "
    "credential setting a literal value. ConfigMaps are readable by anyone who may read the namespace's "
    "configuration and are never encrypted at rest.",
    _check_config_map,
    severity=Severity.CRITICAL,
    remediation="Put the value in a Secret through the SecretsLayer and reference it (secretKeyRef, a mounted "
    "Secret, Grafana's $__file{...}); keep only the reference in the ConfigMap.",
    config={"namePattern": ENV_CONFIG["namePattern"]},
    relaxing=("namePattern",),
)

POLICIES = [SECRET_NO_LITERAL_DATA, ENV_NO_LITERAL_CREDENTIALS, CONFIG_MAP_NO_CREDENTIALS]
