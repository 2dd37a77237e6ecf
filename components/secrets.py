"""SecretsLayer: the credentials other components declare, as Kubernetes Secrets.

Consumers declare `CredentialSpec`s (pure functions of config: `plan.credentials`,
`edge.credentials`, `monitoring.credentials`, gathered by `components/credentials.py`);
the program hands them to this layer, which never imports its consumers. It
materialises each with the backend `secrets.backend` selects and hands back
`SecretRef`s (Secret name and key), never values:

- `sealed`: the Sealed Secrets controller (chart 2.18.5) and one `bitnami.com/v1alpha1`
  SealedSecret per credential, from ciphertext in stack config (`python -m mcpds seal`).
  Only the controller can decrypt; the stack file, state and renders hold ciphertext.
- `external`: External Secrets Operator (chart 2.9.0), one ClusterSecretStore from the
  configured provider block, one `external-secrets.io/v1` ExternalSecret per credential.
- `pulumi`: plain Secrets from Pulumi secret config, passed as secrets so Pulumi
  encrypts them in state (for clusters with neither controller).

The unsealed/synced Secret has the same name, namespace, labels, annotations and keys
with every backend, so switching backend changes no consumer's objects.

Credentials without a configured value: an optional one (`required=False`) is skipped
and gets no ref (its consumer falls back, e.g. monitoring generates a Grafana
password). A required one keeps its ref (consumers render unchanged) and is reported:
a warning in `pulumi preview` and offline renders, a `ConfigError` in a real update,
naming each missing credential and the command that provides it.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import existing, netpol, runtime, versions
from components.config import PROJECT, ConfigError, StackConfig
from components.contracts import CredentialSpec, SecretRef
from components.helm import helm_release
from components.image_pins import ImagePins
from components.k8s import KubernetesObject, labels, owner_labels, restricted_namespace

TYPE = "mcp-datascience:index:SecretsLayer"
COMPONENT = "secrets"
CREDENTIAL_LABEL = "mcp-datascience/credential"

SEALED_API = "bitnami.com/v1alpha1"
EXTERNAL_API = "external-secrets.io/v1"
SEALED_RELEASE = "sealed-secrets"  # the chart README's release name
EXTERNAL_RELEASE = "external-secrets"
# Scope annotations the controller reads from the SealedSecret's metadata when it picks
# the RSA-OAEP label (pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go:
# SecretScope, UpdateScopeAnnotations; kubeseal puts them on the template too).
SCOPE_ANNOTATIONS = {
    "namespace-wide": "sealedsecrets.bitnami.com/namespace-wide",
    "cluster-wide": "sealedsecrets.bitnami.com/cluster-wide",
}
CONTROLLER_UID = 1001  # the controller image's user (chart containerSecurityContext.runAsUser)


# ---------------------------------------------------------------------------
# Pure: which credentials are materialised, and their objects
# ---------------------------------------------------------------------------


def ref_key(spec: CredentialSpec, key: str) -> str:
    """The `.refs` key of one Secret key of a credential: `<credential id>/<key>`."""
    return f"{spec.id}/{key}"


def merge_specs(specs: Sequence[CredentialSpec]) -> list[CredentialSpec]:
    """One spec per id; two consumers declaring one id must agree on where it lives."""
    merged: dict[str, CredentialSpec] = {}
    for spec in specs:
        old = merged.get(spec.id)
        if old is None:
            merged[spec.id] = spec
            continue
        if (old.namespace, old.secret_name) != (spec.namespace, spec.secret_name):
            raise ValueError(
                f"credential {spec.id} is declared as {old.namespace}/{old.secret_name} and as "
                f"{spec.namespace}/{spec.secret_name}: one id, one Secret"
            )
        merged[spec.id] = CredentialSpec(
            id=spec.id,
            namespace=spec.namespace,
            secret_name=spec.secret_name,
            keys=tuple(sorted({*old.keys, *spec.keys})),
            purpose=old.purpose,
            required=old.required or spec.required,
        )
    return [merged[k] for k in sorted(merged)]


@dataclass(frozen=True)
class Materialisation:
    """What the layer does with the declared specs under the selected backend."""

    present: tuple[CredentialSpec, ...]  # every key configured: materialised
    missing: tuple[CredentialSpec, ...]  # required, not configured: ref kept, reported
    skipped: tuple[CredentialSpec, ...]  # optional, not configured: no object, no ref
    problems: tuple[str, ...]  # configuration errors (partial or unknown keys)
    unused: tuple[str, ...]  # configured ids no consumer declares (warned)

    @property
    def refs(self) -> dict[str, SecretRef]:
        return {ref_key(s, k): s.ref(k) for s in (*self.present, *self.missing) for k in s.keys}


def plan_materialisation(config: StackConfig, specs: Sequence[CredentialSpec]) -> Materialisation:
    configured = config.secrets.configured()
    path = config.secrets.values_path
    present, missing, skipped, problems = [], [], [], []
    merged = merge_specs(specs)
    for spec in merged:
        have = configured.get(spec.id, set())
        extra = sorted(have - set(spec.keys))
        if extra:
            problems.append(
                f"{PROJECT}:{path}.{spec.id} has keys {extra} that the Secret {spec.namespace}/{spec.secret_name} "
                f"does not use (its keys: {', '.join(spec.keys)})"
            )
        if not have:
            (missing if spec.required else skipped).append(spec)
        elif set(spec.keys) <= have:
            present.append(spec)
        else:
            lacking = [k for k in spec.keys if k not in have]
            problems.append(
                f"{PROJECT}:{path}.{spec.id} lacks key(s) {', '.join(lacking)}: the Secret "
                f"{spec.namespace}/{spec.secret_name} needs {', '.join(spec.keys)} ({spec.purpose})"
            )
    declared = [s.id for s in merged]
    unused = []
    for cid in sorted(set(configured) - set(declared)):
        close = difflib.get_close_matches(cid, declared, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        unused.append(f"{PROJECT}:{path}.{cid} is configured but no component uses credential '{cid}'{hint}")
    return Materialisation(tuple(present), tuple(missing), tuple(skipped), tuple(problems), tuple(unused))


def how_to_provide(config: StackConfig, spec: CredentialSpec, stack: str) -> str:
    """The exact command(s) that provide a missing credential with the selected backend."""
    backend = config.secrets.backend
    steps = []
    for key in spec.keys:
        if backend == "sealed":
            named = "" if spec.id == spec.secret_name else f" --id {spec.id}"  # seal's --id defaults to --name
            steps.append(
                f"python -m mcpds seal --cert <controller cert.pem> --namespace {spec.namespace} "
                f"--name {spec.secret_name}{named} --key {key} --stack {stack} --write  (value on stdin)"
            )
        elif backend == "external":
            steps.append(
                f"pulumi config set --path '{config.secrets.values_path}.{spec.id}.{key}.key' <name in the store>"
            )
        else:
            steps.append(
                f"pulumi config set --secret --path '{config.secrets.values_path}.{spec.id}.{key}'  (value on stdin)"
            )
    return f"credential '{spec.id}' ({spec.purpose}), Secret {spec.namespace}/{spec.secret_name}: " + "; ".join(steps)


def secret_labels(spec: CredentialSpec) -> dict[str, str]:
    """Labels of the Secret a credential becomes, identical with every backend."""
    return labels(spec.secret_name, COMPONENT, {CREDENTIAL_LABEL: spec.id})


# On the Secret with every backend. The Sealed Secrets controller refuses a SealedSecret
# whose Secret already exists unless that Secret carries this annotation, and does not
# retry once the old Secret is gone (bitnami-labs/sealed-secrets README "Managing
# existing secrets", controller isAnnotatedToBeManaged; issue #1090). With it, switching
# a live stack to `sealed` lets the controller take the Secret over instead of leaving
# it missing.
SECRET_ANNOTATIONS = {"sealedsecrets.bitnami.com/managed": "true"}


def secret_metadata(spec: CredentialSpec) -> dict[str, Any]:
    """Metadata of the Secret a credential becomes, identical with every backend."""
    return {
        "name": spec.secret_name,
        "namespace": spec.namespace,
        "labels": secret_labels(spec),
        "annotations": dict(SECRET_ANNOTATIONS),
    }


def _object_metadata(spec: CredentialSpec) -> dict[str, Any]:
    """Metadata of the SealedSecret or ExternalSecret that makes the credential's Secret
    (named and namespaced like it)."""
    return {
        "name": spec.secret_name,
        "namespace": spec.namespace,
        "labels": {**owner_labels(COMPONENT), CREDENTIAL_LABEL: spec.id},
    }


def sealed_secret(config: StackConfig, spec: CredentialSpec) -> dict[str, Any]:
    """SealedSecret whose controller-made Secret is `spec.namespace/spec.secret_name`.

    The controller unseals into a Secret named and namespaced like the SealedSecret and
    copies `spec.template.metadata` (labels, annotations) onto it (Unseal in
    sealedsecret_expansion.go)."""
    sealed = config.secrets.sealed
    scope = sealed.scopes.get(spec.id, "strict")
    scoped = {SCOPE_ANNOTATIONS[scope]: "true"} if scope in SCOPE_ANNOTATIONS else {}
    meta = _object_metadata(spec)
    if scoped:
        meta["annotations"] = scoped  # the controller picks the label from these
    template_meta = secret_metadata(spec)
    template_meta["annotations"].update(scoped)
    ciphertexts = sealed.ciphertexts[spec.id]
    return {
        "apiVersion": SEALED_API,
        "kind": "SealedSecret",
        "metadata": meta,
        "spec": {
            "encryptedData": {key: ciphertexts[key] for key in spec.keys},
            "template": {"metadata": template_meta, "type": "Opaque"},
        },
    }


def cluster_secret_store(config: StackConfig, namespaces: Sequence[str]) -> dict[str, Any]:
    """The ClusterSecretStore every ExternalSecret reads from, usable only from the
    namespaces that hold credentials (`spec.conditions[].namespaces`).

    A ClusterSecretStore without `conditions` serves ExternalSecrets from every
    namespace, so an empty list is refused rather than rendered unrestricted."""
    if not namespaces:
        raise ValueError("a ClusterSecretStore needs the namespaces allowed to use it")
    external = config.secrets.external
    spec: dict[str, Any] = {
        "provider": dict(external.provider),
        "conditions": [{"namespaces": sorted(set(namespaces))}],
    }
    return {
        "apiVersion": EXTERNAL_API,
        "kind": "ClusterSecretStore",
        "metadata": {"name": external.store_name, "labels": owner_labels(COMPONENT)},
        "spec": spec,
    }


def external_secret(config: StackConfig, spec: CredentialSpec) -> dict[str, Any]:
    """ExternalSecret that makes `spec.namespace/spec.secret_name` from the store."""
    external = config.secrets.external
    remote = external.remote_keys[spec.id]
    data = []
    for key in spec.keys:
        ref = remote[key]
        remote_ref: dict[str, Any] = {"key": ref.key}
        if ref.property is not None:
            remote_ref["property"] = ref.property
        if ref.version is not None:
            remote_ref["version"] = ref.version
        data.append({"secretKey": key, "remoteRef": remote_ref})
    return {
        "apiVersion": EXTERNAL_API,
        "kind": "ExternalSecret",
        "metadata": _object_metadata(spec),
        "spec": {
            "refreshInterval": external.refresh_interval,
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": external.store_name},
            "target": {
                "name": spec.secret_name,
                # Owner: the Secret goes with the ExternalSecret. Retain (the CRD default,
                # stated): a value deleted in the store leaves the last synced Secret in
                # place instead of breaking its consumers.
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": {
                    "type": "Opaque",
                    "metadata": {"labels": secret_labels(spec), "annotations": dict(SECRET_ANNOTATIONS)},
                },
            },
            "data": data,
        },
    }


def api_dependencies(config: StackConfig) -> list[existing.ApiDependency]:
    """What a controller the layer does not install must serve: the API of the objects it
    creates for the selected backend."""
    secrets = config.secrets
    if secrets.backend == "sealed" and not secrets.sealed.install_controller:
        return [
            existing.ApiDependency(
                SEALED_API,
                "secrets.sealed.install_controller: false",
                f"the Sealed Secrets controller (chart {versions.SEALED_SECRETS.version} serves {SEALED_API})",
            )
        ]
    if secrets.backend == "external" and not secrets.external.install_operator:
        return [
            existing.ApiDependency(
                EXTERNAL_API,
                "secrets.external.install_operator: false",
                f"External Secrets Operator (chart {versions.EXTERNAL_SECRETS.version} serves {EXTERNAL_API})",
            )
        ]
    return []


def images(config: StackConfig) -> list[versions.Image]:
    """The controller image of the selected backend, when this layer installs one."""
    secrets = config.secrets
    if secrets.backend == "sealed" and secrets.sealed.install_controller:
        return [versions.SEALED_SECRETS_IMAGE]
    if secrets.backend == "external" and secrets.external.install_operator:
        return [versions.EXTERNAL_SECRETS_IMAGE]
    return []


def sealed_secrets_values(config: StackConfig) -> dict[str, Any]:
    """Sealed Secrets chart 2.18.5 values (helm/sealed-secrets/values.yaml; the deployment
    template passes pod/container securityContext through minus `enabled`). The image has
    no digest value (templates/deployment.yaml: `registry/repository:tag`): the digest
    rides in the tag."""
    sealed = config.secrets.sealed
    return {
        "fullnameOverride": sealed.controller_name,
        "image": ImagePins(config.images.digests).chart_image(
            versions.SEALED_SECRETS_IMAGE, "tag", split_registry=True
        ),
        "resources": sealed.resources.as_k8s(),
        "podSecurityContext": {
            "enabled": True,
            "fsGroup": 65534,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "enabled": True,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": CONTROLLER_UID,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


# Pod and container securityContext of every ESO deployment, stated rather than left to
# the chart's defaults (chart values `podSecurityContext`/`securityContext` and the same
# under `webhook` and `certController`; the templates render a block only when
# `enabled` is true and omit `enabled` itself, _helpers.tpl renderSecurityContext).
ESO_POD_SECURITY = {"enabled": True, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
ESO_CONTAINER_SECURITY = {
    "enabled": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 1000,  # the chart's default user
    "seccompProfile": {"type": "RuntimeDefault"},
}


def external_secrets_values(config: StackConfig) -> dict[str, Any]:
    """External Secrets Operator chart 2.9.0 values (deploy/charts/external-secrets/values.yaml):
    the controller, the webhook and the cert controller, each with its image, security
    contexts and resources (the chart sets no resources by default). The image has no
    digest value (templates/_helpers.tpl "external-secrets.image": `repository:tag`): the
    digest rides in the tag."""
    external = config.secrets.external
    image = ImagePins(config.images.digests).chart_image(versions.EXTERNAL_SECRETS_IMAGE, "tag")

    def deployment() -> dict[str, Any]:
        return {
            "image": dict(image),
            "podSecurityContext": dict(ESO_POD_SECURITY),
            "securityContext": dict(ESO_CONTAINER_SECURITY),
            "resources": external.resources.as_k8s(),
        }

    return {"installCRDs": True, **deployment(), "webhook": deployment(), "certController": deployment()}


# Pod labels of the controllers (chart selector labels: name + instance).
SEALED_CONTROLLER_LABELS = {"app.kubernetes.io/name": "sealed-secrets", "app.kubernetes.io/instance": SEALED_RELEASE}
SEALED_HTTP_PORT = 8080  # /v1/cert.pem, /v1/verify, /v1/rotate (chart service.port, container port `http`)
SEALED_METRICS_PORT = 8081  # container port `metrics` (Service `<fullname>-metrics`)
# ESO selector labels (_helpers.tpl external-secrets{,-webhook,-cert-controller}.selectorLabels).
ESO_CONTROLLER_LABELS = {"app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": EXTERNAL_RELEASE}
ESO_WEBHOOK_LABELS = {
    "app.kubernetes.io/name": "external-secrets-webhook",
    "app.kubernetes.io/instance": EXTERNAL_RELEASE,
}
ESO_WEBHOOK_PORT = 10250  # chart webhook.port
ESO_METRICS_PORT = 8080  # chart metrics.listen.port (controller, webhook and cert controller)


_policy = functools.partial(netpol.policy_object, component=COMPONENT)


def network_policies(config: StackConfig) -> list[dict[str, Any]]:
    """NetworkPolicies of the installed controller. In kube-system (not ours) only the
    controller's pods are selected; a namespace of our own gets a default deny too."""
    secrets, monitoring = config.secrets, config.monitoring.namespace
    from_monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring}}}
    if secrets.backend == "sealed" and secrets.sealed.install_controller:
        ns = secrets.sealed.controller_namespace
        controller = _policy(
            "sealed-secrets-controller",
            ns,
            SEALED_CONTROLLER_LABELS,
            ingress=[
                {"from": netpol.from_api_server(config.network), "ports": netpol.ports([SEALED_HTTP_PORT])},
                {"from": [from_monitoring], "ports": netpol.ports([SEALED_METRICS_PORT])},
            ],
            egress=[netpol.dns_egress(config.network), netpol.api_server_egress(config.network)],
        )
        return (
            [controller]
            if ns == "kube-system"
            else [*netpol.baseline_policies(ns, COMPONENT, config.network), controller]
        )
    if secrets.backend == "external" and secrets.external.install_operator:
        ns = secrets.external.namespace
        store = [netpol.internet_egress(config.network, [443])]
        store += [
            {"to": [{"ipBlock": {"cidr": rule.cidr}}], "ports": netpol.ports(rule.ports)}
            for rule in secrets.external.store_egress
        ]
        return [
            *netpol.baseline_policies(ns, COMPONENT, config.network),
            # Only the controller talks to the store; the webhook and cert controller
            # need nothing beyond DNS and the API server.
            _policy("external-secrets-store", ns, ESO_CONTROLLER_LABELS, egress=store),
            _policy(
                "external-secrets-webhook",
                ns,
                ESO_WEBHOOK_LABELS,
                ingress=[{"from": netpol.from_api_server(config.network), "ports": netpol.ports([ESO_WEBHOOK_PORT])}],
            ),
            _policy(
                "external-secrets-metrics",
                ns,
                {},
                ingress=[{"from": [from_monitoring], "ports": netpol.ports([ESO_METRICS_PORT])}],
            ),
        ]
    return []


def preflight(config: StackConfig, specs: Sequence[CredentialSpec], stack: str | None = None) -> Materialisation:
    """Check the credentials before anything is registered.

    Raises `ConfigError` for partial or unknown keys, and, in a real update, for every
    required credential without a value (each with the command that provides it),
    unless `secrets.allow_missing`. Call it before the program's first resource, so that
    `pulumi up` stops before anything changes; `SecretsLayer` calls it again and warns
    (once) about what it lets through."""
    stack = stack or pulumi.get_stack()
    plan = plan_materialisation(config, specs)
    if plan.problems:
        raise ConfigError(stack, list(plan.problems))
    lines = [how_to_provide(config, spec, stack) for spec in plan.missing]
    if lines and runtime.deploying() and not config.secrets.allow_missing:
        problems = [f"missing {line}" for line in lines]
        if config.secrets.backend == "sealed":
            problems.append(
                "first deploy, and the Sealed Secrets controller is not running yet? Either seal with a key pair "
                "of your own (README: First deploy checklist), or run one `pulumi up` with "
                "`pulumi config set --path secrets.allow_missing true` to install it, then `kubeseal --fetch-cert`, "
                "seal, and set it back to false"
            )
        raise ConfigError(stack, problems)
    return plan


# ---------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretsLayerArgs:
    config: StackConfig
    specs: Sequence[CredentialSpec]
    # Namespaces the program created before this layer, by name (`__main__.py` creates
    # every namespace a credential lives in first): credential objects wait for them.
    namespaces: Mapping[str, pulumi.Resource] = field(default_factory=dict)


class SecretsLayer(pulumi.ComponentResource):
    """Credentials as Kubernetes Secrets via Sealed Secrets, External Secrets or Pulumi."""

    refs: dict[str, SecretRef]
    ready: list[pulumi.Input[pulumi.Resource]]

    def __init__(self, name: str, args: SecretsLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, {}, opts)
        config = args.config
        backend = config.secrets.backend
        stack = pulumi.get_stack()
        self._name = name
        self.plan = preflight(config, args.specs, stack)
        for message in self.plan.unused:
            pulumi.warn(message)
        for spec in self.plan.missing:  # in an update, only with secrets.allow_missing
            line = how_to_provide(config, spec, stack)
            if runtime.deploying():
                pulumi.warn(f"deploying without {line} (secrets.allow_missing is true: its consumers wait for it)")
            else:
                pulumi.warn(f"missing {line}. `pulumi up` refuses to deploy until it is set")
        self.refs = self.plan.refs
        self.ready = []

        # What the credential objects wait for: the controller the layer installs, or the
        # check that an existing one serves their API.
        controller: list[pulumi.Input[pulumi.Resource]] = existing.require_apis(
            name, api_dependencies(config), parent=self
        )
        if backend == "sealed" and config.secrets.sealed.install_controller:
            controller = [self._sealed_controller(config)]
        elif backend == "external":
            # The store serves the namespaces of the credentials that have (or, required,
            # will have) an ExternalSecret, and no other.
            namespaces = [s.namespace for s in (*self.plan.present, *self.plan.missing)]
            controller = self._external_store(config, namespaces, controller)
        self.ready.extend(controller)

        for spec in self.plan.present:
            deps = [*controller]
            if spec.namespace in args.namespaces:
                deps.append(args.namespaces[spec.namespace])
            self.ready.append(self._credential(config, spec, deps))

        self.register_outputs(
            {
                "backend": backend,
                "refs": {k: {"namespace": r.namespace, "name": r.name, "key": r.key} for k, r in self.refs.items()},
            }
        )

    # -- backends ----------------------------------------------------------

    def _child(self, depends_on: Sequence[pulumi.Input[pulumi.Resource]] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _sealed_controller(self, config: StackConfig) -> pulumi.Resource:
        sealed = config.secrets.sealed
        deps: list[pulumi.Resource] = []
        if sealed.controller_namespace != "kube-system":
            deps.append(
                restricted_namespace(f"{self._name}-namespace", sealed.controller_namespace, COMPONENT, self._child())
            )
        # Policies first: the controller starts confined.
        deps += self._policies(config, deps)
        return helm_release(
            f"{self._name}-sealed-secrets",
            versions.SEALED_SECRETS,
            namespace=sealed.controller_namespace,
            values=sealed_secrets_values(config),
            release_name=SEALED_RELEASE,
            version=sealed.chart_version,
            opts=self._child(deps),
        )

    def _external_store(
        self, config: StackConfig, namespaces: Sequence[str], existing_api: Sequence[pulumi.Input[pulumi.Resource]]
    ) -> list[pulumi.Input[pulumi.Resource]]:
        external = config.secrets.external
        deps: list[pulumi.Input[pulumi.Resource]] = list(existing_api)
        if external.install_operator:
            namespace = restricted_namespace(f"{self._name}-namespace", external.namespace, COMPONENT, self._child())
            policies = self._policies(config, [namespace])
            deps.append(
                helm_release(
                    f"{self._name}-external-secrets",
                    versions.EXTERNAL_SECRETS,
                    namespace=external.namespace,
                    values=external_secrets_values(config),
                    release_name=EXTERNAL_RELEASE,
                    version=external.chart_version,
                    opts=self._child([namespace, *policies]),
                )
            )
        if not namespaces:  # no credential declared: no store to open up
            return deps
        store = cluster_secret_store(config, namespaces)
        return [*deps, self._custom(store, deps)]

    def _policies(self, config: StackConfig, deps: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        return [
            netpol.network_policy(
                f"{self._name}-netpol-{obj['metadata']['namespace']}-{obj['metadata']['name']}",
                name=obj["metadata"]["name"],
                namespace=obj["metadata"]["namespace"],
                spec=obj["spec"],
                component=COMPONENT,
                opts=self._child(deps),
            )
            for obj in network_policies(config)
        ]

    def _credential(
        self, config: StackConfig, spec: CredentialSpec, deps: list[pulumi.Input[pulumi.Resource]]
    ) -> pulumi.Resource:
        backend = config.secrets.backend
        if backend == "sealed":
            return self._custom(sealed_secret(config, spec), deps)
        if backend == "external":
            return self._custom(external_secret(config, spec), deps)
        values = config.secrets.pulumi.values[spec.id]
        # Output.secret: Pulumi encrypts the values in state and redacts them in diffs.
        string_data = pulumi.Output.secret({key: values[key].get_secret_value() for key in spec.keys})
        return KubernetesObject(
            f"{self._name}-secret-{spec.namespace}-{spec.secret_name}",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": secret_metadata(spec),
                "type": "Opaque",
                "stringData": string_data,
            },
            pulumi.ResourceOptions(parent=self, depends_on=deps, additional_secret_outputs=["data", "stringData"]),
        )

    def _custom(self, obj: dict[str, Any], deps: Sequence[pulumi.Input[pulumi.Resource]]) -> pulumi.Resource:
        meta = obj["metadata"]
        resource_name = "-".join(
            filter(None, [self._name, obj["kind"].lower(), meta.get("namespace", ""), meta["name"]])
        )
        return KubernetesObject(resource_name, obj, self._child(deps))
