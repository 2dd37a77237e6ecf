"""Chart values as Helm computes them: the pinned chart's defaults (its values contract,
found as offline/chart_contract.py finds it: $CHART_CONTRACT_DIR or ../shared/charts) with
the stack's release values merged over them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from offline.chart_contract import chart_name, find_contract_dir


def merge(defaults: Any, values: Any) -> Any:
    """Helm's coalescing: maps merge key by key, anything else is replaced; null deletes."""
    if isinstance(defaults, Mapping) and isinstance(values, Mapping):
        out = {k: copy.deepcopy(v) for k, v in defaults.items()}
        for key, value in values.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(out.get(key), value)
        return out
    return copy.deepcopy(values)


def computed_values(release: Mapping[str, Any]) -> dict[str, Any]:
    """The values a release renders with (a rendered releases.yaml entry)."""
    path = find_contract_dir(chart_name(str(release["chart"])), str(release["version"])) / "values.yaml"
    return merge(yaml.safe_load(path.read_text()) or {}, release.get("values") or {})
