"""Chart values as Helm computes them: the pinned chart's defaults, subcharts' included
(its values contract, offline/chart_contract.py: $CHART_CONTRACT_DIR or ../shared/charts),
with the stack's release values merged over them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from offline.chart_contract import Contract, coalesce


def computed_values(release: Mapping[str, Any]) -> dict[str, Any]:
    """The values a release renders with (a rendered releases.yaml entry), a copy of its own."""
    defaults = Contract.load(str(release["chart"]), str(release["version"])).defaults
    return copy.deepcopy(coalesce(defaults, release.get("values") or {}))
