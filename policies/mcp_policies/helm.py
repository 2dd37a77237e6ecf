"""Helm: every release pins an exact chart version from an HTTPS or OCI source."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .base import resource_policy
from .kube import HELM_RELEASE, describe, get

_EXACT_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")
_SECURE = ("https://", "oci://")


def _check(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if args.resource_type != HELM_RELEASE:
        return
    where = describe(args.resource_type, args.props, args.name)
    chart = str(args.props.get("chart") or "")
    version = str(args.props.get("version") or "")
    repo = str(get(args.props, "repositoryOpts", "repo") or "")
    if not _EXACT_VERSION.match(version):
        report(f"{where} installs chart '{chart}' at {version or 'no version'} (an exact version is required)", None)
    # A repository set next to an oci:// chart is still a source Helm talks to: judge it too.
    if repo and not repo.startswith(_SECURE):
        report(f"{where} pulls chart '{chart}' from '{repo}', which is neither https:// nor oci://", None)
    elif not repo and "://" in chart and not chart.startswith(_SECURE):
        report(f"{where} pulls chart '{chart}' over a URL that is neither https:// nor oci://", None)
    elif not repo and "://" not in chart:
        report(f"{where} names chart '{chart}' without a repository (a local path or a repo alias is not pinned)", None)


HELM_RELEASE_PINNED = resource_policy(
    "helm-release-pinned",
    "Every Helm release pins an exact chart version from an HTTPS or OCI repository (repositoryOpts.repo "
    "https:// or oci://, or an https:// or oci:// chart reference).",
    _check,
    severity=Severity.HIGH,
    remediation=(
        "Pin the chart in components/versions.py with an exact version (no ranges, no 'latest') "
        "and an https:// repository or an oci:// chart reference."
    ),
)

POLICIES = [HELM_RELEASE_PINNED]
