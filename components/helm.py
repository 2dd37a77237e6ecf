"""Helm releases with pinned charts.

Every third-party chart is a `kubernetes.helm.v3.Release`: Helm hooks run, `helm ls`
shows the release, and `pulumi import` works (pulumi-kubernetes registry guide
"Choosing the Right Helm Resource"). The price is that CrossGuard sees only the
Release's values, so the policy pack checks those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.versions import ChartPin

# Helm's default wait is 5 minutes; first installs pull several images.
RELEASE_TIMEOUT_SECONDS = 600


def helm_release(
    resource_name: str,
    pin: ChartPin,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    *,
    release_name: str | None = None,
    version: str | None = None,
) -> k8s.helm.v3.Release:
    """Install `pin` (optionally at an overriding exact `version`) as a named release.

    The release name is fixed (`release_name`, else `resource_name`) so Helm and the
    objects it names stay stable across `pulumi up`; Pulumi would otherwise append a
    random suffix.
    """
    repository_opts = None
    if not pin.chart.startswith("oci://"):
        repository_opts = k8s.helm.v3.RepositoryOptsArgs(repo=pin.repository)
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name or resource_name,
            chart=pin.chart,
            version=version or pin.version,
            repository_opts=repository_opts,
            namespace=namespace,
            values=dict(values),
            create_namespace=False,
            cleanup_on_fail=True,
            max_history=10,
            timeout=RELEASE_TIMEOUT_SECONDS,
        ),
        opts=opts,
    )
