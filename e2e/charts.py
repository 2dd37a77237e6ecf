"""Chart values as Helm computes them: the pinned chart's defaults (its values contract,
found as offline/chart_contract.py finds it: $CHART_CONTRACT_DIR or ../shared/charts) with
the stack's release values merged over them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from offline.chart_contract import chart_name, coalesce, find_contract_dir


def computed_values(release: Mapping[str, Any]) -> dict[str, Any]:
    """The values a release renders with (a rendered releases.yaml entry)."""
    path = find_contract_dir(chart_name(str(release["chart"])), str(release["version"])) / "values.yaml"
    return coalesce(yaml.safe_load(path.read_text()) or {}, release.get("values") or {})
