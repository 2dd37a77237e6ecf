"""The policy pack's rules, importable without starting the pack.

One module per concern; each exports `POLICIES`. `ALL_POLICIES` is what
`policies/__main__.py` hands to `PolicyPack` and what the offline run
(`offline/policy_run.py`) evaluates.
"""

from . import digests, edge, helm, mcp, network, secrets, stack, workloads

ALL_POLICIES = [
    *workloads.POLICIES,
    *mcp.POLICIES,
    *network.POLICIES,
    *edge.POLICIES,
    *secrets.POLICIES,
    *helm.POLICIES,
    *stack.POLICIES,
    *digests.POLICIES,
]

__all__ = ["ALL_POLICIES"]
