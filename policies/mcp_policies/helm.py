"""Helm: every release pins an exact chart version from an HTTPS or OCI source."""

from __future__ import annotations

import re

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_EXACT_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != HELM_RELEASE:
        return
    chart = str(args.props.get("chart") or "")
    version = str(args.props.get("version") or "")
    repo = str((args.props.get("repositoryOpts") or {}).get("repo") or "")
    if not _EXACT_VERSION.match(version):
        report_violation(f"Helm release '{args.name}' installs chart '{chart}' at {version or 'no version'}")
    if chart.startswith("oci://"):
        return
    if not repo.startswith("https://"):
        report_violation(f"Helm release '{args.name}' pulls chart '{chart}' from '{repo or 'no repository'}'")


HELM_RELEASE_PINNED = ResourceValidationPolicy(
    name="helm-release-pinned",
    description="Every Helm release pins an exact chart version from an HTTPS or OCI repository.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Pin the chart in components/versions.py with an exact version (no ranges, no 'latest') "
        "and an https:// repository or an oci:// chart reference."
    ),
)
