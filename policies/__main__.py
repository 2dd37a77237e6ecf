"""Entry point Pulumi runs for `--policy-pack policies`. Only constructs the pack:
`PolicyPack(...)` starts a gRPC server and never returns, so the rules live in the
importable `mcp_policies` package where tests and the offline run can reach them."""

from pulumi_policy import EnforcementLevel, PolicyPack

from mcp_policies import ALL_POLICIES

PolicyPack(
    name="mcp-datascience",
    enforcement_level=EnforcementLevel.MANDATORY,  # an environment's config relaxes a rule, with its reason
    policies=ALL_POLICIES,
)
