"""The smallest config that deploys in production, for tests that vary one key.

Production requires what has no safe default: the DataHub GMS URL, and an OIDC issuer
for the code-executing Data Exploration server (or it must not be published).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

# The fixture stacks (this project's own dev and prod configuration), for tests that assert
# particular values; tests/conftest.py runs them as fixture_runs.
FIXTURE_STACKS = Path(__file__).resolve().parent / "stacks"

BASE: dict[str, Any] = {
    "environment": "prod",
    "mcp": {
        "oidc": {"issuer": "https://auth.example.com/realms/mcp", "audience": "mcp"},
        "servers": {
            "data-exploration": {"auth": "oidc"},
            "datahub": {"env": {"DATAHUB_GMS_URL": "https://datahub.example.com/api/gms"}},
        },
    },
}


def base_config() -> dict[str, Any]:
    return copy.deepcopy(BASE)
