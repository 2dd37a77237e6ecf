"""How every policy of the pack is declared: name, description, default enforcement
(mandatory), severity, remediation text, and a config schema: the policy's properties
with their defaults plus `reason`, and which properties relax the rule.

The engine fills schema defaults before it hands config to a policy
(pkg/resource/analyzer/config.go createConfigWithDefaults); unit tests and callers that
pass partial config get the same defaults through `settings()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation, Mapping[str, Any]], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation, Mapping[str, Any]], None]

# Every policy is mandatory unless an environment's policy config relaxes it, and a
# relaxation carries its reason beside it: `{"<policy>": {"enforcementLevel": "advisory",
# "reason": "..."}}`. `reason` is part of every policy's config schema, so the engine
# accepts it (gojsonschema) and the offline run can demand it.
REASON = "reason"
REASON_SCHEMA = {
    "type": "string",
    "description": "Why this environment relaxes the policy (its enforcement level or a property listed as a "
    "relaxation). The offline run refuses a relaxation without one.",
}
# Policy name -> config properties whose change from the schema default weakens the rule
# (an exception list, a wider allow list). Filled by resource_policy/stack_policy.
RELAXING_PROPERTIES: dict[str, frozenset[str]] = {}


def schema_defaults(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults of a policy's config schema properties (what createConfigWithDefaults fills)."""
    return {k: v["default"] for k, v in (schema or {}).items() if "default" in v}


def config_schema(
    name: str, config: Mapping[str, dict[str, Any]] | None, relaxing: tuple[str, ...]
) -> PolicyConfigSchema:
    """The policy's schema: its own properties plus `reason`; records which properties relax it."""
    unknown = set(relaxing) - set(config or {})
    if unknown:
        raise ValueError(f"policy {name}: relaxing properties {sorted(unknown)} are not in its config schema")
    RELAXING_PROPERTIES[name] = frozenset(relaxing)
    return PolicyConfigSchema(properties={**dict(config or {}), REASON: REASON_SCHEMA})


def settings(args: ResourceValidationArgs | StackValidationArgs, schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's config: schema defaults, overlaid by what the config file sets."""
    return {**schema_defaults(schema), **dict(args.get_config() or {})}


def resource_policy(
    name: str,
    description: str,
    check: ResourceCheck,
    *,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, dict[str, Any]] | None = None,
    relaxing: tuple[str, ...] = (),
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        check(args, report, settings(args, config))

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=config_schema(name, config, relaxing),
        severity=severity,
        remediation_steps=remediation,
    )


def stack_policy(
    name: str,
    description: str,
    check: StackCheck,
    *,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, dict[str, Any]] | None = None,
    relaxing: tuple[str, ...] = (),
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        check(args, report, settings(args, config))

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=config_schema(name, config, relaxing),
        severity=severity,
        remediation_steps=remediation,
    )


def string_list(description: str, default: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description, "default": default}
