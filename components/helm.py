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

from components.k8s import PROVIDER_VERSION
from components.versions import ChartPin

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"

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
) -> pulumi.CustomResource:
    """Install `pin` (optionally at an overriding exact `version`) as a named release.

    The release name is fixed (`release_name`, else `resource_name`) so Helm and the
    objects it names stay stable across `pulumi up`; Pulumi would otherwise append a
    random suffix. Registered as pulumi-kubernetes' `helm.v3.Release` class registers it
    (see KubernetesObject for why not through that class; tests/test_k8s.py compares).
    """
    props: dict[str, Any] = {
        "name": release_name or resource_name,
        "chart": pin.chart,
        "version": version or pin.version,
        "namespace": namespace,
        "values": dict(values),
        "createNamespace": False,
        "cleanupOnFail": True,
        "maxHistory": 10,
        "timeout": RELEASE_TIMEOUT_SECONDS,
        # Set by the Release class on every release (helm/v3/Release.py).
        "compat": "true",
    }
    if not pin.chart.startswith("oci://"):
        props["repositoryOpts"] = {"repo": pin.repository}
    return pulumi.CustomResource(
        RELEASE_TYPE, resource_name, props, pulumi.ResourceOptions(version=PROVIDER_VERSION).merge(opts)
    )
