"""MCPServerSet: the MCP servers under ToolHive, and everything around them in their namespace.

Per server: a `toolhive.stacklok.dev/v1beta1` MCPServer (the operator turns it into a
proxy Deployment + Service and the proxy runner into a backend StatefulSet), its tool
allow-list, autoscaling for stateless HTTP servers, and NetworkPolicies. Shared: the
MCPTelemetryConfig, the optional MCPOIDCConfig, the backend ServiceAccount, MCPGroups
with their VirtualMCPServers, and the namespace's default deny.

Facts (research/toolhive.md): `spec.resources` sizes only the proxy, so the MCP
container is sized through `podTemplateSpec` (container `mcp`); ToolHive enforces no
network rules on Kubernetes, so the NetworkPolicies here are the only ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import netpol, versions
from components import outputs as outputs_sidecar
from components.config import NetworkConfig
from components.contracts import SecretRef, TelemetryTarget
from components.k8s import PART_OF, KubernetesObject, container_security_context, labels, owner_labels
from components.plan import (
    BACKEND_SERVICE_ACCOUNT,
    OIDC_CONFIG,
    ROLE_LABEL,
    SERVER_LABEL,
    TELEMETRY_CONFIG,
    VMCP_PORT,
    GroupPlan,
    Plan,
    ServerPlan,
    proxy_selector,
)

TYPE = "mcp-datascience:index:MCPServerSet"
API_VERSION = "toolhive.stacklok.dev/v1beta1"
RUN_AS = versions.IMAGE_UID  # every image of the catalog (images/, servers/); custom servers too
# Declares whether an MCPServer runs caller-supplied code ("true"/"false"). The policy
# pack reads it (policies/mcp_policies/kube.py, same value; tests/test_mcp_servers.py ties the two).
EXECUTES_CODE_ANNOTATION = "mcp-datascience.finetunings.ai/executes-code"
# On the MCP namespace: the registry this stack's own images come from (`images.registry`).
# The policy pack's image-registry rule admits it there, so it follows the stack config.
IMAGE_REGISTRY_ANNOTATION = "mcp-datascience.finetunings.ai/image-registry"
# How the kubernetes provider deletes an object (pulumi-kubernetes metadata/annotations.go;
# foreground by default, metadata/overrides.go DeletionPropagation). A VirtualMCPServer is
# deleted in the background: ToolHive 0.44.0's vMCP reconciler neither checks the deletion
# timestamp nor holds a finalizer (cmd/thv-operator/controllers/virtualmcpserver_controller.go
# Reconcile), so while a foreground delete waits for the garbage collector it re-creates the
# vMCP Deployment the collector removes, and `pulumi destroy` waits minutes on that race.
DELETION_PROPAGATION_ANNOTATION = "pulumi.com/deletionPropagationPolicy"
VMCP_ANNOTATIONS = {DELETION_PROPAGATION_ANNOTATION: "background"}

# The proxy pings its backend with a 5 s timeout, the same as its liveness probe's, so a
# slow backend under load gets the proxy killed. Shorter pings, more tolerance
# (TOOLHIVE_HEALTH_CHECK_* in transparent_proxy.go, transparent proxy only).
PROXY_HEALTH_ENV = (
    {"name": "TOOLHIVE_HEALTH_CHECK_PING_TIMEOUT", "value": "2s"},
    {"name": "TOOLHIVE_HEALTH_CHECK_FAILURE_THRESHOLD", "value": "12"},
)
# Size of the vMCP container (defaults of virtualmcpserver_deployment.go, set explicitly).
VMCP_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


@dataclass(frozen=True)
class MCPServerSetArgs:
    plan: Plan
    network: NetworkConfig
    telemetry: TelemetryTarget
    namespace: pulumi.Resource  # created before the operator (see __main__.py)
    edge_namespace: str  # the edge controller's namespace: published routes come from it
    monitoring_namespace: str  # Prometheus scrapes /metrics, the collector takes OTLP
    # ToolHiveOperator.ready: the charts, or the check of an existing operator's API.
    operator_ready: Sequence[pulumi.Input[pulumi.Resource]]
    # `<credential id>/<key>` -> Secret key (SecretsLayer.refs); optional ones may be absent.
    secret_refs: Mapping[str, SecretRef] = field(default_factory=dict)
    secrets_ready: Sequence[pulumi.Input[pulumi.Resource]] = ()


# ---------------------------------------------------------------------------
# Pure builders (tested without Pulumi)
# ---------------------------------------------------------------------------


def telemetry_spec(telemetry: TelemetryTarget) -> dict[str, Any]:
    """Traces go out over OTLP; metrics have one source, the proxy's `/metrics`.

    ToolHive can also push the same instruments over OTLP (`openTelemetry.metrics`), but
    Prometheus already scrapes every proxy (one ServiceMonitor each): pushing too would
    store each series twice and leave two diverging answers to "how many requests". So
    the push is off. The operator refuses an endpoint with neither signal
    (MCPTelemetryConfig validateEndpointRequiresSignals): tracing keeps it valid.
    """
    return {
        "openTelemetry": {
            "enabled": True,
            "endpoint": telemetry.otlp_http_endpoint,
            "insecure": telemetry.insecure,
            "tracing": {"enabled": True, "samplingRate": telemetry.sampling_rate},
            "metrics": {"enabled": False},
        },
        # /metrics on the proxy port (outside the auth middleware), scraped by the
        # ServiceMonitors (v0.44.0).
        "prometheus": {"enabled": True},
    }


def oidc_spec(plan: Plan) -> dict[str, Any]:
    assert plan.oidc is not None
    inline: dict[str, Any] = {"issuer": plan.oidc.issuer}
    if plan.oidc.jwks_url:
        inline["jwksUrl"] = plan.oidc.jwks_url
    return {"type": "inline", "inline": inline}


def _oidc_ref(plan: Plan, public_url: str) -> dict[str, Any]:
    assert plan.oidc is not None
    return {
        "name": OIDC_CONFIG,
        "audience": plan.oidc.audience,
        "scopes": list(plan.oidc.scopes),
        "resourceUrl": public_url,
    }


def _our_labels(name: str, role: str) -> dict[str, str]:
    return {SERVER_LABEL: name, ROLE_LABEL: role, "app.kubernetes.io/part-of": PART_OF}


def _probe(server: ServerPlan, period: int) -> dict[str, Any] | None:
    probe = server.spec.probe
    if probe is None or server.spec.mcp_port is None:
        return None
    handler: dict[str, Any]
    if probe.kind == "http":
        handler = {"httpGet": {"path": probe.path, "port": server.spec.mcp_port}}
    else:
        handler = {"tcpSocket": {"port": server.spec.mcp_port}}
    return {**handler, "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": 3}


def pod_template(server: ServerPlan, plan: Plan) -> dict[str, Any]:
    """The patch ToolHive applies to the backend pod: sizing, hardening, scratch space."""
    volumes = [
        {"name": f"scratch-{i}", "emptyDir": {"sizeLimit": plan.scratch_size}}
        for i, _ in enumerate(server.spec.writable_paths)
    ]
    mounts = [{"name": f"scratch-{i}", "mountPath": path} for i, path in enumerate(server.spec.writable_paths)]
    container: dict[str, Any] = {
        "name": "mcp",
        "resources": server.resources.as_k8s(),
        "securityContext": container_security_context(uid=RUN_AS),
    }
    containers = [container]
    if server.outputs is not None:
        # A volume of its own, shared with the sidecar that serves it (components/outputs.py).
        volumes.append(outputs_sidecar.volume(server.outputs))
        mounts.append(outputs_sidecar.server_mount(server.outputs))
        containers.append(outputs_sidecar.container(server.outputs, plan.pins.ref(server.outputs.image), RUN_AS))
    if mounts:
        container["volumeMounts"] = mounts
    liveness = _probe(server, period=20)
    if liveness:
        container["livenessProbe"] = {**liveness, "initialDelaySeconds": 10}
        container["readinessProbe"] = _probe(server, period=10)
    spec: dict[str, Any] = {
        # The backend pod needs no Kubernetes API; ToolHive does not turn the token off.
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
    }
    if volumes:
        spec["volumes"] = volumes
    if plan.pull_secret:
        spec["imagePullSecrets"] = [{"name": plan.pull_secret}]
    return {
        "metadata": {"labels": _our_labels(server.name, "backend")},
        "spec": spec,
    }


def mcpserver_spec(server: ServerPlan, plan: Plan, secret_refs: Mapping[str, SecretRef]) -> dict[str, Any]:
    spec_in = server.spec
    spec: dict[str, Any] = {
        "image": plan.pins.ref(server.image),
        "transport": spec_in.transport,
        "proxyPort": spec_in.proxy_port,
        "resources": plan.proxy_resources.as_k8s(),
        "serviceAccount": BACKEND_SERVICE_ACCOUNT,
        "podTemplateSpec": pod_template(server, plan),
        "telemetryConfigRef": {"name": TELEMETRY_CONFIG, "serviceName": server.name},
        "resourceOverrides": {
            "proxyDeployment": {
                "labels": {SERVER_LABEL: server.name, ROLE_LABEL: "proxy"},
                "podTemplateMetadataOverrides": {"labels": _our_labels(server.name, "proxy")},
            },
            "proxyService": {"labels": {SERVER_LABEL: server.name, ROLE_LABEL: "proxy"}},
        },
    }
    if spec_in.is_http:
        spec["mcpPort"] = spec_in.mcp_port
        spec["resourceOverrides"]["proxyDeployment"]["env"] = [dict(e) for e in PROXY_HEALTH_ENV]
    else:
        spec["proxyMode"] = spec_in.proxy_mode
    if spec_in.args:
        spec["args"] = list(spec_in.args)
    if server.env:
        spec["env"] = [{"name": k, "value": v} for k, v in server.env.items()]
    secrets = []
    for item in server.secret_env:
        ref = secret_refs.get(f"{item.credential}/{item.key}")
        if ref is None:
            if item.optional:
                continue  # not configured: the server runs without it
            raise ValueError(
                f"credential {item.credential}/{item.key} of {server.name} was not provided by the secrets layer"
            )
        secrets.append({"name": ref.name, "key": ref.key, "targetEnvName": item.env})
    if secrets:
        spec["secrets"] = secrets
    if server.tool_config:
        spec["toolConfigRef"] = {"name": server.tool_config}
    if server.group:
        spec["groupRef"] = {"name": server.group}
    if server.autoscale is None:
        # Exactly one proxy and one backend: stdio is capped at one anyway, and a
        # stateful server must not be spread over replicas.
        spec["replicas"] = 1
        spec["backendReplicas"] = 1
    else:
        # Left unset so the HorizontalPodAutoscalers own them (nil = hands-off).
        spec["sessionAffinity"] = "None"  # stateless: no reason to pin clients
    if server.route:
        # Only the edge, Prometheus and vMCP reach the proxy (NetworkPolicy), so
        # X-Forwarded-* headers come from our own controller.
        spec["trustProxyHeaders"] = True
        if server.route.mcp_path == "/sse":
            spec["endpointPrefix"] = server.route.path
        if server.auth:
            spec["oidcConfigRef"] = _oidc_ref(plan, f"https://{plan.domain}{server.route.path}{server.route.mcp_path}")
    return spec


def vmcp_spec(group: GroupPlan, plan: Plan) -> dict[str, Any]:
    incoming: dict[str, Any] = {"type": "anonymous"}
    if group.auth and group.route:
        incoming = {"type": "oidc", "oidcConfigRef": _oidc_ref(plan, f"https://{plan.domain}{group.route.path}/mcp")}
    return {
        "groupRef": {"name": group.name},
        "incomingAuth": incoming,
        # Backends are found through the Kubernetes API; they take no credentials.
        "outgoingAuth": {"source": "discovered"},
        "config": {
            # Every tool is published as <server>_<tool>, so names never clash.
            "aggregation": {"conflictResolution": "prefix", "conflictResolutionConfig": {"prefixFormat": "{workload}_"}}
        },
        "telemetryConfigRef": {"name": TELEMETRY_CONFIG, "serviceName": group.name},
        # vMCP keeps sessions in process memory; more replicas need Redis session storage.
        "replicas": 1,
        "sessionAffinity": "ClientIP",
        "podTemplateSpec": {
            "metadata": {"labels": _our_labels(group.name, "vmcp")},
            "spec": {
                "containers": [
                    {"name": "vmcp", "resources": VMCP_RESOURCES, "securityContext": container_security_context(RUN_AS)}
                ]
            },
        },
    }


def autoscalers(server: ServerPlan, namespace: str) -> list[dict[str, Any]]:
    """HPAs for the proxy Deployment and the backend StatefulSet of a stateless server.

    Both scale on CPU with the same bounds: the backend Service the runner creates has
    a fixed ClientIP affinity (stacklok/toolhive#5738), so each proxy pod sticks to one
    backend pod, and backends only spread as proxies do.
    """
    assert server.autoscale is not None
    out = []
    for role, kind in (("proxy", "Deployment"), ("backend", "StatefulSet")):
        out.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": f"{server.name}-{role}", "namespace": namespace},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": server.name},
                    "minReplicas": server.autoscale.min_replicas,
                    "maxReplicas": server.autoscale.max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "averageUtilization": server.autoscale.cpu_utilization,
                                },
                            },
                        }
                    ],
                },
            }
        )
    return out


def disruption_budgets(server: ServerPlan, namespace: str) -> list[dict[str, Any]]:
    """One voluntary disruption at a time, where more than one replica always runs."""
    if server.autoscale is None or server.autoscale.min_replicas < 2:
        return []
    return [
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": f"{server.name}-{role}", "namespace": namespace},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        }
        for role, selector in (("proxy", server.proxy_selector), ("backend", server.backend_selector))
    ]


def network_policies(
    plan: Plan, network: NetworkConfig, edge_namespace: str, monitoring_namespace: str, otlp_port: int
) -> dict[str, dict[str, Any]]:
    """name -> NetworkPolicy spec for the MCP namespace."""
    otlp = {"to": [netpol.namespace_peer(monitoring_namespace)], "ports": netpol.ports([otlp_port])}
    api = netpol.api_server_egress(network)
    policies: dict[str, dict[str, Any]] = {
        "default-deny": netpol.default_deny_spec(),
        "allow-dns": netpol.dns_spec(network),
    }
    vmcp_of = {member: g for g in plan.groups for member in g.members}
    for server in plan.servers:
        spec_in = server.spec
        sources = [netpol.namespace_peer(monitoring_namespace)]
        if server.route:
            sources.insert(0, netpol.namespace_peer(edge_namespace))
        if server.name in vmcp_of:
            sources.append(netpol.pod_peer(vmcp_of[server.name].selector))
        # The proxy runner applies the backend StatefulSet and, for stdio, attaches to the
        # backend's stdin, both through the API server.
        egress = [api, otlp]
        if spec_in.is_http:
            egress.append({"to": [netpol.pod_peer(server.backend_selector)], "ports": netpol.ports([spec_in.mcp_port])})
        policies[f"mcp-{server.name}-proxy"] = {
            "podSelector": {"matchLabels": server.proxy_selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources, "ports": netpol.ports([spec_in.proxy_port])}],
            "egress": egress,
        }
        backend: dict[str, Any] = {
            "podSelector": {"matchLabels": server.backend_selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        }
        if spec_in.is_http:
            backend["ingress"].append(
                {"from": [netpol.pod_peer(server.proxy_selector)], "ports": netpol.ports([spec_in.mcp_port])}
            )
        if server.needs_internet:
            backend["egress"].append(netpol.internet_egress(network))
        for rule in server.egress_rules:
            backend["egress"].append({"to": [{"ipBlock": {"cidr": rule.cidr}}], "ports": netpol.ports(rule.ports)})
        policies[f"mcp-{server.name}-backend"] = backend
        if server.route and server.route.outputs:
            policies[f"mcp-{server.name}-outputs"] = outputs_sidecar.network_policy(
                server.backend_selector, edge_namespace
            )
    for group in plan.groups:
        members = [plan.server(m) for m in group.members]
        policies[f"vmcp-{group.name}"] = {
            "podSelector": {"matchLabels": group.selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [netpol.namespace_peer(edge_namespace), netpol.namespace_peer(monitoring_namespace)],
                    "ports": netpol.ports([VMCP_PORT]),
                }
            ],
            "egress": [
                *(
                    {"to": [netpol.pod_peer(proxy_selector(m.name))], "ports": netpol.ports([m.spec.proxy_port])}
                    for m in members
                ),
                api,  # discovers the group's MCPServers through the API (outgoingAuth discovered)
                otlp,
            ],
        }
    return policies


def _otlp_port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


# ---------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------


class MCPServerSet(pulumi.ComponentResource):
    """The MCP servers of the plan, run by the ToolHive operator."""

    def __init__(self, name: str, args: MCPServerSetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, {}, opts)
        plan = args.plan
        namespace = plan.namespace
        if plan.production and not args.network.api_server_cidrs:
            pulumi.log.warn(
                "network.api_server_cidrs is not set: MCP proxies may reach any address on the API server "
                "ports. Set it to your API server's endpoint addresses (kubectl get endpoints kubernetes).",
                resource=self,
            )
        for withheld, why in plan.withheld:
            # The safe default, stated where `pulumi preview` and `make render` show it.
            pulumi.log.warn(f"MCP server {withheld} {why}", resource=self)

        def child(*deps: pulumi.Input[pulumi.Resource]) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[args.namespace, *deps])

        def custom(
            kind: str,
            obj_name: str,
            spec: Mapping[str, Any],
            deps: Sequence[pulumi.Input[pulumi.Resource]] = (),
            *,
            executes_code: bool | None = None,
            annotations: Mapping[str, str] | None = None,
        ):
            metadata: dict[str, Any] = {"name": obj_name, "namespace": namespace, "labels": owner_labels("mcp-servers")}
            notes = dict(annotations or {})
            if executes_code is not None:
                # Declares the server either way for the policy pack, which recognises
                # catalog images by their facts and fails closed on an undeclared unknown
                # image (policies/mcp_policies/codeexec.py).
                notes[EXECUTES_CODE_ANNOTATION] = "true" if executes_code else "false"
            if notes:
                metadata["annotations"] = notes
            return KubernetesObject(
                f"{name}-{kind.lower()}-{obj_name}",
                {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": dict(spec)},
                # Custom resources of the operator wait for it, so that destroy removes
                # them while it still runs to clear their finalizers.
                opts=child(*args.operator_ready, *deps),
            )

        self.service_account = KubernetesObject(
            f"{name}-backend-sa",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": BACKEND_SERVICE_ACCOUNT,
                    "namespace": namespace,
                    "labels": labels(BACKEND_SERVICE_ACCOUNT, "mcp-servers"),
                },
                "automountServiceAccountToken": False,
            },
            child(),
        )
        self.telemetry = custom("MCPTelemetryConfig", TELEMETRY_CONFIG, telemetry_spec(args.telemetry))
        shared: list[pulumi.Input[pulumi.Resource]] = [self.telemetry, self.service_account, *args.secrets_ready]
        if plan.uses_oidc:
            shared.append(custom("MCPOIDCConfig", OIDC_CONFIG, oidc_spec(plan)))

        groups = {g.name: custom("MCPGroup", g.name, {"description": g.spec.description}) for g in plan.groups}

        self.servers: dict[str, KubernetesObject] = {}
        for server in plan.servers:
            deps = list(shared)
            if server.tool_config:
                deps.append(
                    custom("MCPToolConfig", server.tool_config, {"toolsFilter": list(server.spec.enabled_tools)})
                )
            if server.group:
                deps.append(groups[server.group])
            self.servers[server.name] = custom(
                "MCPServer",
                server.name,
                mcpserver_spec(server, plan, args.secret_refs),
                deps,
                executes_code=server.spec.executes_code,
            )
            if server.autoscale is not None:
                for hpa in autoscalers(server, namespace):
                    KubernetesObject(
                        f"{name}-hpa-{hpa['metadata']['name']}",
                        {**hpa, "metadata": {**hpa["metadata"], "labels": labels(server.name, "mcp-servers")}},
                        child(self.servers[server.name]),
                    )
            if server.route and server.route.outputs:
                KubernetesObject(
                    f"{name}-service-{server.route.outputs.service}",
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {
                            "name": server.route.outputs.service,
                            "namespace": namespace,
                            "labels": labels(server.route.outputs.service, "mcp-servers", {SERVER_LABEL: server.name}),
                        },
                        "spec": outputs_sidecar.service_spec(server.backend_selector),
                    },
                    child(),
                )
            for pdb in disruption_budgets(server, namespace):
                KubernetesObject(
                    f"{name}-pdb-{pdb['metadata']['name']}",
                    {**pdb, "metadata": {**pdb["metadata"], "labels": labels(server.name, "mcp-servers")}},
                    child(self.servers[server.name]),
                )

        self.vmcps = {
            g.name: custom(
                "VirtualMCPServer",
                g.name,
                vmcp_spec(g, plan),
                [*shared, groups[g.name], *(self.servers[m] for m in g.members)],
                annotations=VMCP_ANNOTATIONS,
            )
            for g in plan.groups
        }

        policies = network_policies(
            plan,
            args.network,
            args.edge_namespace,
            args.monitoring_namespace,
            _otlp_port(args.telemetry.otlp_http_endpoint),
        )
        for policy_name, spec in policies.items():
            netpol.network_policy(
                f"{name}-netpol-{policy_name}",
                name=policy_name,
                namespace=namespace,
                spec=spec,
                component="mcp-servers",
                opts=child(),
            )

        self.routes = plan.routes
        # Route name -> the custom resource the operator turns into the route's Service.
        self.route_backends: dict[str, pulumi.Resource] = {
            **{s.route.name: self.servers[s.name] for s in plan.servers if s.route},
            **{g.route.name: self.vmcps[g.name] for g in plan.groups if g.route},
        }
        self.register_outputs({"namespace": namespace, "servers": sorted(self.servers), "groups": sorted(self.vmcps)})
