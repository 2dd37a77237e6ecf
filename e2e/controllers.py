"""The real ToolHive operator and Sealed Secrets controller, out of cluster, configured as
the stack's chart values configure their pods.

Each runs as its chart's ServiceAccount (a TokenRequest token) with the RBAC its chart
binds for those values, so a permission the controller lacks in a real cluster fails
here too. The chart templates are not in ../shared/charts, so the mapping from values to
env, flags and RBAC is restated below from the templates at the pinned tags (cited per
function); only the listening addresses differ from a pod's (free loopback ports instead
of fixed ones on every interface).
"""

from __future__ import annotations

import json
import math
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.quantities import parse_quantity
from e2e.charts import computed_values
from e2e.controlplane import ControlPlane
from e2e.kube import Kube
from e2e.processes import Process, free_port

START_TIMEOUT = 120.0

_CRUD = ("create", "delete", "get", "list", "patch", "update", "watch")
_TOOLHIVE = "toolhive.stacklok.dev"


def _rule(group: str, resources: tuple[str, ...], verbs: tuple[str, ...], names: tuple[str, ...] = ()) -> dict:
    rule: dict[str, Any] = {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
    if names:
        rule["resourceNames"] = list(names)
    return rule


# ---------------------------------------------------------------------------------------
# ToolHive operator (stacklok/toolhive v0.44.0, deploy/charts/operator)
# ---------------------------------------------------------------------------------------

_MANAGED = (
    "embeddingservers", "mcpauthzconfigs", "mcpexternalauthconfigs", "mcpgroups", "mcpoidcconfigs", "mcpregistries",
    "mcpremoteproxies", "mcpservers", "mcptoolconfigs", "mcpwebhookconfigs", "virtualmcpservers",
)  # fmt: skip
_FINALIZED = (
    "embeddingservers", "mcpauthzconfigs", "mcpexternalauthconfigs", "mcpgroups", "mcpoidcconfigs", "mcpregistries",
    "mcpservers", "mcptelemetryconfigs", "mcptoolconfigs", "mcpwebhookconfigs",
)  # fmt: skip
_WITH_STATUS = (
    "embeddingservers", "mcpauthzconfigs", "mcpexternalauthconfigs", "mcpgroups", "mcpoidcconfigs", "mcpregistries",
    "mcpremoteproxies", "mcpserverentries", "mcpservers", "mcptelemetryconfigs", "mcptoolconfigs",
    "mcpwebhookconfigs", "virtualmcpservers",
)  # fmt: skip

# templates/clusterrole/role.yaml: ClusterRole toolhive-operator-manager-role (kubebuilder
# rbac markers of cmd/thv-operator), bound per rbac.scope by templates/clusterrole/rolebinding.yaml.
TOOLHIVE_MANAGER_ROLE = "toolhive-operator-manager-role"
TOOLHIVE_MANAGER_RULES = (
    _rule("", ("configmaps", "persistentvolumeclaims", "secrets", "serviceaccounts", "services"), _CRUD),
    _rule("", ("pods",), ("get", "list", "watch")),
    _rule("", ("pods/attach",), ("create", "get")),
    _rule("", ("pods/log",), ("get",)),
    _rule("apiextensions.k8s.io", ("customresourcedefinitions",), ("get", "list", "watch")),
    _rule("apiextensions.k8s.io", ("customresourcedefinitions/status",), ("patch", "update")),
    _rule("apps", ("deployments", "statefulsets"), _CRUD),
    _rule("coordination.k8s.io", ("leases",), _CRUD),
    _rule("events.k8s.io", ("events",), ("create", "patch")),
    _rule("gateway.networking.k8s.io", ("gateways", "httproutes"), ("get", "list", "watch")),
    _rule("rbac.authorization.k8s.io", ("rolebindings", "roles"), _CRUD),
    _rule(_TOOLHIVE, ("*",), ("get", "list", "update")),
    _rule(_TOOLHIVE, _MANAGED, _CRUD),
    _rule(_TOOLHIVE, tuple(f"{r}/finalizers" for r in _FINALIZED), ("update",)),
    _rule(_TOOLHIVE, tuple(f"{r}/status" for r in _WITH_STATUS), ("get", "patch", "update")),
    _rule(_TOOLHIVE, ("mcpserverentries", "virtualmcpcompositetooldefinitions"), ("get", "list", "watch")),
    _rule(_TOOLHIVE, ("mcptelemetryconfigs",), ("get", "list", "patch", "update", "watch")),
)


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/managed-by": "mcp-datascience-e2e"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _binding(name: str, namespace: str | None, role: tuple[str, str], sa: tuple[str, str]) -> dict:
    """A RoleBinding in `namespace` (a ClusterRoleBinding without one) of role (kind, name) to sa."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": _meta(name, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role[0], "name": role[1]},
        "subjects": [{"kind": "ServiceAccount", "namespace": sa[0], "name": sa[1]}],
    }


def _service_account(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, namespace)}


@dataclass(frozen=True)
class ToolHiveOperatorSetup:
    namespace: str
    service_account: str
    objects: tuple[dict[str, Any], ...]  # what the chart installs besides the Deployment
    env: Mapping[str, str]
    args: tuple[str, ...]
    watched: tuple[str, ...] | None  # None: cluster scope


def toolhive_operator(release: Mapping[str, Any]) -> ToolHiveOperatorSetup:
    """The operator's identity, RBAC, env and args for a rendered release (chart 0.44.0)."""
    values = computed_values(release)["operator"]
    namespace = release["namespace"]
    # _helpers.tpl serviceAccountName: operator.serviceAccount.name, else the fullname
    account = values["serviceAccount"]["name"] or "toolhive-operator"
    sa = (namespace, account)
    objects: list[dict[str, Any]] = [
        _service_account(namespace, account),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(TOOLHIVE_MANAGER_ROLE),
            "rules": [dict(r) for r in TOOLHIVE_MANAGER_RULES],
        },
    ]
    scope = values["rbac"]["scope"]
    watched: tuple[str, ...] | None = None
    if scope == "cluster":
        objects.append(
            _binding("toolhive-operator-manager-rolebinding", None, ("ClusterRole", TOOLHIVE_MANAGER_ROLE), sa)
        )
    else:
        watched = tuple(values["rbac"]["allowedNamespaces"])
        objects += [
            _binding("toolhive-operator-manager-rolebinding", ns, ("ClusterRole", TOOLHIVE_MANAGER_ROLE), sa)
            for ns in watched
        ]
    # templates/leader-election-role.yaml: rules from values operator.leaderElectionRole
    election = values["leaderElectionRole"]
    objects += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(election["name"], namespace),
            "rules": election["rules"],
        },
        _binding(election["binding"]["name"], namespace, ("Role", election["name"]), sa),
    ]
    # templates/deployment.yaml: operator.env first, then the chart's own entries (a later
    # entry of the same name wins, as in a pod).
    env = {e["name"]: str(e["value"]) for e in values.get("env") or []}
    env |= {
        "GOMEMLIMIT": str(values["gc"]["gomemlimit"]),
        "GOGC": str(values["gc"]["gogc"]),
        "UNSTRUCTURED_LOGS": "false",
        "POD_NAMESPACE": namespace,
        "TOOLHIVE_USE_CONFIGMAP": "true",
        "ENABLE_EXPERIMENTAL_FEATURES": _helm_str(values["features"]["experimental"]),
        "TOOLHIVE_ENABLE_STORAGE_VERSION_MIGRATOR": _helm_str(values["features"]["storageVersionMigrator"]),
        "TOOLHIVE_RUNNER_IMAGE": values["toolhiveRunnerImage"],
        "VMCP_IMAGE": values["vmcpImage"],
        "TOOLHIVE_PROXY_HOST": str(values["proxyHost"]),
        "TOOLHIVE_REGISTRY_API_IMAGE": computed_values(release)["registryAPI"]["image"],
    }
    if watched is not None:
        env["WATCH_NAMESPACE"] = ",".join(watched)
    if values.get("defaultImagePullSecrets"):
        names = [s if isinstance(s, str) else s["name"] for s in values["defaultImagePullSecrets"]]
        env["TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS"] = ",".join(names)
    return ToolHiveOperatorSetup(namespace, account, tuple(objects), env, ("--leader-elect",), watched)


def _helm_str(value: Any) -> str:
    """`{{ value | quote }}` of a YAML scalar: booleans print as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def start_toolhive_operator(plane: ControlPlane, binary: Path, setup: ToolHiveOperatorSetup) -> Process:
    kubeconfig = plane.service_account_kubeconfig(setup.namespace, setup.service_account)
    metrics, health = free_port(), free_port()
    home = plane.folder / "home" / "thv-operator"
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    env |= setup.env
    process = plane.supervisor.start(
        "thv-operator",
        [
            str(binary),
            *setup.args,
            f"--metrics-bind-address=127.0.0.1:{metrics}",
            f"--health-probe-bind-address=127.0.0.1:{health}",
        ],
        env=env,
    )
    plane.supervisor.wait_until(
        process, lambda: _http_ok(f"http://127.0.0.1:{health}/readyz"), "/readyz", START_TIMEOUT
    )
    return process


# ---------------------------------------------------------------------------------------
# Sealed Secrets controller (bitnami-labs/sealed-secrets helm-v2.18.5, helm/sealed-secrets)
# ---------------------------------------------------------------------------------------

SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"

# templates/cluster-role.yaml (rbac.clusterRoleName, bound by cluster-role-binding.yaml)
# and role.yaml's key-admin Role in the controller's namespace.
SEALED_SECRETS_RULES = (
    _rule("bitnami.com", ("sealedsecrets",), ("get", "list", "watch")),
    _rule("bitnami.com", ("sealedsecrets/status",), ("update",)),
    _rule("", ("secrets",), ("get", "list", "create", "update", "delete", "watch")),
    _rule("", ("events",), ("create", "patch")),
    _rule("", ("namespaces",), ("get",)),
)


@dataclass(frozen=True)
class SealedSecretsSetup:
    namespace: str
    service_account: str
    objects: tuple[dict[str, Any], ...]
    args: tuple[str, ...]
    env: Mapping[str, str]
    key_prefix: str


# values whose flags the chart template renders (templates/deployment.yaml, args)
_FLAG_VALUES = {
    "keyrenewperiod": "--key-renew-period",
    "keyttl": "--key-ttl",
    "keycutofftime": "--key-cutoff-time",
    "rateLimit": "--rate-limit",
    "rateLimitBurst": "--rate-limit-burst",
    "maxRetries": "--max-unseal-retries",
    "kubeClientQPS": "--kubeclient-qps",
    "kubeClientBurst": "--kubeclient-burst",
    "logLevel": "--log-level",
    "logFormat": "--log-format",
}
_SWITCH_VALUES = {
    "updateStatus": "--update-status",
    "skipRecreate": "--skip-recreate",
    "logInfoStdout": "--log-info-stdout",
    "watchForSecrets": "--watch-for-secrets",
}


def sealed_secrets(release: Mapping[str, Any]) -> SealedSecretsSetup:
    values = computed_values(release)
    unmapped = [k for k in ("command", "args", "privateKeyAnnotations", "privateKeyLabels") if values.get(k)]
    if unmapped:
        raise NotImplementedError(f"e2e does not map sealed-secrets values {', '.join(unmapped)} to flags yet")
    namespace = release["namespace"]
    fullname = values.get("fullnameOverride") or release["name"]
    account = values["serviceAccount"].get("name") or fullname
    args: list[str] = [flag for key, flag in _SWITCH_VALUES.items() if values.get(key)]
    for key, flag in _FLAG_VALUES.items():
        if str(values.get(key) or "") != "" and not (key == "keyrenewperiod" and values[key] is None):
            args += [flag, str(values[key])]
    args += ["--key-prefix", values["secretName"]]
    if values.get("additionalNamespaces"):
        args += ["--additional-namespaces", ",".join(values["additionalNamespaces"])]
    sa = (namespace, account)
    cluster_role = values["rbac"]["clusterRoleName"]
    key_admin = f"{fullname}-key-admin"
    objects = (
        _service_account(namespace, account),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(cluster_role),
            "rules": [dict(r) for r in SEALED_SECRETS_RULES],
        },
        _binding(fullname, None, ("ClusterRole", cluster_role), sa),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(key_admin, namespace),
            "rules": [
                _rule("", ("secrets",), ("get",), names=(values["secretName"],)),
                _rule("", ("secrets",), ("create", "list")),
            ],
        },
        _binding(key_admin, namespace, ("Role", key_admin), sa),
    )
    # deployment.yaml env: GOMAXPROCS and GOMEMLIMIT from the container's limits
    limits = (values.get("resources") or {}).get("limits") or {}
    env = {}
    if limits.get("cpu"):
        env["GOMAXPROCS"] = str(math.ceil(parse_quantity(limits["cpu"])))
    if limits.get("memory"):
        env["GOMEMLIMIT"] = str(int(parse_quantity(limits["memory"])))
    return SealedSecretsSetup(namespace, account, objects, tuple(args), env, values["secretName"])


def sealing_key_secret(namespace: str, name: str, cert: Path, key: Path) -> dict[str, Any]:
    """The bring-your-own-key Secret (docs/bring-your-own-certificates.md): kubernetes.io/tls,
    labelled active, in the controller's namespace."""
    import base64

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {**_meta(name, namespace), "labels": {SEALING_KEY_LABEL: "active"}},
        "data": {
            "tls.crt": base64.b64encode(cert.read_bytes()).decode(),
            "tls.key": base64.b64encode(key.read_bytes()).decode(),
        },
    }


def start_sealed_secrets(plane: ControlPlane, binary: Path, setup: SealedSecretsSetup) -> Process:
    """The controller only knows in-cluster config (pkg/controller/main.go rest.InClusterConfig):
    it runs in a private mount namespace where the run's token, CA and namespace are
    mounted at the ServiceAccount path, and KUBERNETES_SERVICE_* name the API server."""
    account = plane.folder / "serviceaccounts" / f"{setup.namespace}-{setup.service_account}"
    account.mkdir(parents=True, exist_ok=True)
    (account / "token").write_text(plane.admin.service_account_token(setup.namespace, setup.service_account, 86400))
    (account / "ca.crt").write_bytes(plane.ca.read_bytes())
    (account / "namespace").write_text(setup.namespace)
    port = int(plane.server.rsplit(":", 1)[1])
    http, metrics = free_port(), free_port()
    mount = "/var/run/secrets/kubernetes.io/serviceaccount"
    script = (
        'set -e; mount -t tmpfs -o size=1m,mode=0755 e2e /var/run; mkdir -p "$1"; '
        'mount --bind "$2" "$1"; shift 2; exec "$@"'
    )
    argv = [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", mount, str(account),
        str(binary), *setup.args, "--listen-addr", f"127.0.0.1:{http}", "--listen-metrics-addr", f"127.0.0.1:{metrics}",
    ]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(port),
        **setup.env,
    }
    process = plane.supervisor.start("sealed-secrets-controller", argv, env=env)
    plane.supervisor.wait_until(
        process, lambda: _http_ok(f"http://127.0.0.1:{http}/healthz"), "/healthz", START_TIMEOUT
    )
    return process


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


def install(kube: Kube, objects: tuple[dict[str, Any], ...]) -> None:
    for obj in objects:
        kube.apply(obj)


# ---------------------------------------------------------------------------------------
# ToolHive proxy runner: what runs in each proxy pod the operator makes
# ---------------------------------------------------------------------------------------

PROXY_CONTAINER = "toolhive"  # mcpserver_controller.go deploymentForMCPServer


def _field(template_meta: Mapping[str, Any], namespace: str, path: str) -> str:
    """A downward-API fieldRef of the pod the template makes (the ones the operator uses)."""
    if path == "metadata.namespace":
        return namespace
    for field in ("annotations", "labels"):
        prefix = f"metadata.{field}['"
        if path.startswith(prefix):
            return str((template_meta.get(field) or {}).get(path[len(prefix) : -2], ""))
    raise NotImplementedError(f"fieldRef {path}")


def start_proxy_runner(plane: ControlPlane, binary: Path, deployment: Mapping[str, Any]) -> Process:
    """The proxy pod of an MCPServer as the node would run it, out of cluster: the
    container's args and env, its ServiceAccount's identity, the runconfig ConfigMap it
    mounts (read from the runner's working directory, its documented fallback path,
    cmd/thv-proxyrunner/app/run.go). It creates the backend StatefulSet and Services.
    Differences from a pod: it listens on a free loopback port, HOME is its folder."""
    meta = deployment["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    template = deployment["spec"]["template"]
    container = next(c for c in template["spec"]["containers"] if c["name"] == PROXY_CONTAINER)
    folder = plane.folder / "pods" / f"{namespace}-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    for volume in template["spec"].get("volumes", []):
        if "configMap" in volume:
            data = plane.admin.get("v1", "ConfigMap", volume["configMap"]["name"], namespace).get("data") or {}
            for key, text in data.items():
                (folder / key).write_text(text)
    runconfig = folder / "runconfig.json"
    config = json.loads(runconfig.read_text())
    config |= {"host": "127.0.0.1", "port": free_port()}
    runconfig.write_text(json.dumps(config))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for entry in container.get("env", []):
        ref = (entry.get("valueFrom") or {}).get("fieldRef")
        env[entry["name"]] = _field(template["metadata"], namespace, ref["fieldPath"]) if ref else entry["value"]
    account = template["spec"]["serviceAccountName"]
    env |= {
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder),
        "POD_NAMESPACE": namespace,  # a pod reads it from its ServiceAccount mount
        "KUBECONFIG": str(plane.service_account_kubeconfig(namespace, account)),
    }
    return plane.supervisor.start(
        f"proxyrunner-{namespace}-{name}", [str(binary), *container.get("args", [])], env=env, cwd=folder
    )
