"""A Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

    with control_plane(binaries, folder) as cp:
        cp.admin.apply(...)            # e2e.kube.Kube as system:masters
        cp.admin_kubeconfig            # for any client (Pulumi, controllers)

The API server runs RBAC and its default admission plugins (PodSecurity among them) plus
NodeRestriction, with a CA, serving certificate, client certificates and the
service-account signing key made for this run; every port is a free loopback port; every
file (etcd data, certificates, kubeconfigs, logs) is in `folder`. The controller manager
turns Deployments and StatefulSets into ReplicaSets and Pods (no scheduler or kubelet:
Pods stay Pending), and mints service-account tokens. Leaving the block stops every
process, also on errors.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from e2e import pki
from e2e.kube import Kube
from e2e.processes import Supervisor, free_port

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
START_TIMEOUT = 180.0  # an upper bound: a loaded two-core machine needs most of it at worst


@dataclass
class ControlPlane:
    folder: Path
    server: str
    ca: Path
    admin: Kube
    admin_kubeconfig: Path
    supervisor: Supervisor
    timings: dict[str, float]

    def kubeconfig(self, name: str, *, token: str | None = None, cert: pki.KeyPair | None = None) -> Path:
        path = self.folder / "kubeconfigs" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        write_kubeconfig(path, self.server, self.ca, token=token, cert=cert)
        return path

    def service_account_kubeconfig(self, namespace: str, name: str) -> Path:
        """A kubeconfig that acts as the ServiceAccount (a TokenRequest token, 24 h)."""
        token = self.admin.service_account_token(namespace, name, seconds=86400)
        return self.kubeconfig(f"sa-{namespace}-{name}", token=token)


def write_kubeconfig(
    path: Path, server: str, ca: Path, *, token: str | None = None, cert: pki.KeyPair | None = None
) -> None:
    user: dict[str, str] = {}
    if token:
        user["token"] = token
    if cert:
        user |= {"client-certificate": str(cert.cert), "client-key": str(cert.key)}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "e2e", "user": user}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "e2e"}}],
        "current-context": "e2e",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def _etcd_args(binary: Path, folder: Path, client: int, peer: int) -> list[str]:
    return [
        str(binary),
        "--name=e2e",
        f"--data-dir={folder / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
        "--unsafe-no-fsync",  # a throw-away store: no fsync per write
        "--log-level=warn",
    ]


def _apiserver_args(
    binary: Path, folder: Path, *, etcd: int, port: int, ca: Path, serving: pki.KeyPair, sa: pki.KeyPair
) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{etcd}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        # the `kubernetes` Service cannot have loopback endpoints (validation refuses them);
        # nothing here reaches the API server through it, so it gets none (as in envtest)
        "--endpoint-reconciler-type=none",
        f"--secure-port={port}",
        f"--cert-dir={folder / 'apiserver'}",
        f"--tls-cert-file={serving.cert}",
        f"--tls-private-key-file={serving.key}",
        f"--client-ca-file={ca}",
        "--authorization-mode=Node,RBAC",
        # added to the default plugins (NamespaceLifecycle, LimitRanger, ServiceAccount,
        # PodSecurity, ..., ValidatingAdmissionPolicy, ResourceQuota), which stay on
        "--enable-admission-plugins=NodeRestriction",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={sa.cert}",
        f"--service-account-signing-key-file={sa.key}",
        f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--profiling=false",
    ]


def _controller_manager_args(binary: Path, kubeconfig: Path, ca: Path, sa: pki.KeyPair) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--secure-port=0",
        "--leader-elect=false",
        # every controller acts as its own ServiceAccount, as in a real cluster
        "--use-service-account-credentials",
        f"--service-account-private-key-file={sa.key}",
        f"--root-ca-file={ca}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--profiling=false",
    ]


@contextlib.contextmanager
def control_plane(binaries: Mapping[str, Path], folder: Path) -> Iterator[ControlPlane]:
    folder.mkdir(parents=True, exist_ok=True)
    certs = folder / "pki"
    certs.mkdir(exist_ok=True)
    authority = pki.Authority(certs)
    serving = authority.issue(
        "apiserver",
        "kube-apiserver",
        hosts=(
            "127.0.0.1",
            "localhost",
            "10.96.0.1",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ),
        server=True,
    )
    admin_cert = authority.issue("admin", "e2e-admin", organization="system:masters")
    kcm_cert = authority.issue("kube-controller-manager", "system:kube-controller-manager")
    sa_key = pki.signing_key(certs, "service-account")

    supervisor = Supervisor(folder)
    timings: dict[str, float] = {}
    try:
        started = time.monotonic()
        etcd_port, peer_port = free_port(), free_port()
        etcd = supervisor.start("etcd", _etcd_args(binaries["etcd"], folder, etcd_port, peer_port))
        supervisor.wait_until(etcd, lambda: _tcp_open(etcd_port), "client port", START_TIMEOUT)

        port = free_port()
        server = f"https://127.0.0.1:{port}"
        admin = Kube(server, authority.cert_path, cert=(admin_cert.cert, admin_cert.key))
        apiserver = supervisor.start(
            "kube-apiserver",
            _apiserver_args(
                binaries["kube-apiserver"],
                folder,
                etcd=etcd_port,
                port=port,
                ca=authority.cert_path,
                serving=serving,
                sa=sa_key,
            ),
        )
        supervisor.wait_until(
            apiserver, lambda: admin.request("GET", "/readyz").status == 200, "/readyz", START_TIMEOUT
        )
        timings["api server ready"] = time.monotonic() - started

        kcm_kubeconfig = folder / "kubeconfigs" / "kube-controller-manager.yaml"
        kcm_kubeconfig.parent.mkdir(exist_ok=True)
        write_kubeconfig(kcm_kubeconfig, server, authority.cert_path, cert=kcm_cert)
        kcm = supervisor.start(
            "kube-controller-manager",
            _controller_manager_args(binaries["kube-controller-manager"], kcm_kubeconfig, authority.cert_path, sa_key),
        )
        # the service-account controller gives every namespace its `default` account
        supervisor.wait_until(
            kcm,
            lambda: admin.get_or_none("v1", "ServiceAccount", "default", "default") is not None,
            "ServiceAccount default/default",
            START_TIMEOUT,
        )
        timings["controller manager ready"] = time.monotonic() - started

        plane = ControlPlane(
            folder=folder,
            server=server,
            ca=authority.cert_path,
            admin=admin,
            admin_kubeconfig=folder / "kubeconfigs" / "admin.yaml",
            supervisor=supervisor,
            timings=timings,
        )
        write_kubeconfig(plane.admin_kubeconfig, server, authority.cert_path, cert=admin_cert)
        yield plane
    finally:
        supervisor.stop_all()


def _tcp_open(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
