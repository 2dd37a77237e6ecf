"""Chart values as Helm computes them: the pinned chart's defaults (../shared/charts) with
the stack's release values merged over them."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from offline.harness import PROJECT_ROOT


def charts_dir() -> Path:
    return Path(os.environ.get("CHART_VALUES_DIR") or PROJECT_ROOT.parent / "shared" / "charts")


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
    chart = str(release["chart"]).rsplit("/", 1)[-1]
    path = charts_dir() / f"{chart}-{release['version']}" / "values.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no values contract for chart {chart} {release['version']}")
    return merge(yaml.safe_load(path.read_text()) or {}, release.get("values") or {})
