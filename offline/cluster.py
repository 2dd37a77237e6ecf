"""The live objects an offline run finds when the program reads from the cluster.

With bring-your-own controllers the program reads what it relies on (components/existing.py):
APIServices, an IngressClass or GatewayClass, a collector Service. Under the mocks those
reads are answered here, as a cluster that has what the configuration says it has:

- an APIService `<version>.<group>` exists, Available, exactly when a CRD of the schema
  folder (../shared/crds, `$CRD_SCHEMA_DIR`) serves that group and version, or the run
  lists it in `extra_apis` (an aggregated API such as a DNS-01 solver webhook's): so the
  API versions the stack writes are checked against the real CRDs offline too;
- an IngressClass belongs to F5 NGINX Ingress Controller, a GatewayClass to NGINX Gateway
  Fabric, a Service takes OTLP/HTTP on 4318 (what an existing controller provides);
- `absent` names objects that are not there, `objects` replaces an object's state: a test
  states the cluster it needs, and a missing object fails the read as the engine does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.existing import NGF_CONTROLLER, NIC_CONTROLLER
from components.monitoring import OTLP_HTTP_PORT


class ReadError(LookupError):
    """A read of an object the cluster does not have (the engine's own words)."""


@dataclass(frozen=True)
class MockCluster:
    absent: frozenset[tuple[str, str]] = frozenset()  # (kind, id)
    objects: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    extra_apis: frozenset[str] = frozenset()  # group/version served besides the CRDs'
    crd_folder: Path | None = None  # default: offline.schema.crd_dir()

    def read(self, type_token: str, object_id: str) -> dict[str, Any]:
        """The state of the object `object_id` of `type_token` (kubernetes:<api>:<Kind>)."""
        kind = type_token.rsplit(":", 1)[-1]
        key = (kind, object_id)
        if key in self.absent:
            raise ReadError(f"resource '{object_id}' does not exist")
        if key in self.objects:
            return dict(self.objects[key])
        state = self._default(kind, object_id)
        if state is None:
            raise ReadError(f"resource '{object_id}' does not exist")
        return state

    def _default(self, kind: str, object_id: str) -> dict[str, Any] | None:
        namespace, _, name = object_id.rpartition("/")
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        if kind == "APIService":
            version, _, group = name.partition(".")
            if f"{group}/{version}" not in self.served_apis():
                return None
            return {
                "metadata": meta,
                "spec": {"group": group, "version": version},
                "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]},
            }
        if kind == "IngressClass":
            return {"metadata": meta, "spec": {"controller": NIC_CONTROLLER}}
        if kind == "GatewayClass":
            return {"metadata": meta, "spec": {"controllerName": NGF_CONTROLLER}}
        if kind == "Service":
            return {"metadata": meta, "spec": {"ports": [{"name": "otlp-http", "port": OTLP_HTTP_PORT}]}}
        return None

    def served_apis(self) -> frozenset[str]:
        return _crd_apis(self.crd_folder) | self.extra_apis


@functools.cache
def _crd_apis(folder: Path | None) -> frozenset[str]:
    """group/version of every served version of every CRD in the schema folder."""
    from offline.schema import crd_dir, load_crds

    return frozenset(f"{c.group}/{c.version}" for c in load_crds(folder or crd_dir()).values() if c.served)
