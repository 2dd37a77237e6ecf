"""mcp-datascience: load the stack config, build the components, export the outputs.

All logic lives in `components/`; this file only wires components together, in
dependency order. A bad config stops here, before any resource, with a clear message.
"""

import pulumi

from components.config import load_config
from components.contracts import Route
from components.edge import EdgeIngress, EdgeIngressArgs, credential_refs, credentials
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

# The MCP layer's routes. Provisional: replaced by `build_plan(config).routes` when
# components/plan.py lands on main (same seven servers, Services and ports).
mcp_routes = [
    Route(name, f"/{name}", config.mcp.namespace, f"mcp-{name}-proxy", 8080, extra_paths=extra)
    for name, extra in (
        ("huggingface", ()),
        ("dataset-viewer", ()),
        ("data-explorer", ()),
        ("pandas", ()),
        ("datahub", ()),
        ("penrose", ("/outputs/",)),
        ("gov-data", ()),
    )
]

# DNS API credentials the edge declares; the SecretsLayer will materialise them and
# hand back these same references (names and keys do not depend on the backend).
edge_credentials = credential_refs(credentials(config))

edge = EdgeIngress(
    "edge",
    EdgeIngressArgs(
        config=config,
        routes=mcp_routes,
        credential_refs=edge_credentials,
        depends_on=[mcp_namespace],
    ),
)

pulumi.export("environment", config.environment)
pulumi.export("domain", config.domain)
pulumi.export("toolhive_namespace", toolhive.namespace_name)
pulumi.export("mcp_namespace", mcp_namespace.metadata.name)
pulumi.export("base_url", edge.base_url)
pulumi.export("mcp_urls", edge.mcp_urls)
pulumi.export("penrose_outputs_url", edge.penrose_outputs_url)
pulumi.export("web_urls", edge.web_urls)
