"""mcp-datascience: load the stack config, build the components, export the outputs.

All logic lives in `components/`; this file only wires components together, in
dependency order. A bad config stops here, before any resource, with a clear message.
"""

import pulumi

from components.config import load_config
from components.k8s import restricted_namespace
from components.toolhive import ToolHiveOperator, ToolHiveOperatorArgs

config = load_config()

# The MCP servers' namespace exists before the operator: a namespace-scoped operator
# chart writes its RoleBinding into it.
mcp_namespace = restricted_namespace(
    "mcp-namespace", config.mcp.namespace, component="mcp-servers", opts=pulumi.ResourceOptions()
)

toolhive = ToolHiveOperator(
    "toolhive",
    ToolHiveOperatorArgs(
        config=config.toolhive,
        watched_namespaces=config.operator_namespaces,
        namespaces_created=[mcp_namespace],
    ),
)

pulumi.export("environment", config.environment)
pulumi.export("domain", config.domain)
pulumi.export("toolhive_namespace", toolhive.namespace_name)
pulumi.export("mcp_namespace", mcp_namespace.metadata.name)
