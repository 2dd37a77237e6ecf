"""mcp-datascience: load the stack config, build the components, export the outputs.

All logic lives in `components/`; this file only wires components together, in
dependency order. A bad config stops here, before any resource, with a clear message.
"""

import pulumi

from components import edge as edge_component
from components import images as image_digests
from components import monitoring as monitoring_component
from components import toolhive as toolhive_component
from components.credentials import declared_specs
from components.edge import EdgeIngress, EdgeIngressArgs
from components.image_pins import ImagePins
from components.k8s import restricted_namespace
from components.mcp_servers import IMAGE_REGISTRY_ANNOTATION, MCPServerSet, MCPServerSetArgs
from components.monitoring import MonitoringStack, MonitoringStackArgs
from components.plan import build_plan
from components.secrets import SecretsLayer, SecretsLayerArgs, preflight
from components.stack_config import load_config
from components.toolhive import ToolHiveOperator, ToolHiveOperatorArgs

config = load_config()
plan = build_plan(config)

# Every credential the components declare. In a real update a missing required one
# stops the program here, before the first resource is registered.
credential_specs = declared_specs(config, plan)
preflight(config, credential_specs)
# In production every image runs by digest (images.digests, passed by the deploy
# workflow); a real update without them stops here too.
image_digests.preflight(config)

# The MCP servers' namespace exists before the operator: a namespace-scoped operator
# chart writes its RoleBinding into it. It declares the registry of the stack's own
# images, which the policy pack's image-registry rule admits there.
mcp_namespace = restricted_namespace(
    "mcp-namespace",
    config.mcp.namespace,
    component="mcp-servers",
    opts=pulumi.ResourceOptions(),
    annotations={IMAGE_REGISTRY_ANNOTATION: config.images.registry},
)

# The namespaces that hold credentials exist before the SecretsLayer writes into them.
edge_namespaces = edge_component.create_namespaces("edge", config)
monitoring_namespaces = monitoring_component.create_namespaces("monitoring", config)
owned_namespaces = {config.mcp.namespace: mcp_namespace, **edge_namespaces, **monitoring_namespaces}

# Credentials every component declares, materialised by the configured backend
# (secrets.backend); consumers get Secret names and keys, never values.
secrets = SecretsLayer(
    "secrets",
    SecretsLayerArgs(
        config=config,
        specs=credential_specs,
        namespaces=owned_namespaces,
    ),
)

toolhive = ToolHiveOperator(
    "toolhive",
    ToolHiveOperatorArgs(
        config=config.toolhive,
        watched_namespaces=config.operator_namespaces,
        namespaces_created=[mcp_namespace],
        network=config.network,
        monitoring_namespace=config.monitoring.namespace,
        pins=ImagePins(config.images.digests),
    ),
)

# Where the MCP proxies send OTLP: the monitoring stack's OpenTelemetry Collector.
telemetry = monitoring_component.telemetry_target(config)

mcp = MCPServerSet(
    "mcp",
    MCPServerSetArgs(
        plan=plan,
        network=config.network,
        telemetry=telemetry,
        namespace=mcp_namespace,
        edge_namespace=config.edge.namespace,
        monitoring_namespace=config.monitoring.namespace,
        operator_ready=toolhive.ready,
        secret_refs=secrets.refs,
        secrets_ready=secrets.ready,
    ),
)

edge = EdgeIngress(
    "edge",
    EdgeIngressArgs(
        config=config,
        routes=plan.routes,
        web_routes=monitoring_component.web_routes(config),
        credential_refs=secrets.refs,
        credentials_ready=secrets.ready,
        route_backends=mcp.route_backends,
        namespaces=edge_namespaces,
    ),
)

# Prometheus, Grafana, the collector and Jaeger. Its credentials are optional: when the
# SecretsLayer provides none, Grafana's admin password is generated and Alertmanager
# keeps the chart's null receiver.
monitoring = MonitoringStack(
    "monitoring",
    MonitoringStackArgs(
        config=config,
        scrape_targets=[
            *plan.scrape_targets,
            *toolhive_component.scrape_targets(config.toolhive),
            *edge_component.scrape_targets(config),
        ],
        secret_refs=secrets.refs,
        secrets_ready=secrets.ready,
        namespace=monitoring_namespaces.get(config.monitoring.namespace),
    ),
)

pulumi.export("environment", config.environment)
pulumi.export("domain", config.domain)
pulumi.export("toolhive_namespace", toolhive.namespace_name)
pulumi.export("mcp_namespace", mcp_namespace.metadata["name"])
pulumi.export("secrets_backend", config.secrets.backend)
pulumi.export(
    "mcp_routes",
    [
        {
            "name": r.name,
            "path": r.path,
            "service": r.service,
            "port": r.port,
            "mcp_path": r.mcp_path,
            "requires_auth": r.requires_auth,
            # The outputs sidecar's Service (README, Outputs users can open), or null.
            "outputs": {"service": r.outputs.service, "port": r.outputs.port} if r.outputs else None,
        }
        for r in plan.routes
    ],
)
pulumi.export(
    "mcp_servers",
    {
        s.name: {
            "transport": s.spec.transport,
            "tools": list(s.spec.enabled_tools),
            "auth": "oidc" if s.auth else "none",
            "group": s.group,
            "route": s.route.path if s.route else None,
        }
        for s in plan.servers
    },
)
pulumi.export("base_url", edge.base_url)
pulumi.export("mcp_urls", edge.mcp_urls)
pulumi.export("outputs_urls", edge.outputs_urls)
pulumi.export("web_urls", edge.web_urls)
pulumi.export("monitoring_namespace", monitoring.namespace_name)
pulumi.export("otlp_http_endpoint", telemetry.otlp_http_endpoint)
pulumi.export(
    "grafana_admin_secret",
    f"{config.monitoring.namespace}/{monitoring.grafana_admin_secret}" if monitoring.grafana_admin_secret else None,
)
pulumi.export("grafana_dashboards", sorted(monitoring_component.dashboard_files()))
