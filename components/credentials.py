"""Every credential the stack's components declare, in one list.

The consumers (the MCP plan, the edge, the monitoring stack) each declare their own
`CredentialSpec`s; this module gathers them, so the SecretsLayer receives the list
instead of importing its consumers. `__main__.py` hands the list to the layer, and
`python -m mcpds seal --write` checks a value against it.
"""

from __future__ import annotations

from components import edge, monitoring
from components.config import StackConfig
from components.contracts import CredentialSpec
from components.plan import Plan
from components.secrets import merge_specs


def declared_specs(config: StackConfig, plan: Plan) -> list[CredentialSpec]:
    """The credentials of `plan`'s servers, the edge and monitoring, one per id."""
    return merge_specs([*plan.credentials, *edge.credentials(config), *monitoring.credentials(config)])
