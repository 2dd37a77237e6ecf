"""The YAML reader for large trusted files (CRDs, chart values, renders): libyaml's parser
with PyYAML's safe constructors where the PyYAML wheel has libyaml (several times faster
than the pure-Python parser), the pure-Python one otherwise."""

from __future__ import annotations

import yaml

CLoader: type[yaml.SafeLoader] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # type: ignore[assignment]
