"""The e2e stack's program: the repository's own `__main__.py`, unchanged, plus one
resource transform for a control plane without kubelets.

The kubernetes provider waits after a create or update until an object is ready
(pulumi-kubernetes provider/pkg/await/awaiters.go): a Service until its endpoints have a
ready address, an Ingress until a controller writes its load balancer status, workloads
until their Pods run. None of that can happen here (no kubelet, no edge controller), so
the objects of those kinds get the provider's own `pulumi.com/skipAwait: "true"`
annotation (provider/pkg/metadata/annotations.go) in this stack only: dev and prod never
carry it (tests/test_existing.py checks their renders). Deletes still wait: the provider
honours skipAwait on delete only for legacy kinds (metadata/overrides.go
allowsSkipAwaitWithDelete), none of which the stack creates.

`python_project` in e2e/engine.py writes the project's `__main__.py`, which calls `main`.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

SKIP_AWAIT = "pulumi.com/skipAwait"
# Kinds the provider awaits on create/update that need a kubelet or a controller this
# control plane does not run (awaiters.go: the Deployment, StatefulSet, DaemonSet, Job,
# Pod, PersistentVolumeClaim, Service and Ingress awaiters).
NEEDS_KUBELET = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:core/v1:Pod",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:Service",
        "kubernetes:networking.k8s.io/v1:Ingress",
    }
)


def with_skip_await(type_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    """`props` with the skip-await annotation when `type_` needs it; None otherwise."""
    if type_ not in NEEDS_KUBELET:
        return None
    metadata = dict(props.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), SKIP_AWAIT: "true"}
    return {**props, "metadata": metadata}


def _transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    props = with_skip_await(args.type_, args.props)
    return None if props is None else pulumi.ResourceTransformResult(props=props, opts=args.opts)


def main(repository: Path) -> None:
    """Run the repository's program with the transform registered for every resource."""
    pulumi.runtime.register_resource_transform(_transform)
    sys.path.insert(0, str(repository))
    runpy.run_path(str(repository / "__main__.py"), run_name="__main__")
