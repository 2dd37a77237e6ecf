"""How every policy of the pack is declared: name, description, default enforcement,
severity, remediation text and (where it takes any) a config schema with defaults.

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


def schema_defaults(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults of a policy's config schema properties (what createConfigWithDefaults fills)."""
    return {k: v["default"] for k, v in (schema or {}).items() if "default" in v}


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
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        check(args, report, settings(args, config))

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
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
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        check(args, report, settings(args, config))

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
        severity=severity,
        remediation_steps=remediation,
    )


def string_list(description: str, default: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description, "default": default}
