"""Production runs every image by digest.

A tag can be moved to other bytes; a digest cannot. The program puts a digest on every
image wherever the object or chart takes one, from `images.digests`, which the deploy
workflow resolves at deploy time (components/images.py), and refuses a production
`pulumi up` without them. This rule checks the result on what the engine sees: each
MCPServer's and VirtualMCPServer's image, every pod template, and every image a Helm
release's values name. Each chart the program installs takes a digest (a `digest` or
`sha` value, or, where the template only writes `repository:tag`, a tag of the form
`<tag>@sha256:...`), so a chart image without one is a gap too. Enabled in
`policies/config/prod.json`; dev may run tags (`policies/config/dev.json` disables it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .base import resource_policy
from .kube import parse_image
from .workloads import SCOPE
from .workloads import _images as workload_images


def _check_digests(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    for where, ref, _chart_tag in workload_images(args):
        if parse_image(ref).digest is None:
            report(f"{where}: image '{ref}' is not pinned by digest", None)


IMAGE_DIGEST_IN_PROD = resource_policy(
    "image-digest-in-prod",
    "In production every image is pinned by digest: ours (MCPServer images) and every chart's (each pinned "
    "chart takes one)." + SCOPE,
    _check_digests,
    severity=Severity.HIGH,
    remediation=(
        "Deploy through the deploy workflow, which resolves every image's digest and passes it as "
        "images.digests; by hand, `python -m mcpds images --stack <stack>` lists the references and `--write` "
        "stores `<ref> <digest>` lines. A chart image without a digest needs its value set in the component."
    ),
)

POLICIES = [IMAGE_DIGEST_IN_PROD]
