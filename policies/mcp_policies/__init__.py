"""The policy pack's rules, importable without starting the pack.

One module per concern; each exports `POLICIES`. `ALL_POLICIES` is what
`policies/__main__.py` hands to `PolicyPack` and what the offline run
(`offline/policy_run.py`) evaluates. It is built on first use, so that the Pulumi
program can import the pack's pure fact modules (`credentials`) without loading every
rule and the policy SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

# In the order the pack reports them.
MODULES = (
    "workloads",
    "image_pull",
    "mcp",
    "network",
    "isolation",
    "edge",
    "edge_security",
    "secrets",
    "helm",
    "stack",
    "outputs",
    "rbac",
    "exposure",
    "availability",
    "digests",
)


def __getattr__(name: str) -> Any:
    if name == "ALL_POLICIES":
        policies = [p for module in MODULES for p in importlib.import_module(f".{module}", __name__).POLICIES]
        globals()[name] = policies
        return policies
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ALL_POLICIES", "MODULES"]
