"""A small Kubernetes REST client for the e2e run (standard library only).

It does what the checks need and nothing else: discovery, server-side apply that hands
back the API server's `Warning` headers, get/list, TokenRequest and
SubjectAccessReview (the check `kubectl auth can-i --as=...` makes).
"""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELD_MANAGER = "mcp-datascience-e2e"
RETRY_SECONDS = 30.0  # how long a request is retried while the server answers 429
# RFC 7234 warning: `299 - "text"` (k8s.io/apiserver/pkg/endpoints/warning)
_WARNING = re.compile(r'^\d{3} \S+ "(?P<text>(?:[^"\\]|\\.)*)"')


class ApiError(Exception):
    """The API server refused a request; `message` is its own Status message."""

    def __init__(self, status: int, reason: str, message: str, what: str):
        super().__init__(f"{what}: HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Resource:
    group_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


@dataclass
class Response:
    status: int
    body: Any
    warnings: list[str] = field(default_factory=list)


def parse_warnings(headers: list[str]) -> list[str]:
    out = []
    for header in headers:
        match = _WARNING.match(header)
        out.append(match["text"].replace('\\"', '"') if match else header)
    return out


class Kube:
    """One identity (client certificate or bearer token) against one API server."""

    def __init__(
        self,
        server: str,
        ca: Path,
        *,
        cert: tuple[Path, Path] | None = None,
        token: str | None = None,
        timeout: float = 30.0,
    ):
        self.server = server.rstrip("/")
        self.ca = ca
        self.cert = cert
        self.token = token
        self.timeout = timeout
        context = ssl.create_default_context(cafile=str(ca))
        if cert:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        self._resources: dict[tuple[str, str], Resource] = {}

    def with_token(self, token: str) -> Kube:
        return Kube(self.server, self.ca, token=token, timeout=self.timeout)

    # -- transport ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: Mapping[str, str] | None = None,
        what: str | None = None,
    ) -> Response:
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return self._request_once(method, path, body, content_type=content_type, query=query, what=what)
            except ApiError as err:
                # 429: the server asks to come back (e.g. a new CRD's storage is initialising).
                if err.status != 429 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _request_once(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        content_type: str,
        query: Mapping[str, str] | None,
        what: str | None,
    ) -> Response:
        url = self.server + path + (("?" + urllib.parse.urlencode(query)) if query else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
                warnings = parse_warnings(resp.headers.get_all("Warning") or [])
                is_json = resp.headers.get_content_type() == "application/json"
                body = json.loads(raw) if raw and is_json else raw.decode(errors="replace")
                return Response(resp.status, body, warnings)
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                status = json.loads(raw)
            except ValueError:
                status = {"message": raw.decode(errors="replace").strip()}
            raise ApiError(
                err.code, status.get("reason", ""), status.get("message", ""), what or f"{method} {path}"
            ) from None

    # -- discovery ---------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        key = (api_version, kind)
        if key not in self._resources:
            self._discover(api_version)
        if key not in self._resources:
            raise ApiError(404, "NotFound", f"the server serves no {kind} in {api_version}", f"discovery {api_version}")
        return self._resources[key]

    def _discover(self, api_version: str) -> None:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            found = self.request("GET", path).body
        except ApiError as err:
            if err.status == 404:
                return
            raise
        for item in found.get("resources", []):
            if "/" in item["name"]:
                continue  # subresources
            self._resources[(api_version, item["kind"])] = Resource(
                api_version, item["kind"], item["name"], item["namespaced"]
            )

    def forget_discovery(self) -> None:
        self._resources.clear()

    def listable(self) -> list[Resource]:
        """Every resource type the server serves that can be listed (preferred versions)."""
        versions = ["v1"]
        for group in self.request("GET", "/apis").body.get("groups", []):
            versions.append(group["preferredVersion"]["groupVersion"])
        out = []
        for api_version in versions:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for item in self.request("GET", path).body.get("resources", []):
                if "/" not in item["name"] and "list" in item.get("verbs", []):
                    out.append(Resource(api_version, item["kind"], item["name"], item["namespaced"]))
        return out

    def all_objects(self, skip_kinds: frozenset[str] = frozenset()) -> set[tuple[str, str, str, str]]:
        """(apiVersion, kind, namespace, name) of every object in the cluster."""
        out = set()
        for res in self.listable():
            if res.kind in skip_kinds:
                continue
            for item in self.request("GET", res.path()).body.get("items", []):
                meta = item["metadata"]
                out.add((res.group_version, res.kind, meta.get("namespace", ""), meta["name"]))
        return out

    # -- objects -----------------------------------------------------------------------

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool = False, manager: str = FIELD_MANAGER) -> Response:
        """Server-side apply (`kubectl apply --server-side --force-conflicts`)."""
        meta = obj["metadata"]
        res = self.resource(obj["apiVersion"], obj["kind"])
        query = {"fieldManager": manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request(
            "PATCH",
            res.path(meta.get("namespace"), meta["name"]),
            obj,
            content_type="application/apply-patch+yaml",
            query=query,
            what=describe(obj),
        )

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        res = self.resource(api_version, kind)
        return self.request("GET", res.path(namespace, name)).body

    def get_or_none(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, *, selector: str | None = None
    ) -> list[dict[str, Any]]:
        res = self.resource(api_version, kind)
        query = {"labelSelector": selector} if selector else None
        return self.request("GET", res.path(namespace), query=query).body["items"]

    def create(self, obj: Mapping[str, Any]) -> Response:
        res = self.resource(obj["apiVersion"], obj["kind"])
        return self.request("POST", res.path(obj["metadata"].get("namespace")), obj, what=describe(obj))

    # -- identities --------------------------------------------------------------------

    def service_account_token(self, namespace: str, name: str, seconds: int = 3600) -> str:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        return self.request("POST", path, body).body["status"]["token"]

    def can_i(
        self,
        user: str,
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
        subresource: str = "",
        groups: tuple[str, ...] = (),
    ) -> bool:
        """SubjectAccessReview: what `kubectl auth can-i VERB RESOURCE --as=USER [-n NS]` answers."""
        attributes = {"verb": verb, "resource": resource, "group": group, "subresource": subresource}
        if namespace:
            attributes["namespace"] = namespace
        if user.startswith("system:serviceaccount:") and not groups:
            sa_namespace = user.split(":")[2]
            groups = ("system:serviceaccounts", f"system:serviceaccounts:{sa_namespace}", "system:authenticated")
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": list(groups), "resourceAttributes": attributes},
        }
        return bool(
            self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
            .body["status"]
            .get("allowed")
        )


def describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"
