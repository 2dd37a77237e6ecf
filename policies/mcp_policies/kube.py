"""What the policies need to read from engine-shaped resource props: pod templates,
containers, images, label selectors, routes and their backends, nginx durations.

Props arrive as the engine hands them to an analyzer (research/pulumi.md §1c): camelCase
keys, numbers possibly as floats, custom resources typed `kubernetes:<apiVersion>:<Kind>`.
Nothing here imports the Pulumi program: the pack runs from its own directory.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

# Resource types (engine tokens).
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
MCP_SERVER = "kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer"
VIRTUAL_MCP_SERVER = "kubernetes:toolhive.stacklok.dev/v1beta1:VirtualMCPServer"
MCP_TOOL_CONFIG = "kubernetes:toolhive.stacklok.dev/v1beta1:MCPToolConfig"
PROXY_SETTINGS_POLICY = "kubernetes:gateway.nginx.org/v1alpha1:ProxySettingsPolicy"

# Built-in workload kinds and where their pod template sits.
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
    "kubernetes:core/v1:ReplicationController": ("spec", "template"),
}
POD = "kubernetes:core/v1:Pod"
WORKLOAD_TYPES = (*_TEMPLATE_PATHS, POD)

# Names and labels the ToolHive operator v0.44.0 gives what it creates for an MCPServer
# or VirtualMCPServer (research/toolhive.md §3: mcpserver_controller.go labelsForMCPServer,
# pkg/labels; virtualmcpserver_deployment.go labelsForVirtualMCPServer).
VMCP_PORT = 4483  # vMCP `serve --port=4483`, port name `http`


def proxy_service(name: str) -> str:
    return f"mcp-{name}-proxy"


def vmcp_service(name: str) -> str:
    return f"vmcp-{name}"


def proxy_pod_labels(name: str) -> dict[str, str]:
    return {
        "app": "mcpserver",
        "app.kubernetes.io/name": "mcpserver",
        "app.kubernetes.io/instance": name,
        "toolhive": "true",
        "toolhive-name": name,
    }


def backend_pod_labels(name: str) -> dict[str, str]:
    return {"app": name, "toolhive": "true", "toolhive-name": name}


def vmcp_pod_labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "virtualmcpserver", "app.kubernetes.io/instance": name}


# Services the edge may route to for MCP: the operator's proxy and vMCP Services.
MCP_SERVICE = re.compile(r"^(mcp-[a-z0-9-]+-proxy|vmcp-[a-z0-9-]+)$")

# Annotation by which a component marks an MCPServer as running caller-supplied code.
EXECUTES_CODE_ANNOTATION = "mcp-datascience.finetunings.ai/executes-code"
# Annotation on the namespace of the MCP servers: the registry the stack's own images come
# from (`images.registry`), so the registry rule follows the stack config.
IMAGE_REGISTRY_ANNOTATION = "mcp-datascience.finetunings.ai/image-registry"
NAMESPACE = "kubernetes:core/v1:Namespace"


# ---------------------------------------------------------------------------
# Small accessors
# ---------------------------------------------------------------------------


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """obj[path[0]][path[1]]..., or `default` where anything is missing."""
    node = obj
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, Sequence) or isinstance(node, str) or part >= len(node):
                return default
            node = node[part]
        else:
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
    return default if node is None else node


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def number(value: Any) -> float | None:
    """Engine numbers may be floats; strings are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def kind_of(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def metadata(props: Mapping[str, Any]) -> dict[str, Any]:
    return as_dict(props.get("metadata"))


def name_of(props: Mapping[str, Any], fallback: str = "") -> str:
    return str(metadata(props).get("name") or fallback)


def namespace_of(props: Mapping[str, Any]) -> str:
    """The object's namespace; Kubernetes puts an unnamespaced object in `default`."""
    return str(metadata(props).get("namespace") or "default")


def annotations(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(metadata(props).get("annotations")).items()}


def labels_of(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(metadata(props).get("labels")).items()}


def chart_name(release_props: Mapping[str, Any]) -> str:
    """A Helm release's chart by name: the last segment of its chart reference."""
    return str(release_props.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]


def describe(resource_type: str, props: Mapping[str, Any], fallback: str = "") -> str:
    """`Kind namespace/name` (or `Kind name` for cluster-scoped objects)."""
    if resource_type == HELM_RELEASE:
        return f"Helm release {props.get('namespace') or 'default'}/{props.get('name') or fallback}"
    meta = metadata(props)
    name = meta.get("name") or fallback
    if meta.get("namespace"):
        return f"{kind_of(resource_type)} {meta['namespace']}/{name}"
    return f"{kind_of(resource_type)} {name}"


# ---------------------------------------------------------------------------
# Pod templates and containers
# ---------------------------------------------------------------------------


@dataclass
class Container:
    name: str
    spec: dict[str, Any]
    image: str | None  # effective image (MCPServer: spec.image for `mcp`); None: set by an operator
    init: bool = False

    @property
    def security_context(self) -> dict[str, Any]:
        return as_dict(self.spec.get("securityContext"))


@dataclass
class PodTemplate:
    """One pod template the stack defines, with where it comes from."""

    where: str  # e.g. "MCPServer data-science/pandas backend pod"
    namespace: str
    labels: dict[str, str]
    spec: dict[str, Any]
    containers: list[Container] = field(default_factory=list)
    # Containers the template must size and harden explicitly (MCPServer: `mcp`).
    required_containers: tuple[str, ...] = ()

    @property
    def security_context(self) -> dict[str, Any]:
        return as_dict(self.spec.get("securityContext"))


def _containers(spec: Mapping[str, Any], image_for: Mapping[str, str] | None = None) -> list[Container]:
    out = []
    for key, init in (("initContainers", True), ("containers", False)):
        for raw in as_list(spec.get(key)):
            c = as_dict(raw)
            name = str(c.get("name") or "?")
            image = c.get("image") or (image_for or {}).get(name)
            out.append(Container(name=name, spec=c, image=str(image) if image else None, init=init))
    return out


def pod_templates(resource_type: str, props: Mapping[str, Any]) -> list[PodTemplate]:
    """Every pod template this resource defines (none for other types)."""
    where = describe(resource_type, props)
    ns = namespace_of(props)
    if resource_type in _TEMPLATE_PATHS:
        template = as_dict(get(props, *_TEMPLATE_PATHS[resource_type]))
        spec = as_dict(template.get("spec"))
        return [PodTemplate(where, ns, labels_of(template), spec, _containers(spec))]
    if resource_type == POD:
        spec = as_dict(props.get("spec"))
        return [PodTemplate(where, ns, labels_of(props), spec, _containers(spec))]
    if resource_type == MCP_SERVER:
        name = name_of(props)
        template = as_dict(get(props, "spec", "podTemplateSpec"))
        spec = as_dict(template.get("spec"))
        try:
            image = get(props, "spec", "image")
        except UnknownValueError:
            image = None  # unknown during preview: the other rules still judge the template
        containers = _containers(spec, {"mcp": image} if image else None)
        if not any(c.name == "mcp" for c in containers):
            # The backend container exists whatever the template says; it is checked
            # as written (nothing), so a missing `mcp` entry fails every hygiene rule.
            containers.append(Container("mcp", {}, str(image) if image else None))
        labels = {**backend_pod_labels(name), **labels_of(template)}
        return [PodTemplate(f"{where} backend pod", ns, labels, spec, containers, ("mcp",))]
    if resource_type == VIRTUAL_MCP_SERVER:
        name = name_of(props)
        template = as_dict(get(props, "spec", "podTemplateSpec"))
        spec = as_dict(template.get("spec"))
        containers = _containers(spec)
        if not any(c.name == "vmcp" for c in containers):
            containers.append(Container("vmcp", {}, None))
        labels = {**vmcp_pod_labels(name), **labels_of(template)}
        return [PodTemplate(f"{where} pod", ns, labels, spec, containers, ("vmcp",))]
    return []


def service_target_containers(service_props: Mapping[str, Any], server_props: Mapping[str, Any]) -> list[str | None]:
    """For each port of a Service selecting an MCPServer's backend pods, the container of
    the pod template it reaches: named ports by their declaration, numbers by a declared
    containerPort. The `mcp` container's own port (spec.mcpPort) is added by the runner,
    never declared in the template; a port nothing declares is None (unknown: it may be
    the MCP server's)."""
    [template] = pod_templates(MCP_SERVER, server_props)
    mcp_port = number(get(server_props, "spec", "mcpPort"))
    out: list[str | None] = []
    for raw in as_list(get(service_props, "spec", "ports")):
        port = as_dict(raw)
        target = port.get("targetPort", port.get("port"))
        target = int(target) if isinstance(target, float) else target
        owners = [
            c.name
            for c in template.containers
            for declared in as_list(c.spec.get("ports"))
            if (isinstance(target, str) and get(declared, "name") == target)
            or (isinstance(target, int) and number(get(declared, "containerPort")) == target)
        ]
        if isinstance(target, int) and mcp_port is not None and target == int(mcp_port):
            owners.append("mcp")
        out.append(owners[0] if len(set(owners)) == 1 else None)
    return out


def mcp_proxy_pod_labels(props: Mapping[str, Any]) -> dict[str, str]:
    name = name_of(props)
    extra = get(props, "spec", "resourceOverrides", "proxyDeployment", "podTemplateMetadataOverrides", "labels")
    return {**proxy_pod_labels(name), **{str(k): str(v) for k, v in as_dict(extra).items()}}


def effective(container: Container, template: PodTemplate, key: str) -> Any:
    """A securityContext field as Kubernetes applies it: the container's value, else the pod's."""
    value = container.security_context.get(key)
    if value is None:
        value = template.security_context.get(key)
    return value


def workload_env(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(where, container, env entry) for every env entry a workload or MCP resource sets."""
    for template in pod_templates(resource_type, props):
        for c in template.containers:
            for entry in as_list(c.spec.get("env")):
                yield template.where, c.name, as_dict(entry)
    if resource_type == MCP_SERVER:
        where = describe(resource_type, props)
        for entry in as_list(get(props, "spec", "env")):
            yield where, "mcp", as_dict(entry)
        for entry in as_list(get(props, "spec", "resourceOverrides", "proxyDeployment", "env")):
            yield f"{where} proxy", "toolhive", as_dict(entry)


# ---------------------------------------------------------------------------
# Helm values: what a release's values say about the pods its chart renders
# ---------------------------------------------------------------------------


# The analyzer's read-only views of props (pulumi_policy.proxy), which raise on a value
# unknown during preview.
_ANALYZER_VIEWS = (type(unknown_checking_proxy({})), type(unknown_checking_proxy([])))
# The last few trees walked whole, by identity: a release's values are walked by a dozen
# policies, and the analyzer hands each of them the same views of one resource's props.
_WALKED: dict[int, tuple[Any, list[tuple[tuple[str, ...], Any]]]] = {}
_WALKED_KEPT = 64  # more than any stack has Helm releases (9 in dev and prod)


def walk(value: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) pair in a nested values tree, depth first. A tree with a value
    unknown during preview yields up to it, then raises UnknownValueError there."""
    if not isinstance(value, _ANALYZER_VIEWS):
        return _walk(value, ())  # a plain tree may be changed between calls: never kept
    kept = _WALKED.get(id(value))
    if kept is not None and kept[0] is value:
        return iter(kept[1])
    try:
        pairs = list(_walk(value, ()))
    except UnknownValueError:
        return _walk(value, ())
    while len(_WALKED) >= _WALKED_KEPT:
        del _WALKED[next(iter(_WALKED))]
    _WALKED[id(value)] = (value, pairs)  # holding `value` keeps its id from being reused
    return iter(pairs)


def _walk(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, str(i)))


def dotted(path: Sequence[str]) -> str:
    return ".".join(path) or "(root)"


def values_images(values: Any) -> Iterator[tuple[str, str, bool]]:
    """(path, image reference, tag left to the chart) for images a chart's values set.
    A `{repository}` mapping without tag or digest leaves the tag to the chart, which
    uses its appVersion, pinned by the chart version."""
    for path, node in walk(values):
        if not path:
            continue
        key = path[-1]
        if not (key == "image" or key.endswith("Image")):
            continue
        if isinstance(node, str) and node:
            yield dotted(path), node, False
        elif isinstance(node, Mapping) and node.get("repository"):
            ref = str(node["repository"])
            if node.get("registry"):
                ref = f"{node['registry']}/{ref}"
            if node.get("tag"):
                ref = f"{ref}:{node['tag']}"
            digest = node.get("digest") or node.get("sha")
            if digest:
                # `sha` is the hex part in most prometheus-community and grafana charts
                # (their templates write `@sha256:<sha>`), the whole digest in kube-state-metrics.
                digest = str(digest)
                ref = f"{ref}@{digest if digest.startswith('sha256:') else 'sha256:' + digest}"
            yield dotted(path), ref, not node.get("tag") and not digest


def values_security_contexts(values: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, mapping) for every securityContext-like mapping in a chart's values."""
    for path, node in walk(values):
        if path and path[-1].lower().endswith("securitycontext") and isinstance(node, Mapping):
            yield dotted(path), node


def values_resources(values: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, mapping) for every container `resources` block in a chart's values.

    A PersistentVolumeClaim's `resources` (`requests.storage`, e.g. under a StatefulSet's
    `volumeClaimTemplate`) sizes a volume, not a container, and is skipped.
    """
    for path, node in walk(values):
        if (
            path
            and path[-1].lower().endswith("resources")
            and isinstance(node, Mapping)
            and ("requests" in node or "limits" in node)
            and not _is_volume_claim(node)
        ):
            yield dotted(path), node


def _is_volume_claim(resources: Mapping[str, Any]) -> bool:
    return any(isinstance(resources.get(k), Mapping) and "storage" in resources[k] for k in ("requests", "limits"))


_ENV_KEYS = re.compile(r"^(env|extraEnv|extraEnvs|envVars|.*Env)$")


def values_env(values: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, {name, value...}) for env entries in a chart's values (lists under env keys)."""
    for path, node in walk(values):
        if path and _ENV_KEYS.match(path[-1]) and isinstance(node, Sequence) and not isinstance(node, str):
            for i, entry in enumerate(node):
                if isinstance(entry, Mapping) and "name" in entry:
                    yield dotted((*path, str(i))), entry


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str  # path below the registry
    tag: str | None
    digest: str | None

    @property
    def full_name(self) -> str:
        """registry/repository, docker.io library images spelled out."""
        return f"{self.registry}/{self.repository}"


def parse_image(ref: str) -> ImageRef:
    """Docker reference grammar: the first component is a registry when it has a `.` or
    `:` or is `localhost`; otherwise the image is on Docker Hub (`library/` for one
    component)."""
    rest, _, digest = ref.partition("@")
    name, tag = rest, None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = rest.rsplit(":", 1)
    first, _, remainder = name.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = "docker.io", name if "/" in name else f"library/{name}"
    return ImageRef(registry=registry, repository=repository, tag=tag or None, digest=digest or None)


def registry_allowed(image: ImageRef, allowed: Sequence[str]) -> bool:
    """`allowed` entries are prefixes of `registry/repository`, matched at a path boundary
    (`ghcr.io/stacklok` allows `ghcr.io/stacklok/toolhive/operator`, not `ghcr.io/stacklokx`)."""
    full = image.full_name
    for prefix in allowed:
        p = prefix.rstrip("/")
        if full == p or full.startswith(p + "/"):
            return True
    return False


# ---------------------------------------------------------------------------
# Label selectors
# ---------------------------------------------------------------------------


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches everything."""
    selector = as_dict(selector)
    for k, v in as_dict(selector.get("matchLabels")).items():
        if labels.get(str(k)) != str(v):
            return False
    for expr in as_list(selector.get("matchExpressions")):
        e = as_dict(expr)
        key, op, values = str(e.get("key")), e.get("operator"), [str(v) for v in as_list(e.get("values"))]
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    s = as_dict(selector)
    return not as_dict(s.get("matchLabels")) and not as_list(s.get("matchExpressions"))


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """One route target: a Service (name, namespace, port) and the public path to it."""

    service: str
    namespace: str
    port: int | str | None
    path: str | None  # public path (Ingress path or HTTPRoute match value)
    path_type: str | None  # Exact / Prefix / PathPrefix / ImplementationSpecific / RegularExpression
    upstream: str | None  # path the request reaches the Service with, when rewritten


def _nic_rewrites(props: Mapping[str, Any]) -> dict[str, str]:
    """`nginx.org/rewrites: serviceName=a rewrite=/x;serviceName=b rewrite=/y` -> {a: /x, b: /y}
    (F5 NIC annotation syntax, examples/ingress-resources/rewrites)."""
    out: dict[str, str] = {}
    raw = annotations(props).get("nginx.org/rewrites", "")
    for part in raw.split(";"):
        fields = dict(item.split("=", 1) for item in part.split() if "=" in item)
        if "serviceName" in fields and "rewrite" in fields:
            out[fields["serviceName"]] = fields["rewrite"]
    return out


def ingress_backends(props: Mapping[str, Any]) -> list[Backend]:
    ns = namespace_of(props)
    rewrites = _nic_rewrites(props)
    out = []
    default = as_dict(get(props, "spec", "defaultBackend", "service"))
    if default.get("name"):
        port = as_dict(default.get("port"))
        out.append(Backend(str(default["name"]), ns, port.get("number") or port.get("name"), None, None, None))
    for rule in as_list(get(props, "spec", "rules")):
        for p in as_list(get(rule, "http", "paths")):
            svc = as_dict(get(p, "backend", "service"))
            if not svc.get("name"):
                continue
            port = as_dict(svc.get("port"))
            port_value = port.get("number") if port.get("number") is not None else port.get("name")
            if isinstance(port_value, float):
                port_value = int(port_value)
            out.append(
                Backend(
                    service=str(svc["name"]),
                    namespace=ns,
                    port=port_value,
                    path=str(p.get("path") or "/"),
                    path_type=str(p.get("pathType") or "ImplementationSpecific"),
                    upstream=rewrites.get(str(svc["name"])),
                )
            )
    return out


def ingress_hosts(props: Mapping[str, Any]) -> list[str | None]:
    return [get(rule, "host") for rule in as_list(get(props, "spec", "rules"))]


def httproute_backends(props: Mapping[str, Any]) -> list[Backend]:
    ns = namespace_of(props)
    out = []
    for rule in as_list(get(props, "spec", "rules")):
        rewrite = None
        for f in as_list(get(rule, "filters")):
            if get(f, "type") == "URLRewrite":
                path = as_dict(get(f, "urlRewrite", "path"))
                rewrite = path.get("replacePrefixMatch") or path.get("replaceFullPath")
        matches = as_list(get(rule, "matches")) or [{"path": {"type": "PathPrefix", "value": "/"}}]
        for ref in as_list(get(rule, "backendRefs")):
            r = as_dict(ref)
            if r.get("kind", "Service") != "Service" or r.get("group", "") not in ("", "core"):
                continue
            port = r.get("port")
            port = int(port) if isinstance(port, float) else port
            for m in matches:
                out.append(
                    Backend(
                        service=str(r.get("name")),
                        namespace=str(r.get("namespace") or ns),
                        port=port,
                        path=str(get(m, "path", "value") or "/"),
                        path_type=str(get(m, "path", "type") or "PathPrefix"),
                        upstream=str(rewrite) if rewrite else None,
                    )
                )
    return out


def route_backends(resource_type: str, props: Mapping[str, Any]) -> list[Backend]:
    if resource_type == INGRESS:
        return ingress_backends(props)
    if resource_type == HTTP_ROUTE:
        return httproute_backends(props)
    return []


def host_covered(host: str, names: Sequence[str]) -> bool:
    """A TLS/listener name covers a host exactly or as a one-label wildcard."""
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and host.endswith(name[1:]) and host.count(".") == name.count("."):
            return True
    return False


# ---------------------------------------------------------------------------
# nginx values
# ---------------------------------------------------------------------------

_NGINX_TIME = re.compile(r"(\d+)(ms|s|m|h|d|w|M|y)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}


def nginx_seconds(value: str | None) -> float | None:
    """An nginx time ("3600", "3600s", "1h", "1h30m") in seconds; None if not a time."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    total, pos = 0.0, 0
    for m in _NGINX_TIME.finditer(text):
        if m.start() != pos:
            return None
        total += int(m.group(1)) * _UNIT_SECONDS[m.group(2) or "s"]
        pos = m.end()
    return total if pos == len(text) else None


def parse_bool(value: str | None) -> bool | None:
    """Go strconv.ParseBool, which F5 NIC uses for boolean annotations."""
    if value is None:
        return None
    v = str(value)
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------


def cidr_contains(cidr: str, address: str) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
        addr = ipaddress.ip_address(address)
    except ValueError:
        return False
    return addr.version == net.version and addr in net
