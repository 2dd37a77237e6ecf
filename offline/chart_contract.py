"""The values contract of every pinned Helm chart, checked against the values we pass.

Helm silently ignores a values key its chart does not know: a misspelt setting never
takes effect and nothing fails. Each pinned chart's own `Chart.yaml`, `values.yaml` and
`values.schema.json` (where it ships one) are kept, subcharts nested as Helm nests them,
in `$CHART_CONTRACT_DIR` or else `../shared/charts/<chart>-<version>/` (its SOURCE.md
names each upstream tag); `offline/chart_contracts/` holds the contracts that folder
lacks. For one release, `Contract.problems(values)` reports:

- a pinned version with no contract folder, or a folder whose Chart.yaml disagrees;
- every key path we set that is neither in the chart's defaults nor in its schema, unless
  it sits under a map the chart declares free-form (`offline/chart_free_form.py`, each
  with the chart's own words as the reason); a free-form map the chart passes through as
  a Kubernetes type is validated strictly as that type;
- what Helm's own schema check would report on the values merged over the defaults.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from offline.chart_free_form import FREE_FORM, FreeForm
from offline.libyaml import CLoader
from offline.schema import BuiltinSchemas

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = PROJECT_ROOT.parent / "shared" / "charts"
LOCAL_DIR = Path(__file__).resolve().parent / "chart_contracts"

# nginx-ingress' schema refers to the Kubernetes definitions published by nginxinc; the
# same definitions ship with kubernetes-validate (the strict-mode-free `-local` set).
_REMOTE_K8S = re.compile(r"^https://raw\.githubusercontent\.com/nginxinc/kubernetes-json-schema/master/v(\d+\.\d+)")


class ContractMissingError(Exception):
    """No contract folder for a pinned chart version."""


def contract_roots() -> list[Path]:
    return [Path(os.environ.get("CHART_CONTRACT_DIR") or DEFAULT_DIR), LOCAL_DIR]


def chart_name(chart: str) -> str:
    """`oci://quay.io/jetstack/charts/cert-manager` or `cert-manager` -> `cert-manager`."""
    return chart.rstrip("/").rsplit("/", 1)[-1]


def find_contract_dir(name: str, version: str) -> Path:
    folder = f"{name}-{version}"
    for root in contract_roots():
        if (root / folder / "Chart.yaml").is_file():
            return root / folder
    roots = ", ".join(str(r) for r in contract_roots())
    raise ContractMissingError(
        f"chart {name} {version} has no values contract ({folder}/ in none of {roots}): add the chart's Chart.yaml, "
        "values.yaml and values.schema.json at that tag before bumping the pin"
    )


def coalesce(base: Any, over: Any) -> Any:
    """Helm's coalescing of maps: `over` wins, maps merge key by key, None deletes."""
    if not isinstance(base, Mapping) or not isinstance(over, Mapping):
        return copy.deepcopy(over)
    out = dict(copy.deepcopy(base))
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = coalesce(out.get(key), value)
    return out


def _load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=CLoader) if path.is_file() else None


def _defaults(directory: Path) -> dict[str, Any]:
    """The chart's values.yaml with each subchart's defaults under its name, overlaid by
    what the parent's values.yaml sets for it (Helm's order)."""
    values = _load_yaml(directory / "values.yaml") or {}
    sub_root = directory / "charts"
    if sub_root.is_dir():
        for sub in sorted(p for p in sub_root.iterdir() if (p / "Chart.yaml").is_file()):
            name = _load_yaml(sub / "Chart.yaml")["name"]
            values[name] = coalesce(_defaults(sub), values.get(name) or {})
    return values


@cache
def _k8s_definitions(version: str) -> dict[str, Any]:
    folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    names = sorted(
        (tuple(int(p) for p in d.name[1:].split("-")[0].split(".")), d.name)
        for d in folder.iterdir()
        if d.name.endswith("-local")
    )
    want = tuple(int(p) for p in version.split("."))
    usable = [name for key, name in names if key[:2] <= want] or [names[-1][1]]
    return json.loads((folder / usable[-1] / "_definitions.json").read_text())


def _retrieve(uri: str) -> Resource:
    match = _REMOTE_K8S.match(uri)
    if match is None:
        raise NoSuchResource(ref=uri)
    defs = _k8s_definitions(match.group(1))
    # Served under both names: the chart's refs say `#/definitions/...`, the bundled file's
    # own refs say `#/$defs/...`.
    return Resource.from_contents({**defs, "definitions": defs["$defs"]})


@dataclass(frozen=True)
class Contract:
    name: str
    version: str
    directory: Path
    defaults: dict[str, Any]
    schema: dict[str, Any] | None
    free_form: Mapping[str, FreeForm]

    @classmethod
    def load(cls, chart: str, version: str) -> Contract:
        """The contract of one chart version (read once per process: do not change it)."""
        return _load(chart, version, str(contract_roots()[0]))

    @classmethod
    def _read(cls, chart: str, version: str) -> Contract:
        name = chart_name(chart)
        directory = find_contract_dir(name, version)
        meta = _load_yaml(directory / "Chart.yaml") or {}
        if (meta.get("name"), str(meta.get("version"))) != (name, version):
            raise ContractMissingError(
                f"{directory}/Chart.yaml says {meta.get('name')} {meta.get('version')}, not {name} {version}"
            )
        schema_path = directory / "values.schema.json"
        schema = json.loads(schema_path.read_text()) if schema_path.is_file() else None
        return cls(name, version, directory, _defaults(directory), schema, FREE_FORM.get(name, {}))

    # -- the checks --------------------------------------------------------------------

    def problems(self, values: Mapping[str, Any], kubernetes_version: str = "1.34") -> list[str]:
        """Every way `values` breaks this chart's contract; empty when they keep it."""
        out = list(self._key_problems(values, self.defaults, self.schema, (), kubernetes_version))
        out += self._schema_problems(values)
        return [f"{self.name} {self.version}: {p}" for p in out]

    def _schema_problems(self, values: Mapping[str, Any]) -> list[str]:
        if self.schema is None:
            return []
        merged = coalesce(self.defaults, values)
        validator = _validator_class(self.schema)(self.schema, registry=Registry(retrieve=_retrieve))
        return [
            f"values.schema.json: {'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(merged), key=lambda e: list(map(str, e.absolute_path)))
        ]

    def _key_problems(
        self, values: Mapping[str, Any], default: Any, schema: Any, path: tuple[str, ...], k8s_version: str
    ) -> Iterator[str]:
        node = self._resolve(schema)
        kind = _kubernetes_kind(node)
        if kind is not None:  # the schema names the Kubernetes type: checked strictly as one
            yield from _kind_problems(FreeForm("values.schema.json", kind), values, ".".join(path), k8s_version)
            return
        if schema is not None and _open_map(node):  # the schema admits any keys here
            return
        for key, value in values.items():
            here = (*path, str(key))
            dotted = ".".join(here)
            free = self._free_form(here)
            if free is not None:
                yield from _kind_problems(free, value, dotted, k8s_version)
                continue
            sub_schema = self._schema_child(node, str(key))
            in_default = isinstance(default, Mapping) and key in default
            if not in_default and sub_schema is None:
                yield f"{dotted}: the chart has no such value (not in its values.yaml or values.schema.json)"
                continue
            if not isinstance(value, Mapping) or not value:
                continue
            sub_default = default[key] if in_default else None
            if (isinstance(sub_default, Mapping) and sub_default) or sub_schema is not None:
                yield from self._key_problems(value, sub_default, sub_schema, here, k8s_version)
            else:
                yield (
                    f"{dotted}: the chart's default is {sub_default!r} and no schema lists its keys: declare it in "
                    "offline/chart_free_form.py with the chart's reason, or fix the key"
                )

    def _free_form(self, path: tuple[str, ...]) -> FreeForm | None:
        dotted = ".".join(path)  # keys may hold dots themselves (`grafana.ini`)
        for pattern, free in self.free_form.items():
            if re.fullmatch(re.escape(pattern).replace(r"\*", r"[^.]+"), dotted):
                return free
        return None

    # -- JSON Schema navigation (local refs, allOf) ---------------------------------------

    def _resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = self.schema
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node, seen = target, seen + 1
            if seen > 50:
                raise ValueError(f"{self.name}: $ref loop in values.schema.json")
        if isinstance(node, Mapping) and "allOf" in node:
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            for item in node["allOf"]:
                part = self._resolve(item)
                if isinstance(part, Mapping):
                    props = {**merged.get("properties", {}), **part.get("properties", {})}
                    merged = {**part, **merged, **({"properties": props} if props else {})}
            return merged
        return node

    def _schema_child(self, schema: Any, key: str) -> Any:
        node = self._resolve(schema)
        if not isinstance(node, Mapping):
            return None
        props = node.get("properties", {})
        if key in props:
            return props[key]
        for pattern, sub in node.get("patternProperties", {}).items():
            if re.search(pattern, key):
                return sub
        extra = node.get("additionalProperties")
        return extra if isinstance(extra, Mapping) else None


@cache
def _load(chart: str, version: str, _root: str) -> Contract:
    """Contract._read, once per chart version and contract root (`_root` keys the cache on
    $CHART_CONTRACT_DIR, which tests change)."""
    return Contract._read(chart, version)


_DEFINITION_REF = re.compile(r"#/(?:definitions|\$defs)/(io\.k8s\.[A-Za-z0-9.]+)$")


def _kubernetes_kind(node: Any) -> str | None:
    """The Kubernetes type a schema node refers to outside the file, e.g.
    `.../_definitions.json#/definitions/io.k8s.api.core.v1.SecurityContext`."""
    ref = node.get("$ref") if isinstance(node, Mapping) else None
    if not isinstance(ref, str) or ref.startswith("#"):
        return None
    match = _DEFINITION_REF.search(ref)
    return match.group(1) if match else None


def _open_map(node: Any) -> bool:
    """A schema node that admits any keys: an object without listed properties (and not
    closed by additionalProperties: false), or a reference outside the file."""
    if not isinstance(node, Mapping):
        return False
    if isinstance(node.get("$ref"), str):
        return True
    if node.get("properties") or node.get("patternProperties") or node.get("additionalProperties") is False:
        return False
    return node.get("type") in ("object", ["object", "null"]) or isinstance(node.get("additionalProperties"), Mapping)


_DRAFTS = (
    jsonschema.Draft4Validator,
    jsonschema.Draft6Validator,
    jsonschema.Draft7Validator,
    jsonschema.Draft201909Validator,
    jsonschema.Draft202012Validator,
)


def _validator_class(schema: Mapping[str, Any]) -> type[jsonschema.protocols.Validator]:
    """The draft `$schema` names; `http://json-schema.org/schema#` ("the latest") and no
    `$schema` mean the newest draft."""
    wanted = str(schema.get("$schema", "")).rstrip("#")
    for cls in _DRAFTS:
        if str(cls.META_SCHEMA.get("$id", cls.META_SCHEMA.get("id", ""))).rstrip("#") == wanted:
            return cls
    return jsonschema.Draft202012Validator


@cache
def _builtins(k8s_version: str) -> BuiltinSchemas:
    return BuiltinSchemas(k8s_version)


def _kind_problems(free: FreeForm, value: Any, dotted: str, k8s_version: str) -> Iterator[str]:
    if free.keys is not None and isinstance(value, Mapping):
        for key in sorted(set(value) - set(free.keys)):
            yield f"{dotted}.{key}: not one of the keys the chart names ({', '.join(free.keys)}): {free.reason}"
    if free.kind is None:
        return
    definition, many = free.kind.removesuffix("[]"), free.kind.endswith("[]")
    validator = _builtins(k8s_version).definition_validator(definition)
    if isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k not in free.chart_keys}
    items: Sequence[Any] = value if many and isinstance(value, list) else [value]
    for i, item in enumerate(items):
        where = f"{dotted}[{i}]" if many else dotted
        for error in validator.iter_errors(item):
            inner = ".".join(str(p) for p in error.absolute_path)
            yield f"{where}{'.' + inner if inner else ''}: {error.message} (a {definition})"


def release_problems(releases: Sequence[Mapping[str, Any]], kubernetes_version: str) -> list[str]:
    """The contract problems of every release of a stack (`ProgramRun.releases()`)."""
    out: list[str] = []
    for release in releases:
        try:
            contract = Contract.load(release["chart"], release["version"])
        except ContractMissingError as exc:
            out.append(f"release {release['name']}: {exc}")
            continue
        out += [f"release {release['name']}: {p}" for p in contract.problems(release["values"], kubernetes_version)]
    return out
