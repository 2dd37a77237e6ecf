"""Every pinned chart and image of the stack, in one visible place.

Bump a version here and nowhere else; the config model uses these as defaults and
the tests read them back. Each pin names the upstream source it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart at an exact version.

    `chart` is either a full `oci://` reference or a chart name inside `repository`
    (an HTTPS Helm repository).
    """

    chart: str
    version: str
    repository: str | None = None

    @property
    def source(self) -> str:
        """The chart's location as one string (OCI reference or repo URL + name)."""
        if self.chart.startswith("oci://"):
            return self.chart
        return f"{self.repository}/{self.chart}"


# ToolHive operator, chart and app v0.44.0 (stacklok/toolhive tag v0.44.0,
# deploy/charts/operator{,-crds}/Chart.yaml). The CRD chart must be installed first.
TOOLHIVE_OPERATOR_CRDS = ChartPin(chart="oci://ghcr.io/stacklok/toolhive/toolhive-operator-crds", version="0.44.0")
TOOLHIVE_OPERATOR = ChartPin(chart="oci://ghcr.io/stacklok/toolhive/toolhive-operator", version="0.44.0")

# Images the ToolHive operator runs or spawns (chart 0.44.0 values.yaml defaults, set
# explicitly so that the policy pack and image mirrors see them).
TOOLHIVE_IMAGES = {
    "operator": "ghcr.io/stacklok/toolhive/operator:v0.44.0",
    "proxyrunner": "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0",
    "vmcp": "ghcr.io/stacklok/toolhive/vmcp:v0.44.0",
}
