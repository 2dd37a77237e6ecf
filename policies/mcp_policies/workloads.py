"""Workload hygiene on every pod template the stack defines.

Covered: Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and bare
Pods; each MCPServer's backend pod (`spec.podTemplateSpec`, its `mcp` container, whose
image is `spec.image`) and its proxy container's size (`spec.resources`); each
VirtualMCPServer's pod (`spec.podTemplateSpec`, container `vmcp`). Helm releases are
checked through their values (image references, securityContext blocks, resources
blocks, host settings): the pods a chart renders are only as good as the chart's own
values, and neither `pulumi preview` nor the offline run sees the rendered chart.

The rules ask for the settings explicitly, even where an operator would default them
(ToolHive hardens the `mcp` container by default, research/toolhive.md §3): a pod spec
that states what it needs does not change when an operator's defaults do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .base import resource_policy, stack_policy, string_list
from .kube import (
    HELM_RELEASE,
    IMAGE_REGISTRY_ANNOTATION,
    MCP_SERVER,
    NAMESPACE,
    Container,
    PodTemplate,
    annotations,
    as_dict,
    as_list,
    describe,
    effective,
    get,
    name_of,
    namespace_of,
    number,
    parse_image,
    pod_templates,
    registry_allowed,
    values_images,
    values_resources,
    values_security_contexts,
    walk,
)

SCOPE = (
    " Applies to Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Pods, MCPServer "
    "podTemplateSpec and VirtualMCPServer podTemplateSpec; Helm releases are checked through their values "
    "(chart-rendered pods are only as good as the chart's values: the offline run cannot see them)."
)

ContainerCheck = Callable[[Container, PodTemplate], Iterator[str]]
ValuesCheck = Callable[[str, Mapping[str, Any]], Iterator[str]]


def _each_container(args: ResourceValidationArgs, report: ReportViolation, check: ContainerCheck) -> None:
    for template in pod_templates(args.resource_type, args.props):
        for container in template.containers:
            for problem in check(container, template):
                report(f"{template.where} container '{container.name}': {problem}", None)


def _each_values_context(args: ResourceValidationArgs, report: ReportViolation, check: ValuesCheck) -> None:
    if args.resource_type != HELM_RELEASE:
        return
    where = describe(args.resource_type, args.props, args.name)
    for path, ctx in values_security_contexts(args.props.get("values")):
        for problem in check(path, ctx):
            report(f"{where} values {path}: {problem}", None)


# ---------------------------------------------------------------------------
# Non-root
# ---------------------------------------------------------------------------


def _non_root(container: Container, template: PodTemplate) -> Iterator[str]:
    if effective(container, template, "runAsNonRoot") is not True:
        yield "runAsNonRoot is not true (set it on the container or pod securityContext)"
    if number(effective(container, template, "runAsUser")) == 0:
        yield "runAsUser is 0 (root)"


def _non_root_values(path: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    if ctx.get("runAsNonRoot") is False:
        yield "runAsNonRoot: false lets the chart's pods run as root"
    if number(ctx.get("runAsUser")) == 0:
        yield "runAsUser: 0 runs the chart's pods as root"


def _check_non_root(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    _each_container(args, report, _non_root)
    _each_values_context(args, report, _non_root_values)


NON_ROOT = resource_policy(
    "workload-run-as-non-root",
    "Every container runs as a non-root user: runAsNonRoot true and runAsUser not 0." + SCOPE,
    _check_non_root,
    severity=Severity.CRITICAL,
    remediation=(
        "Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod or container "
        "(components/k8s.py container_security_context gives the stack's standard block); for a chart, "
        "set its podSecurityContext/securityContext values."
    ),
)


# ---------------------------------------------------------------------------
# Privilege escalation
# ---------------------------------------------------------------------------


def _no_escalation(container: Container, _template: PodTemplate) -> Iterator[str]:
    ctx = container.security_context
    if ctx.get("privileged") is True:
        yield "privileged: true"
    if ctx.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation is not false"


def _no_escalation_values(_path: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    if ctx.get("privileged") is True:
        yield "privileged: true"
    if ctx.get("allowPrivilegeEscalation") is True:
        yield "allowPrivilegeEscalation: true"


def _check_no_escalation(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    _each_container(args, report, _no_escalation)
    _each_values_context(args, report, _no_escalation_values)


NO_PRIVILEGE_ESCALATION = resource_policy(
    "workload-no-privilege-escalation",
    "No container is privileged or may escalate privileges (allowPrivilegeEscalation: false)." + SCOPE,
    _check_no_escalation,
    severity=Severity.HIGH,
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container and never privileged: true.",
)


# ---------------------------------------------------------------------------
# Capabilities
# ---------------------------------------------------------------------------

CAPABILITIES_CONFIG = {
    "allowedAddedCapabilities": string_list(
        "Capabilities a container may add back after dropping ALL (Pod Security `restricted` allows only "
        "NET_BIND_SERVICE).",
        ["NET_BIND_SERVICE"],
    )
}


def _check_capabilities(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    allowed = set(config["allowedAddedCapabilities"])

    def check(container: Container, _template: PodTemplate) -> Iterator[str]:
        caps = as_dict(container.security_context.get("capabilities"))
        if "ALL" not in [str(c) for c in as_list(caps.get("drop"))]:
            yield "capabilities.drop does not include ALL"
        extra = sorted({str(c) for c in as_list(caps.get("add"))} - allowed)
        if extra:
            yield f"adds capabilities {extra} (allowed: {sorted(allowed)})"

    def check_values(_path: str, ctx: Mapping[str, Any]) -> Iterator[str]:
        caps = as_dict(ctx.get("capabilities"))
        if "drop" in caps and "ALL" not in [str(c) for c in as_list(caps.get("drop"))]:
            yield "capabilities.drop does not include ALL"
        extra = sorted({str(c) for c in as_list(caps.get("add"))} - allowed)
        if extra:
            yield f"adds capabilities {extra} (allowed: {sorted(allowed)})"

    _each_container(args, report, check)
    _each_values_context(args, report, check_values)


DROP_ALL_CAPABILITIES = resource_policy(
    "workload-drop-all-capabilities",
    "Every container drops ALL Linux capabilities and adds back only allowed ones." + SCOPE,
    _check_capabilities,
    severity=Severity.HIGH,
    remediation=(
        "Set securityContext.capabilities.drop: [ALL]; add back only what the process needs and the config "
        "allows (NET_BIND_SERVICE to bind ports below 1024)."
    ),
    config=CAPABILITIES_CONFIG,
    relaxing=("allowedAddedCapabilities",),
)


# ---------------------------------------------------------------------------
# Read-only root filesystem
# ---------------------------------------------------------------------------


def _read_only(container: Container, _template: PodTemplate) -> Iterator[str]:
    if container.security_context.get("readOnlyRootFilesystem") is not True:
        yield "readOnlyRootFilesystem is not true"


def _read_only_values(_path: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    if ctx.get("readOnlyRootFilesystem") is False:
        yield "readOnlyRootFilesystem: false"


def _check_read_only(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    _each_container(args, report, _read_only)
    _each_values_context(args, report, _read_only_values)


READ_ONLY_ROOT_FILESYSTEM = resource_policy(
    "workload-read-only-root-filesystem",
    "Every container has a read-only root filesystem; writable paths are emptyDir mounts." + SCOPE,
    _check_read_only,
    severity=Severity.HIGH,
    remediation=(
        "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir (with sizeLimit) at each path "
        "the process writes (catalog `writable_paths` for MCP servers)."
    ),
)


# ---------------------------------------------------------------------------
# seccomp
# ---------------------------------------------------------------------------

_SECCOMP_OK = ("RuntimeDefault", "Localhost")


def _seccomp(container: Container, template: PodTemplate) -> Iterator[str]:
    profile = as_dict(effective(container, template, "seccompProfile"))
    if profile.get("type") not in _SECCOMP_OK:
        found = profile.get("type") or "unset"
        yield f"seccompProfile.type is {found} (RuntimeDefault required on the pod or container)"


def _seccomp_values(_path: str, ctx: Mapping[str, Any]) -> Iterator[str]:
    if get(ctx, "seccompProfile", "type") == "Unconfined":
        yield "seccompProfile.type: Unconfined"


def _check_seccomp(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    _each_container(args, report, _seccomp)
    _each_values_context(args, report, _seccomp_values)


SECCOMP_RUNTIME_DEFAULT = resource_policy(
    "workload-seccomp-runtime-default",
    "Every container runs under the RuntimeDefault seccomp profile (or a Localhost profile)." + SCOPE,
    _check_seccomp,
    severity=Severity.MEDIUM,
    remediation="Set securityContext.seccompProfile: {type: RuntimeDefault} on the pod (or on each container).",
)


# ---------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------

_QUANTITIES = (("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory"))


def _missing_quantities(resources: Mapping[str, Any]) -> list[str]:
    return [f"{kind}.{res}" for kind, res in _QUANTITIES if get(resources, kind, res) in (None, "")]


def _check_resources(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    def check(container: Container, _template: PodTemplate) -> Iterator[str]:
        missing = _missing_quantities(as_dict(container.spec.get("resources")))
        if missing:
            yield f"resources lack {', '.join(missing)}"

    _each_container(args, report, check)
    if args.resource_type == MCP_SERVER:
        # `spec.resources` sizes the ToolHive proxy container (research/toolhive.md).
        missing = _missing_quantities(as_dict(get(args.props, "spec", "resources")))
        if missing:
            where = describe(args.resource_type, args.props, args.name)
            report(f"{where} proxy container 'toolhive' (spec.resources): resources lack {', '.join(missing)}", None)
    if args.resource_type == HELM_RELEASE:
        where = describe(args.resource_type, args.props, args.name)
        for path, block in values_resources(args.props.get("values")):
            missing = _missing_quantities(block)
            if missing:
                report(f"{where} values {path}: resources lack {', '.join(missing)}", None)


RESOURCES = resource_policy(
    "workload-resources",
    "Every container sets CPU and memory requests and limits (MCPServer: the `mcp` container through "
    "podTemplateSpec and the proxy through spec.resources)." + SCOPE,
    _check_resources,
    severity=Severity.MEDIUM,
    remediation=(
        "Set resources.requests.{cpu,memory} and resources.limits.{cpu,memory} on every container "
        "(stack config mcp.sizes / mcp.proxy_resources for MCP servers)."
    ),
)


# ---------------------------------------------------------------------------
# Host access
# ---------------------------------------------------------------------------


def _check_host_access(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    for template in pod_templates(args.resource_type, args.props):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if template.spec.get(key) is True:
                report(f"{template.where}: {key}: true", None)
        for volume in as_list(template.spec.get("volumes")):
            if as_dict(volume).get("hostPath") is not None:
                report(f"{template.where}: volume '{get(volume, 'name')}' is a hostPath", None)
    if args.resource_type == MCP_SERVER:
        for volume in as_list(get(args.props, "spec", "volumes")):
            where = describe(args.resource_type, args.props, args.name)
            report(f"{where}: spec.volumes '{get(volume, 'name')}' mounts host path {get(volume, 'hostPath')}", None)
    if args.resource_type == HELM_RELEASE:
        where = describe(args.resource_type, args.props, args.name)
        for path, node in walk(args.props.get("values")):
            if path and path[-1] in ("hostNetwork", "hostPID", "hostIPC") and node is True:
                report(f"{where} values {'.'.join(path)}: true", None)
            if path and path[-1] == "hostPath" and isinstance(node, Mapping):
                report(f"{where} values {'.'.join(path)}: a hostPath volume", None)


NO_HOST_ACCESS = resource_policy(
    "workload-no-host-access",
    "No pod uses hostPath volumes, hostNetwork, hostPID or hostIPC (MCPServer spec.volumes are host paths)." + SCOPE,
    _check_host_access,
    severity=Severity.CRITICAL,
    remediation="Use emptyDir or a PersistentVolumeClaim instead of hostPath, and keep pods in their own namespaces.",
)


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------


def _images(args: ResourceValidationArgs | PolicyResource) -> Iterator[tuple[str, str, bool]]:
    """(where, reference, tag left to the chart) for every image the resource names."""
    for template in pod_templates(args.resource_type, args.props):
        for container in template.containers:
            if container.image:
                yield f"{template.where} container '{container.name}'", container.image, False
    if args.resource_type == HELM_RELEASE:
        where = describe(args.resource_type, args.props, args.name)
        for path, ref, chart_tag in values_images(args.props.get("values")):
            yield f"{where} values {path}", ref, chart_tag


PINNED_CONFIG = {
    "requireDigest": {
        "type": "boolean",
        "description": "Also require an @sha256 digest on every image (digests are preferred; tags are accepted "
        "when false).",
        "default": False,
    }
}


def _check_pinned(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    for where, ref, chart_tag in _images(args):
        image = parse_image(ref)
        if not chart_tag and image.tag is None and image.digest is None:
            report(f"{where}: image '{ref}' has no tag or digest (an untagged image means :latest)", None)
        elif image.tag == "latest":
            report(f"{where}: image '{ref}' uses the 'latest' tag", None)
        if config["requireDigest"] and image.digest is None:
            report(f"{where}: image '{ref}' is not pinned by digest", None)


IMAGE_PINNED = resource_policy(
    "workload-image-pinned",
    "Every image is pinned: an exact tag that is not 'latest', a digest preferred (required when "
    "requireDigest is set)." + SCOPE,
    _check_pinned,
    severity=Severity.HIGH,
    remediation=(
        "Pin the image in components/versions.py (or the server's `image` override) with an exact version tag, "
        "and add @sha256:<digest> where you can."
    ),
    config=PINNED_CONFIG,
)

REGISTRY_CONFIG = {
    "allowedRegistries": string_list(
        "Image name prefixes (registry/path, matched at a '/' boundary) images may come from, besides the "
        "registry the stack declares for its own images (the image-registry annotation of its MCP namespace, "
        "from images.registry). Docker Hub images are spelled docker.io/<org>/<name>.",
        ["ghcr.io/stacklok/toolhive"],
    )
}


def declared_registries(resources: Sequence[PolicyResource]) -> dict[str, str]:
    """namespace -> the registry the stack declares for the images run there."""
    return {
        name_of(r.props): registry
        for r in resources
        if r.resource_type == NAMESPACE and (registry := annotations(r.props).get(IMAGE_REGISTRY_ANNOTATION))
    }


def _check_registry(args: StackValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    declared = declared_registries(args.resources)
    for resource in args.resources:
        own = declared.get(namespace_of(resource.props))
        allowed = [*config["allowedRegistries"], *([own] if own else [])]
        for where, ref, _ in _images(resource):
            image = parse_image(ref)
            if not registry_allowed(image, allowed):
                report(
                    f"{where}: image '{ref}' ({image.full_name}) is not from an allowed registry {allowed}",
                    resource.urn,
                )


IMAGE_REGISTRY = stack_policy(
    "workload-image-registry",
    "Every image comes from the registry the stack declares for its own images (images.registry, on its MCP "
    "namespace) or from an allowed registry (policy config allowedRegistries)." + SCOPE,
    _check_registry,
    severity=Severity.HIGH,
    remediation=(
        "Pull the image from images.registry (mirror it there), or add its registry to allowedRegistries in "
        "policies/config/<env>.json after review."
    ),
    config=REGISTRY_CONFIG,
)

POLICIES = [
    NON_ROOT,
    NO_PRIVILEGE_ESCALATION,
    DROP_ALL_CAPABILITIES,
    READ_ONLY_ROOT_FILESYSTEM,
    SECCOMP_RUNTIME_DEFAULT,
    RESOURCES,
    NO_HOST_ACCESS,
    IMAGE_PINNED,
    IMAGE_REGISTRY,
]
