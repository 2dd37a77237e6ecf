"""Validate rendered objects against their real schemas, as the API server would.

- Built-in kinds: the Kubernetes OpenAPI schema of the targeted minor version, strict
  (unknown fields fail), from the `kubernetes-validate` package's bundled schemas.
- Custom resources: their CRD's `openAPIV3Schema`, found in `$CRD_SCHEMA_DIR`, else
  `../shared/crds`, else `build/crds` (what `make crds` extracts), with what the API
  server adds on top of plain JSON Schema: unknown fields are errors (strict field
  validation), structural defaults are applied before validation,
  `x-kubernetes-list-type` map/set uniqueness, and every CEL rule in
  `x-kubernetes-validations` is evaluated (with `cel-python`). Transition rules (those
  that read `oldSelf`) only run on update, so a create-only check skips them.
- Every object: name and namespace syntax, label syntax, and scope (namespaced kinds
  name their namespace, cluster-scoped kinds do not).

A kind with no schema is an error, never a silent pass.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy import celtypes
from referencing import Registry, Resource

from offline.libyaml import CLoader

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CRD_DIR = PROJECT_ROOT.parent / "shared" / "crds"

# Cluster-scoped built-in kinds the stack may create; every other built-in is namespaced.
CLUSTER_SCOPED_BUILTINS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "PersistentVolume",
        "APIService",
    }
)

# Fields of custom resources that carry a raw built-in type the operator decodes
# (x-kubernetes-preserve-unknown-fields in the CRD): validated against that type.
EMBEDDED_BUILTINS: dict[tuple[str, str], dict[tuple[str, ...], str]] = {
    ("toolhive.stacklok.dev", "MCPServer"): {("spec", "podTemplateSpec"): "io.k8s.api.core.v1.PodTemplateSpec"},
    ("toolhive.stacklok.dev", "VirtualMCPServer"): {("spec", "podTemplateSpec"): "io.k8s.api.core.v1.PodTemplateSpec"},
}

_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
# Kinds whose names the API server checks as DNS-1035 / DNS-1123 labels, not subdomains.
_NAME_RULES = {"Service": (_DNS_1035, "a DNS-1035 label"), "Namespace": (_DNS_LABEL, "a DNS-1123 label")}


class SchemaNotFoundError(Exception):
    """No schema is known for an object's apiVersion and kind."""


@dataclass(frozen=True)
class CRD:
    group: str
    kind: str
    version: str
    scope: str
    served: bool
    deprecated: bool
    schema: Mapping[str, Any]
    source: Path


# What `make crds` writes (offline/crds.py), for a checkout without ../shared/crds.
EXTRACTED_CRD_DIR = Path(__file__).resolve().parent.parent / "build" / "crds"


def crd_dir() -> Path:
    if os.environ.get("CRD_SCHEMA_DIR"):
        return Path(os.environ["CRD_SCHEMA_DIR"])
    return DEFAULT_CRD_DIR if DEFAULT_CRD_DIR.is_dir() or not EXTRACTED_CRD_DIR.is_dir() else EXTRACTED_CRD_DIR


def load_crds(directory: Path) -> dict[tuple[str, str, str], CRD]:
    """Index every CustomResourceDefinition in `directory` (recursively) by (group, version, kind)."""
    if not directory.is_dir():
        raise FileNotFoundError(
            f"CRD schema directory {directory} does not exist: run `make crds` (extracts them from the pinned "
            "charts with helm), set CRD_SCHEMA_DIR, or put shared/crds beside the repo"
        )
    index: dict[tuple[str, str, str], CRD] = {}
    for path in sorted(directory.rglob("*.y*ml")):
        for doc in yaml.load_all(path.read_text(), Loader=CLoader):  # the CRDs are large
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for ver in spec["versions"]:
                crd = CRD(
                    group=spec["group"],
                    kind=spec["names"]["kind"],
                    version=ver["name"],
                    scope=spec["scope"],
                    served=bool(ver.get("served", True)),
                    deprecated=bool(ver.get("deprecated", False)),
                    schema=ver["schema"]["openAPIV3Schema"],
                    source=path,
                )
                index[(crd.group, crd.version, crd.kind)] = crd
    return index


# ---------------------------------------------------------------------------
# Built-in kinds (Kubernetes OpenAPI via kubernetes-validate's bundled schemas)
# ---------------------------------------------------------------------------


class BuiltinSchemas:
    """Strict JSON schemas of built-in kinds for one Kubernetes minor version.

    Mirrors kubernetes_validate.utils.validate (which stops at the first error) but
    reports every error, and exposes the shared definitions for embedded types.
    """

    def __init__(self, kubernetes_version: str):
        self.version = self._closest(kubernetes_version)
        self._dir = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{self.version}-local-strict"
        self._definitions = json.loads((self._dir / "_definitions.json").read_text())
        # The kind schemas refer to "/api/_definitions.json#/$defs/..." against this $id.
        self._registry = Resource.from_contents(self._definitions) @ Registry()

    @staticmethod
    def _closest(wanted: str) -> str:
        """The newest bundled schema version not newer than `wanted` (e.g. 1.34 -> 1.34.0)."""
        folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
        versions = sorted(
            (tuple(int(p) for p in d.name[1:].split("-")[0].split(".")), d.name[1:].split("-")[0])
            for d in folder.iterdir()
            if d.name.startswith("v") and d.name.endswith("-local-strict")
        )
        want = tuple(int(p) for p in wanted.lstrip("v").split("."))[:2]
        usable = [name for key, name in versions if key[:2] <= want]
        if not usable:
            raise SchemaNotFoundError(f"kubernetes-validate has no schema for Kubernetes {wanted}")
        return usable[-1]

    @cache  # noqa: B019 - one instance per version, lives for the process
    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator:
        # kubernetes-validate names files <kind>-<group prefix>-<version>.json,
        # e.g. rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1.
        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        path = self._dir / f"{kind.lower()}-{group_version}.json"
        if not path.is_file():
            raise SchemaNotFoundError(
                f"no built-in schema for {api_version} {kind} in Kubernetes {self.version} (and no CRD defines it)"
            )
        schema = json.loads(path.read_text())
        return jsonschema.Draft202012Validator(schema, registry=self._registry)

    @cache  # noqa: B019
    def definition_validator(self, definition: str) -> jsonschema.protocols.Validator:
        """A validator for one named type, e.g. io.k8s.api.core.v1.PodTemplateSpec."""
        if definition not in self._definitions["$defs"]:
            raise SchemaNotFoundError(f"no definition {definition} in Kubernetes {self.version}")
        schema = {"$ref": f"{self._definitions['$id']}#/$defs/{definition}"}
        return jsonschema.Draft202012Validator(schema, registry=self._registry)


# ---------------------------------------------------------------------------
# CRD schemas: OpenAPI v3 + Kubernetes extensions -> JSON Schema, defaults, CEL
# ---------------------------------------------------------------------------


def to_json_schema(node: Any) -> Any:
    """OpenAPI v3 structural schema -> JSON Schema (draft 4) with the API server's strictness."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "default"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    if (
        node.get("type") == "object"
        and "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """Fill in `default`s as the API server does before validating (structural defaulting)."""
    if isinstance(value, dict):
        for prop, sub in (schema.get("properties") or {}).items():
            if prop not in value and "default" in sub:
                value[prop] = copy.deepcopy(sub["default"])
            if prop in value:
                value[prop] = apply_defaults(sub, value[prop])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            known = set(schema.get("properties") or {})
            for key in value:
                if key not in known:
                    value[key] = apply_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], v) for v in value]
    return value


def _cel_split(s: celtypes.StringType, sep: celtypes.StringType, limit: Any = None) -> celtypes.ListType:
    parts = str(s).split(str(sep)) if limit is None else str(s).split(str(sep), max(int(limit) - 1, 0))
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


# Kubernetes' CEL environment adds string extension functions (k8s.io/apiserver
# pkg/cel/library, cel-go ext.Strings); these are the ones the shipped CRDs call.
_CEL_FUNCTIONS = {
    "split": _cel_split,
    "lowerAscii": lambda s: celtypes.StringType(str(s).lower()),
    "upperAscii": lambda s: celtypes.StringType(str(s).upper()),
    "trim": lambda s: celtypes.StringType(str(s).strip()),
    "join": lambda items, sep="": celtypes.StringType(str(sep).join(str(i) for i in items)),
}
_CEL = celpy.Environment()


@lru_cache(maxsize=4096)
def _cel_program(rule: str) -> celpy.Runner:
    return _CEL.program(_CEL.compile(rule), functions=_CEL_FUNCTIONS)


def cel_errors(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[str]:
    """Evaluate every x-kubernetes-validations rule that applies to `value` and below."""
    if value is None:
        return
    for rule in schema.get("x-kubernetes-validations") or ():
        text = rule["rule"]
        if re.search(r"\boldSelf\b", text):
            continue  # a transition rule: only evaluated on update
        try:
            ok = _cel_program(text).evaluate({"self": celpy.json_to_cel(value)})
        except Exception as exc:
            yield f"{path or '<root>'}: CEL rule {text!r} could not be evaluated: {exc.__class__.__name__}"
            continue
        if ok is not True and not (isinstance(ok, celtypes.BoolType) and bool(ok)):
            message = rule.get("message") or f"failed rule: {text}"
            yield f"{path or '<root>'}: {message}"
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in value:
                yield from cel_errors(sub, value[key], f"{path}.{key}" if path else key)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                if key not in props:
                    yield from cel_errors(extra, item, f"{path}[{key}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from cel_errors(schema["items"], item, f"{path}[{i}]")


def list_type_errors(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[str]:
    """`x-kubernetes-list-type: map|set`: keys (or items) must be unique."""
    if isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen: set[str] = set()
            for item in value:
                key = json.dumps([item.get(k) for k in keys] if isinstance(item, dict) else item)
                if key in seen:
                    yield f"{path}: duplicate entries with {', '.join(keys)} = {key}"
                seen.add(key)
        elif list_type == "set":
            items = [json.dumps(v, sort_keys=True) for v in value]
            if len(items) != len(set(items)):
                yield f"{path}: duplicate items in a set"
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                yield from list_type_errors(schema["items"], item, f"{path}[{i}]")
    elif isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in value:
                yield from list_type_errors(sub, value[key], f"{path}.{key}" if path else key)


# ---------------------------------------------------------------------------
# The validator
# ---------------------------------------------------------------------------


def _format_error(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "<root>"
    return f"{where}: {error.message}"


class SchemaValidator:
    """Validates objects of one Kubernetes version against built-in and CRD schemas."""

    def __init__(self, kubernetes_version: str, crd_directory: Path | None = None):
        self.builtins = BuiltinSchemas(kubernetes_version)
        self.crds = load_crds(crd_directory or crd_dir())
        self._crd_validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}
        # The answers so far, by the object's content: a test session validates the same
        # objects many times over (every render of a stack repeats most of another's).
        self._answers: dict[str, list[str]] = {}

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        """Every reason the API server would reject `obj` on create; empty when valid.

        Raises SchemaNotFoundError when no schema is known for the object's kind.
        """
        try:
            content = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):  # not JSON-shaped: judged every time
            return self._errors(obj)
        if content not in self._answers:
            self._answers[content] = self._errors(obj)
        return list(self._answers[content])

    def _errors(self, obj: Mapping[str, Any]) -> list[str]:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return ["<root>: apiVersion and kind are required"]
        group, _, version = api_version.rpartition("/")
        crd = self.crds.get((group, version, kind))
        if crd is None and group and "." in group and not group.endswith(".k8s.io"):
            known = sorted({f"{g}/{v}" for (g, v, k) in self.crds if k == kind})
            hint = f" (this CRD serves: {', '.join(known)})" if known else ""
            raise SchemaNotFoundError(f"no CRD schema for {api_version} {kind} in {crd_dir()}{hint}")
        problems = list(self._metadata_errors(obj, crd))
        if crd is None:
            validator = self.builtins.validator(api_version, kind)
            problems += [_format_error(e) for e in validator.iter_errors(dict(obj))]
            return problems
        return problems + self._crd_errors(obj, crd)

    def _crd_errors(self, obj: Mapping[str, Any], crd: CRD) -> list[str]:
        if not crd.served:
            return [f"<root>: {crd.group}/{crd.version} {crd.kind} is not served by this CRD ({crd.source.name})"]
        if crd.deprecated:
            return [f"<root>: {crd.group}/{crd.version} {crd.kind} is deprecated; use the storage version"]
        key = (crd.group, crd.version, crd.kind)
        if key not in self._crd_validators:
            self._crd_validators[key] = jsonschema.Draft4Validator(to_json_schema(crd.schema))
        body = apply_defaults(crd.schema, copy.deepcopy(dict(obj)))
        # metadata is validated as ObjectMeta above; the CRD schema only says "object".
        problems = [_format_error(e) for e in self._crd_validators[key].iter_errors(body)]
        problems += list(list_type_errors(crd.schema, body, ""))
        if not problems:  # CEL runs on structurally valid objects, as in the API server
            problems += list(cel_errors(crd.schema, body, ""))
        for path, definition in EMBEDDED_BUILTINS.get((crd.group, crd.kind), {}).items():
            embedded = _get(body, path)
            if embedded is not None:
                validator = self.builtins.definition_validator(definition)
                problems += [f"{'.'.join(path)}.{_format_error(e)}" for e in validator.iter_errors(embedded)]
        return problems

    def _metadata_errors(self, obj: Mapping[str, Any], crd: CRD | None) -> Iterator[str]:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            yield "metadata: required"
            return
        kind = obj["kind"]
        name = meta.get("name")
        pattern, what = _NAME_RULES.get(kind, (_DNS_SUBDOMAIN, "a DNS-1123 subdomain"))
        if not isinstance(name, str) or not pattern.match(name):
            yield f"metadata.name: {name!r} must be {what} (set an explicit name: Pulumi autonaming adds a suffix)"
        scope = crd.scope if crd else ("Cluster" if kind in CLUSTER_SCOPED_BUILTINS else "Namespaced")
        namespace = meta.get("namespace")
        if scope == "Namespaced" and not (isinstance(namespace, str) and _DNS_LABEL.match(namespace)):
            yield f"metadata.namespace: {namespace!r}: a namespaced {kind} must name a valid namespace"
        if scope == "Cluster" and namespace is not None:
            yield f"metadata.namespace: a cluster-scoped {kind} must not have a namespace"
        for key, value in (meta.get("labels") or {}).items():
            prefix, _, label = key.rpartition("/")
            if (prefix and not _DNS_SUBDOMAIN.match(prefix)) or not _LABEL_NAME.match(label):
                yield f"metadata.labels: invalid label key {key!r}"
            if not isinstance(value, str) or not _LABEL_VALUE.match(value):
                yield f"metadata.labels[{key}]: invalid label value {value!r} (63 chars max, alphanumeric ends)"
        validator = self.builtins.definition_validator("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        for error in validator.iter_errors(meta):
            yield f"metadata.{_format_error(error)}"


def _get(obj: Any, path: Iterable[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj
