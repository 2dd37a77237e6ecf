"""Controllers the stack does not install: what it relies on, read from the live cluster.

Each bring-your-own setting (`toolhive.install_operator`, `edge.install_cert_manager`,
`edge.controller: existing` or `edge.install_controller`, `monitoring.install_stack`,
`secrets.sealed.install_controller`, `secrets.external.install_operator`, all `false`)
means that a controller someone else installed serves an API the stack creates objects
of. The program reads each dependency from the cluster in the same run, `pulumi preview`
included (the engine performs reads in previews too: the kubernetes provider's Read),
and the objects that need it wait for the check:

- an API group/version: the APIService `<version>.<group>` that kube-apiserver registers
  for every served version of a CRD (kube-aggregator's crdRegistrationController, listed
  by `kubectl get apiservices`). When it is missing the read fails with the engine's own
  "resource '<version>.<group>' does not exist", on the read `<component>-requires-<that
  APIService>`; when it is not Available, with `MissingDependency`, which names the setting
  and the fix. A small object: the CRDs themselves hold
  their whole schema (up to 700 kB each), which every run would copy into the state;
- the class the routes name: an IngressClass of F5 NGINX Ingress Controller or a
  GatewayClass of NGINX Gateway Fabric (their controller names below);
- the OTLP/HTTP port of an existing collector Service.

Reading needs `get` on those objects: a preview identity with only the `view` role
lacks it for APIServices (docs/configuration.md: Bring your own controllers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.k8s import LiveObject

# API groups of Kubernetes itself that the stack uses (never a CRD's).
BUILTIN_GROUPS = frozenset(
    {"", "apps", "autoscaling", "batch", "policy", "networking.k8s.io", "rbac.authorization.k8s.io"}
)
# IngressClass spec.controller of F5 NGINX Ingress Controller (charts/nginx-ingress
# templates/controller-ingress-class.yaml; ingress-nginx's is k8s.io/ingress-nginx, which
# ignores every nginx.org/* annotation the edge writes).
NIC_CONTROLLER = "nginx.org/ingress-controller"
# GatewayClass spec.controllerName of NGINX Gateway Fabric (chart value
# nginxGateway.gatewayControllerName).
NGF_CONTROLLER = "gateway.nginx.org/nginx-gateway-controller"


class MissingDependency(pulumi.RunError):
    """What an existing controller must provide is not there, or not as the stack needs it.
    One line: the setting that relies on it, what is wrong, and the fix."""

    def __init__(self, setting: str, problem: str, fix: str):
        super().__init__(f"{setting}: {problem}. {fix}")


@dataclass(frozen=True)
class ApiDependency:
    """An API group/version an existing controller must serve."""

    api_version: str  # group/version, as objects name it
    setting: str  # the config that relies on it, e.g. "toolhive.install_operator: false"
    provider: str  # who serves it, e.g. "the ToolHive operator (chart 0.44.0)"
    # The other way out, besides installing or repairing the provider.
    remedy: str = "let the stack install it (set the key to true)"

    @property
    def apiservice(self) -> str:
        """The APIService kube-apiserver registers for it: `<version>.<group>`."""
        group, _, version = self.api_version.rpartition("/")
        return f"{version}.{group}"


def custom_apis(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """The group/versions of `objects` that a CRD serves (not Kubernetes itself), sorted."""
    out = set()
    for obj in objects:
        api = str(obj["apiVersion"])
        group = api.rpartition("/")[0]
        if group not in BUILTIN_GROUPS:
            out.add(api)
    return sorted(out)


def api_status_problem(dependency: ApiDependency, status: Mapping[str, Any] | None) -> str | None:
    """Why a read APIService cannot serve the stack, or None when it is Available."""
    conditions = {c.get("type"): c for c in (status or {}).get("conditions") or []}
    available = conditions.get("Available") or {}
    if available.get("status") == "True":
        return None
    reason = available.get("message") or available.get("reason") or "no Available condition"
    return f"the cluster's APIService {dependency.apiservice} is not Available ({reason})"


def class_problem(kind: str, name: str, controller: str | None, expected: str) -> str | None:
    """Why an IngressClass or GatewayClass is not the controller the edge is written for."""
    if controller == expected:
        return None
    return f"{kind} {name} belongs to controller {controller!r}, not {expected!r}"


def service_port_problem(namespace: str, name: str, spec: Mapping[str, Any] | None, port: int) -> str | None:
    # Numbers read back through the engine are floats (a protobuf Struct holds doubles).
    ports = [int(p["port"]) for p in (spec or {}).get("ports") or [] if "port" in p]
    if port in ports:
        return None
    return f"Service {namespace}/{name} has no port {port} (ports: {', '.join(map(str, ports)) or 'none'})"


def _verified(
    read: pulumi.Resource,
    state: pulumi.Output[Any],
    problem: Callable[[Any], str | None],
    setting: str,
    fix: str,
) -> pulumi.Output[pulumi.Resource]:
    """`read` once `problem(state)` found nothing wrong (else MissingDependency naming
    `setting` and `fix`): what dependents wait for."""

    def check(value: Any) -> pulumi.Resource:
        found = problem(value)
        if found:
            raise MissingDependency(setting, found, fix)
        return read

    return state.apply(check)


def require_apis(
    name: str, dependencies: Sequence[ApiDependency], parent: pulumi.Resource
) -> list[pulumi.Output[pulumi.Resource]]:
    """Read the APIService of each dependency; each Output resolves once it is Available
    (put them in `depends_on` of the objects of that API)."""
    out = []
    for dependency in dependencies:
        service = LiveObject(
            f"{name}-requires-{dependency.apiservice}",
            "apiregistration.k8s.io/v1",
            "APIService",
            dependency.apiservice,
            pulumi.ResourceOptions(parent=parent),
        )
        out.append(
            _verified(
                service,
                service.status,
                lambda status, dependency=dependency: api_status_problem(dependency, status),
                dependency.setting,
                f"Install or repair {dependency.provider}, or {dependency.remedy}",
            )
        )
    return out


@dataclass(frozen=True)
class _EdgeClass:
    """What the edge needs of an existing IngressClass or GatewayClass."""

    api_version: str
    kind: str
    controller_field: str  # the spec field naming the controller
    controller: str
    fix: str


_EDGE_CLASSES = {
    "IngressClass": _EdgeClass(
        "networking.k8s.io/v1",
        "IngressClass",
        "controller",
        NIC_CONTROLLER,
        "The edge writes F5 NGINX Ingress Controller's Ingresses (nginx.org/* annotations): point "
        "edge.ingress_class at that controller's IngressClass, or let the stack install it "
        "(edge.controller: nginx-ingress, edge.install_controller: true)",
    ),
    "GatewayClass": _EdgeClass(
        "gateway.networking.k8s.io/v1",
        "GatewayClass",
        "controllerName",
        NGF_CONTROLLER,
        "The edge writes NGINX Gateway Fabric's Gateway and policies: point edge.ingress_class at its "
        "GatewayClass, or let the stack install it (edge.install_controller: true)",
    ),
}


def require_edge_class(
    kind: str, name: str, class_name: str, setting: str, parent: pulumi.Resource
) -> pulumi.Output[pulumi.Resource]:
    """Read the IngressClass or GatewayClass `class_name`; resolves once it belongs to the
    controller the edge writes for."""
    wanted = _EDGE_CLASSES[kind]
    live = LiveObject(
        f"{name}-requires-{kind.lower()}-{class_name}",
        wanted.api_version,
        kind,
        class_name,
        pulumi.ResourceOptions(parent=parent),
    )
    return _verified(
        live,
        live.spec,
        lambda spec: class_problem(kind, class_name, (spec or {}).get(wanted.controller_field), wanted.controller),
        setting,
        wanted.fix,
    )


def require_service_port(
    name: str, *, service: tuple[str, str], port: int, setting: str, parent: pulumi.Resource
) -> pulumi.Output[pulumi.Resource]:
    """Read Service `service` (namespace, name); resolves once it has `port`."""
    namespace, service_name = service
    live = LiveObject(
        f"{name}-requires-service-{namespace}-{service_name}",
        "v1",
        "Service",
        f"{namespace}/{service_name}",
        pulumi.ResourceOptions(parent=parent),
    )

    fix = (
        f"The MCP proxies send OTLP/HTTP traces to {service_name}.{namespace}:{port}: expose your collector "
        "there (monitoring.existing_collector_service names the Service), or let the stack install one "
        "(monitoring.install_stack: true)"
    )
    return _verified(
        live, live.spec, lambda spec: service_port_problem(namespace, service_name, spec, port), setting, fix
    )
