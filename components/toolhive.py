"""ToolHiveOperator: the ToolHive CRDs and operator, in their own namespace.

Two charts, CRDs first (stacklok/toolhive docs/kind/deploying-toolhive-operator.md):
the operator chart holds no CRDs. MCPServers created by other components must depend
on `ToolHiveOperator.ready` so that `pulumi destroy` removes them while the operator
still runs to clear its finalizer (`mcpserver.toolhive.stacklok.dev/finalizer`).

With `toolhive.install_operator: false` an operator someone else installed runs the MCP
servers: the component installs nothing and `ready` is the check that the cluster serves
the ToolHive API (components/existing.py). That operator outlives the stack, so
`pulumi destroy` always finds it running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import existing, netpol, versions
from components.config import NetworkConfig, ToolHiveConfig
from components.contracts import ScrapeTarget
from components.helm import helm_release
from components.image_pins import ImagePins
from components.k8s import KubernetesObject, container_security_context, labels, restricted_namespace
from components.mcp_servers import API_VERSION

TYPE = "mcp-datascience:index:ToolHiveOperator"
RELEASE = "toolhive-operator"
# Operator pod labels (chart selector labels: name = chart fullname, instance = release).
OPERATOR_SELECTOR = {"app.kubernetes.io/name": "toolhive-operator", "app.kubernetes.io/instance": RELEASE}
# controller-runtime serves plain-HTTP /metrics on :8080 (port name `metrics`) and health on
# :8081 (cmd/thv-operator/main.go metricsserver.Options{BindAddress: ":8080"}); the chart
# creates no Service for it, so this component does.
METRICS_SERVICE = "toolhive-operator-metrics"
METRICS_PORT = 8080
# controller-runtime's webhook server port (main.go webhook.Options{Port: 9443}).
WEBHOOK_PORT = 9443


@dataclass(frozen=True)
class ToolHiveOperatorArgs:
    config: ToolHiveConfig
    # Namespaces the operator manages when namespace-scoped (StackConfig.operator_namespaces).
    watched_namespaces: Sequence[str]
    monitoring_namespace: str  # Prometheus scrapes the operator from here (config.monitoring.namespace)
    # The chart writes a RoleBinding into each watched namespace, so the namespaces
    # this stack creates must exist before the operator release.
    namespaces_created: Sequence[pulumi.Resource] = field(default_factory=tuple)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    pins: ImagePins = field(default_factory=ImagePins)  # the digests of images.digests


def scrape_targets(config: ToolHiveConfig) -> list[ScrapeTarget]:
    """The operator's metrics Service, for the monitoring stack (an existing operator's
    metrics are its installer's to scrape: its labels are not ours to know)."""
    if not config.install_operator:
        return []
    return [
        ScrapeTarget(
            name=METRICS_SERVICE,
            namespace=config.namespace,
            selector={"app.kubernetes.io/name": METRICS_SERVICE},
            port="metrics",
        )
    ]


def network_policies(network: NetworkConfig, monitoring_namespace: str) -> dict[str, dict[str, Any]]:
    """The operator namespace: nothing in or out but what the operator needs."""
    api = netpol.api_server_egress(network)
    return {
        "default-deny": netpol.default_deny_spec(),
        "allow-dns": netpol.dns_spec(network),
        "toolhive-operator": {
            "podSelector": {"matchLabels": OPERATOR_SELECTOR},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [netpol.namespace_peer(monitoring_namespace)], "ports": netpol.ports([METRICS_PORT])},
                # Admission webhooks are called by the API server, from its own addresses.
                {"from": netpol.from_api_server(network), "ports": netpol.ports([WEBHOOK_PORT])},
            ],
            "egress": [api],
        },
    }


def images(config: ToolHiveConfig) -> list[versions.Image]:
    """The operator's image and the two it starts (proxy runner, vMCP), when installed."""
    return list(versions.TOOLHIVE_IMAGES.values()) if config.install_operator else []


def api_dependencies(config: ToolHiveConfig) -> list[existing.ApiDependency]:
    """What an existing operator must serve: the API of every ToolHive object the stack creates."""
    if config.install_operator:
        return []
    return [
        existing.ApiDependency(
            API_VERSION,
            "toolhive.install_operator: false",
            f"the ToolHive operator (chart {versions.TOOLHIVE_OPERATOR.version} serves {API_VERSION})",
        )
    ]


def crd_values() -> dict[str, Any]:
    """Values of the CRD chart: install the CRDs and keep them on uninstall, so that
    removing the chart never cascades into deleting every MCPServer in the cluster."""
    return {"crds": {"install": True, "keep": True}}


def operator_values(config: ToolHiveConfig, watched: Sequence[str], pins: ImagePins | None = None) -> dict[str, Any]:
    """Values of the operator chart (keys from its 0.44.0 README values table). The three
    images are plain strings the chart passes on unchanged (templates/deployment.yaml:
    `image`, env TOOLHIVE_RUNNER_IMAGE and VMCP_IMAGE), so a digest rides in the reference."""
    pins = pins or ImagePins()
    namespaced = config.rbac_scope == "namespace"
    rbac: dict[str, Any] = {"scope": config.rbac_scope}
    if namespaced:
        rbac["allowedNamespaces"] = list(watched)
    return {
        "operator": {
            "image": pins.ref(versions.TOOLHIVE_IMAGES["operator"]),
            "toolhiveRunnerImage": pins.ref(versions.TOOLHIVE_IMAGES["proxyrunner"]),
            "vmcpImage": pins.ref(versions.TOOLHIVE_IMAGES["vmcp"]),
            "rbac": rbac,
            # The chart refuses to render with the migrator on and namespace scope
            # (templates/validate-features.yaml): the migrator needs cluster rights.
            "features": {"experimental": False, "storageVersionMigrator": not namespaced},
            "resources": config.resources.as_k8s(),
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": container_security_context(uid=1000),
            # No calls home from the cluster: disables the update check and the usage
            # metrics gated on it (chart README, operator.env).
            "env": [{"name": "TOOLHIVE_SKIP_UPDATE_CHECK", "value": "true"}],
        }
    }


class ToolHiveOperator(pulumi.ComponentResource):
    """The ToolHive operator: namespace, CRD chart, operator chart (or the check that an
    existing one serves the API)."""

    namespace_name: pulumi.Output[str]

    def __init__(self, name: str, args: ToolHiveOperatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, {}, opts)
        config = args.config
        if not config.install_operator:
            self._ready = existing.require_apis(name, api_dependencies(config), parent=self)
            self.namespace_name = pulumi.Output.from_input(config.namespace)
            self.register_outputs({"namespace": self.namespace_name, "installed": False})
            return
        child = pulumi.ResourceOptions(parent=self)

        self.namespace = restricted_namespace(
            f"{name}-namespace", config.namespace, component="toolhive-operator", opts=child
        )
        # The CRD release must be installed in the same namespace on every upgrade: its
        # objects carry a fixed meta.helm.sh/release-namespace (chart README).
        self.crds = helm_release(
            f"{name}-crds",
            versions.TOOLHIVE_OPERATOR_CRDS,
            namespace=self.namespace.metadata["name"],
            values=crd_values(),
            release_name="toolhive-operator-crds",
            version=config.chart_version,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.operator = helm_release(
            f"{name}-operator",
            versions.TOOLHIVE_OPERATOR,
            namespace=self.namespace.metadata["name"],
            values=operator_values(config, args.watched_namespaces, args.pins),
            release_name=RELEASE,
            version=config.chart_version,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.crds, *args.namespaces_created]),
        )
        self.metrics_service = KubernetesObject(
            f"{name}-metrics",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": METRICS_SERVICE,
                    "namespace": config.namespace,
                    "labels": labels(METRICS_SERVICE, "toolhive-operator"),
                },
                "spec": {
                    "selector": OPERATOR_SELECTOR,
                    "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
                },
            },
            pulumi.ResourceOptions(parent=self, depends_on=[self.operator]),
        )
        for policy_name, spec in network_policies(args.network, args.monitoring_namespace).items():
            netpol.network_policy(
                f"{name}-netpol-{policy_name}",
                name=policy_name,
                namespace=config.namespace,
                spec=spec,
                component="toolhive-operator",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
            )
        self.namespace_name = self.namespace.metadata["name"]
        self._ready = [self.crds, self.operator]
        self.register_outputs(
            {
                "namespace": self.namespace_name,
                "crds_release": self.crds.name,
                "operator_release": self.operator.name,
            }
        )

    @property
    def ready(self) -> list[pulumi.Input[pulumi.Resource]]:
        """What a custom resource of the toolhive.stacklok.dev group must depend on: the
        charts, or the check that the existing operator serves the API."""
        return list(self._ready)
