"""Access to the Kubernetes API: no admin or wildcard grants, least privilege for the
service accounts MCP servers run as, a namespace-scoped ToolHive operator, and no API
token in pods that never call the API.

Seen: the Roles, ClusterRoles and bindings the stack creates, PolicyRules handed to
charts in values (`rules`, `extraRules`... any list of mappings with `verbs`), and the
ToolHive operator chart's `operator.rbac` values. Not seen: the RBAC a chart or an
operator renders itself (the ToolHive operator gives each proxy `pods/attach` on its
own backend, research/toolhive.md §3).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from .base import resource_policy, stack_policy, string_list
from .kube import (
    HELM_RELEASE,
    MCP_SERVER,
    WORKLOAD_TYPES,
    as_dict,
    as_list,
    chart_name,
    describe,
    dotted,
    get,
    name_of,
    namespace_of,
    pod_templates,
    walk,
)
from .stackview import StackView

RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
ROLE, CLUSTER_ROLE = RBAC + "Role", RBAC + "ClusterRole"
ROLE_BINDING, CLUSTER_ROLE_BINDING = RBAC + "RoleBinding", RBAC + "ClusterRoleBinding"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
WILDCARD = "*"


def _wildcards(rule: Mapping[str, Any]) -> list[str]:
    fields = ("verbs", "resources", "apiGroups", "nonResourceURLs")
    return [f for f in fields if WILDCARD in [str(v) for v in as_list(rule.get(f))]]


def _values_rules(values: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, rule) for every PolicyRule-shaped mapping (it has `verbs`) in a chart's values."""
    for path, node in walk(values):
        if path and isinstance(node, Mapping) and as_list(node.get("verbs")):
            yield dotted(path), node


ADMIN_CONFIG = {
    "adminRoles": string_list(
        "ClusterRoles no binding may grant: the built-in user-facing roles that read Secrets and exec into pods "
        "(kubernetes.io/docs/reference/access-authn-authz/rbac, User-facing roles).",
        ["cluster-admin", "admin", "edit"],
    )
}


def _check_admin(args: ResourceValidationArgs, report: ReportViolation, config: Mapping[str, Any]) -> None:
    where = describe(args.resource_type, args.props, args.name)
    if args.resource_type in (ROLE, CLUSTER_ROLE):
        for i, rule in enumerate(as_list(args.props.get("rules"))):
            for f in _wildcards(as_dict(rule)):
                report(f"{where} rules[{i}] grants '*' in {f}", None)
    if args.resource_type in (ROLE_BINDING, CLUSTER_ROLE_BINDING):
        ref = as_dict(args.props.get("roleRef"))
        if ref.get("kind") == "ClusterRole" and ref.get("name") in config["adminRoles"]:
            report(f"{where} grants ClusterRole {ref['name']}", None)
    if args.resource_type == HELM_RELEASE:
        for path, rule in _values_rules(args.props.get("values")):
            for f in _wildcards(rule):
                report(f"{where} values {path} grants '*' in {f}", None)


RBAC_NO_ADMIN_OR_WILDCARD = resource_policy(
    "rbac-no-admin-or-wildcard",
    "No Role or ClusterRole the stack creates (nor a PolicyRule handed to a chart in its values) grants '*' in "
    "verbs, resources, apiGroups or nonResourceURLs, and no binding grants cluster-admin, admin or edit.",
    _check_admin,
    severity=Severity.CRITICAL,
    remediation="List the exact verbs, resources and API groups the workload needs in a Role of its own "
    "namespace; bind that Role instead of a built-in admin role.",
    config=ADMIN_CONFIG,
    relaxing=("adminRoles",),
)


# ---------------------------------------------------------------------------
# Service accounts MCP servers run as
# ---------------------------------------------------------------------------

# What a compromised MCP server must never be able to do through its token: read
# credentials, run commands in or attach to other pods, act as someone else, or grant
# itself more (kubernetes.io RBAC good practices, "Privilege escalation risks").
FORBIDDEN_RESOURCES = ("secrets", "pods/exec", "pods/attach", WILDCARD)
FORBIDDEN_VERBS = ("impersonate", "escalate", "bind", WILDCARD)


def _forbidden(rule: Mapping[str, Any]) -> list[str]:
    verbs = [str(v) for v in as_list(rule.get("verbs"))]
    resources = [str(r) for r in as_list(rule.get("resources"))]
    out = [f"verb {v}" for v in verbs if v in FORBIDDEN_VERBS]
    if verbs:
        out += [f"resource {r}" for r in resources if r in FORBIDDEN_RESOURCES]
    return out


def mcp_service_accounts(view: StackView) -> dict[tuple[str, str], str]:
    """(namespace, service account) -> the MCPServer that runs as it. Without
    spec.serviceAccount the operator creates `<name>-sa` (research/toolhive.md §3)."""
    out = {}
    for server in view.mcp_servers:
        name = name_of(server.props, server.name)
        account = get(server.props, "spec", "serviceAccount") or f"{name}-sa"
        out[(namespace_of(server.props), str(account))] = describe(server.resource_type, server.props, server.name)
    return out


def bindings_of(view: StackView, namespace: str, account: str) -> Iterator[PolicyResource]:
    """RoleBindings and ClusterRoleBindings of the stack naming this service account."""
    for binding in view.of_type(ROLE_BINDING, CLUSTER_ROLE_BINDING):
        default_ns = namespace_of(binding.props) if binding.resource_type == ROLE_BINDING else None
        for subject in as_list(binding.props.get("subjects")):
            s = as_dict(subject)
            if (
                s.get("kind") == "ServiceAccount"
                and s.get("name") == account
                and (s.get("namespace") or default_ns) == namespace
            ):
                yield binding
                break


def _role_of(view: StackView, binding: PolicyResource) -> tuple[str, PolicyResource | None]:
    ref = as_dict(binding.props.get("roleRef"))
    kind, name = str(ref.get("kind") or "ClusterRole"), str(ref.get("name") or "")
    if kind == "Role":
        return f"Role {namespace_of(binding.props)}/{name}", view.find(ROLE, namespace_of(binding.props), name)
    found = next((r for r in view.of_type(CLUSTER_ROLE) if name_of(r.props, r.name) == name), None)
    return f"ClusterRole {name}", found


def _check_mcp_accounts(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    for (namespace, account), server in sorted(mcp_service_accounts(view).items()):
        for binding in bindings_of(view, namespace, account):
            where = describe(binding.resource_type, binding.props, binding.name)
            role_name, role = _role_of(view, binding)
            prefix = f"{where} binds {role_name} to ServiceAccount {namespace}/{account}, which {server} runs as"
            if role is None:
                report(f"{prefix}; the role is not in this stack, so its rights cannot be checked", binding.urn)
                continue
            if as_dict(role.props.get("aggregationRule")):
                report(f"{prefix}; the role aggregates other roles, so its rights cannot be checked", binding.urn)
                continue
            grants = sorted({g for rule in as_list(role.props.get("rules")) for g in _forbidden(as_dict(rule))})
            if grants:
                report(f"{prefix}, and grants {', '.join(grants)}", binding.urn)


RBAC_MCP_LEAST_PRIVILEGE = stack_policy(
    "rbac-mcp-service-account-least-privilege",
    "The service accounts MCP servers run as (MCPServer spec.serviceAccount, else <name>-sa) get no access to "
    "Secrets, pods/exec or pods/attach, and no impersonate, escalate or bind verb, through any binding of the "
    "stack; a binding to a role the stack does not define cannot be checked and is refused.",
    _check_mcp_accounts,
    severity=Severity.CRITICAL,
    remediation="An MCP server needs no Kubernetes API (components/mcp_servers.py runs them as mcp-backend without a "
    "token): remove the binding, or bind a Role of the stack that grants only what the server needs.",
)


# ---------------------------------------------------------------------------
# The ToolHive operator's scope
# ---------------------------------------------------------------------------

OPERATOR_CHART = "toolhive-operator"  # stacklok/toolhive deploy/charts/operator (chart name)


def _check_operator_scope(args: ResourceValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    if args.resource_type != HELM_RELEASE:
        return
    if chart_name(args.props) != OPERATOR_CHART:
        return
    where = describe(args.resource_type, args.props, args.name)
    rbac = as_dict(get(args.props, "values", "operator", "rbac"))
    # The chart's default is `scope: cluster` (deploy/charts/operator/values.yaml @ v0.44.0).
    scope = rbac.get("scope") or "cluster (the chart's default)"
    if scope != "namespace":
        report(f"{where} runs the operator with operator.rbac.scope {scope}: rights in every namespace", None)
    elif not as_list(rbac.get("allowedNamespaces")):
        report(f"{where} is namespace-scoped but lists no operator.rbac.allowedNamespaces", None)


TOOLHIVE_NAMESPACE_SCOPED = resource_policy(
    "toolhive-operator-namespace-scoped",
    "The ToolHive operator chart is installed namespace-scoped (operator.rbac.scope: namespace with "
    "allowedNamespaces): RoleBindings in the MCP namespaces only, no cluster-wide rights over every namespace.",
    _check_operator_scope,
    severity=Severity.HIGH,
    remediation="Set toolhive.rbac_scope: namespace (the default) and list the MCP namespaces in "
    "toolhive.watched_namespaces.",
)


# ---------------------------------------------------------------------------
# API tokens
# ---------------------------------------------------------------------------


def _bound(view: StackView, namespace: str, account: str) -> bool:
    return next(bindings_of(view, namespace, account), None) is not None


def _pod_accounts(view: StackView) -> Iterator[tuple[str, str, str, Any, str]]:
    """(where, namespace, service account, pod automount setting, urn) of every pod the
    stack writes whose token it decides: workload templates and MCPServer backends.
    MCPServer proxies and vMCP pods call the API (the operator gives them their RBAC)."""
    for r in view.of_type(*WORKLOAD_TYPES, MCP_SERVER):
        for t in pod_templates(r.resource_type, r.props):
            if r.resource_type == MCP_SERVER:
                name = name_of(r.props, r.name)
                account = get(r.props, "spec", "serviceAccount") or f"{name}-sa"
            else:
                account = t.spec.get("serviceAccountName") or t.spec.get("serviceAccount") or "default"
            yield t.where, t.namespace, str(account), t.spec.get("automountServiceAccountToken"), r.urn


def _check_automount(args: StackValidationArgs, report: ReportViolation, _config: Mapping[str, Any]) -> None:
    view = StackView(args.resources)
    accounts = {(namespace_of(a.props), name_of(a.props, a.name)): a for a in view.of_type(SERVICE_ACCOUNT)}
    for (namespace, name), account in sorted(accounts.items()):
        if account.props.get("automountServiceAccountToken") is not False and not _bound(view, namespace, name):
            report(
                f"{describe(account.resource_type, account.props, account.name)} is bound to no role of the stack "
                "but does not set automountServiceAccountToken: false",
                account.urn,
            )
    for where, namespace, name, pod_setting, urn in _pod_accounts(view):
        if pod_setting is False or _bound(view, namespace, name):
            continue
        own = accounts.get((namespace, name))
        if pod_setting is None and own is not None and own.props.get("automountServiceAccountToken") is False:
            continue
        report(
            f"{where} runs as ServiceAccount {namespace}/{name}, which no role of the stack is bound to, but mounts "
            "its API token (set automountServiceAccountToken: false on the pod)",
            urn,
        )


SERVICE_ACCOUNT_TOKEN = stack_policy(
    "service-account-token-automount",
    "A pod or ServiceAccount of the stack that does not talk to the API server (its service account is bound to "
    "no role of the stack) does not mount an API token: automountServiceAccountToken: false on the "
    "ServiceAccount, and on the pod unless its ServiceAccount of the stack already says so. Covers workload "
    "templates and MCPServer backend pods.",
    _check_automount,
    severity=Severity.MEDIUM,
    remediation="Set automountServiceAccountToken: false on the ServiceAccount and the pod template (MCPServer: "
    "podTemplateSpec.spec), or bind the account to the Role it needs if the pod does call the API.",
)

POLICIES = [RBAC_NO_ADMIN_OR_WILDCARD, RBAC_MCP_LEAST_PRIVILEGE, TOOLHIVE_NAMESPACE_SCOPED, SERVICE_ACCOUNT_TOKEN]
