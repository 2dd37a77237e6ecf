"""A deployment on loopback: MCP servers behind Debian's nginx, routed like the edge.

nginx is configured from a route table (public prefix -> upstream port) the way the
edge publishes MCP routes: the prefix is stripped (`/penrose/mcp` reaches the server as
`/mcp`), HTTP/1.1 to the upstream, response and request buffering off, read and send
timeouts of the edge's default `edge.stream_timeout_seconds`. It runs as an unprivileged process (uid 65534 when the tests run as
root) on a free port, with every path under its own prefix directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from components.config import EdgeConfig
from offline.harness import PROJECT_ROOT

PENROSE_DIR = PROJECT_ROOT / "servers" / "penrose-mcp"
# The edge's read/send timeout for streams, as the config model defaults it.
STREAM_TIMEOUT = EdgeConfig.model_fields["stream_timeout_seconds"].default
NOBODY = 65534


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How long a server may take to start listening (or Penrose to pass its self-test). Only
# an upper bound: the wait returns as soon as it is up; generous because `make test` runs
# two pytest workers beside it on a two-core machine.
START_TIMEOUT = 60.0


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nginx_binary() -> str:
    """Debian's nginx; its absence is an error (CI installs it in .ci/run), never a skip."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        raise RuntimeError("nginx is not installed: `apt-get install -y nginx` (.ci/run does this in CI)")
    return found


def nginx_config(prefix: Path, port: int, routes: dict[str, int], tls: tuple[int, Path, Path] | None = None) -> str:
    """nginx.conf for `routes` (public path prefix -> upstream port on loopback)."""
    locations = []
    for path, upstream in sorted(routes.items()):
        locations.append(
            f"""
        location {path}/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_cache off;
            proxy_read_timeout {STREAM_TIMEOUT}s;
            proxy_send_timeout {STREAM_TIMEOUT}s;
        }}"""
        )
    listen = f"listen 127.0.0.1:{port};"
    if tls is not None:
        tls_port, cert, key = tls
        listen += f"\n        listen 127.0.0.1:{tls_port} ssl;\n        ssl_certificate {cert};\n"
        listen += f"        ssl_certificate_key {key};"
    return f"""worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        {listen}
        {"".join(locations)}
        location / {{ return 404; }}
    }}
}}
"""


@dataclass
class Nginx:
    port: int
    prefix: Path
    proc: subprocess.Popen

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_nginx(
    routes: dict[str, int], port: int, tls_cert: tuple[Path, Path] | None = None
) -> tuple[Nginx, int | None]:
    binary = nginx_binary()
    prefix = Path(tempfile.mkdtemp(prefix="mcpds-nginx-"))
    prefix.chmod(0o755)
    tls = None
    if tls_cert is not None:
        # Copied into the prefix: the unprivileged nginx cannot read pytest's 0700 tmp dirs.
        copies = (prefix / "cert.pem", prefix / "key.pem")
        for src, dst in zip(tls_cert, copies, strict=True):
            shutil.copyfile(src, dst)
        tls = (free_port(), *copies)
    (prefix / "nginx.conf").write_text(nginx_config(prefix, port, routes, tls))
    preexec = None
    if os.geteuid() == 0:
        # Unprivileged: the whole nginx (master and worker) runs as nobody.
        for path in [prefix, *prefix.iterdir()]:
            os.chown(path, NOBODY, NOBODY)

        def preexec() -> None:
            os.setgid(NOBODY)
            os.setgroups([])
            os.setuid(NOBODY)

    proc = subprocess.Popen(
        [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,  # noqa: PLW1509 (tests only, no threads yet)
    )
    try:
        wait_port(port, proc)
    except RuntimeError as exc:
        log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
        stderr = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
        raise RuntimeError(f"nginx did not start: {exc}\n{stderr}\n{log}") from None
    return Nginx(port, prefix, proc), (tls[0] if tls else None)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def start_demo(
    port: int,
    mode: str,
    tools: list[str],
    *,
    token: str | None = None,
    delay: float = 0.0,
    request_log: Path | None = None,
    host_log: Path | None = None,
    wait: bool = True,
) -> subprocess.Popen:
    """A demo MCP server (tests/loopback/demo_server.py); `token`: required bearer token.
    `wait=False` returns at once (start several, then `wait_port` each)."""
    cmd = [sys.executable, "-m", "tests.loopback.demo_server", "--port", str(port), "--mode", mode]
    cmd += ["--tools", ",".join(tools), "--delay", str(delay)]
    env = dict(os.environ)
    if token:
        env["DEMO_EXPECTED_TOKEN"] = token
        cmd += ["--token-env", "DEMO_EXPECTED_TOKEN"]
    if request_log:
        cmd += ["--request-log", str(request_log)]
    if host_log:
        cmd += ["--host-log", str(host_log)]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if wait:
        wait_port(port, proc)
    return proc


OUTPUTS_SERVER = PROJECT_ROOT / "images" / "mcp-server-ds" / "outputs_server.py"


def start_outputs(directory: Path, port: int, extensions: str = "png,svg", wait: bool = True) -> subprocess.Popen:
    """The outputs sidecar's server (images/mcp-server-ds/outputs_server.py) for `directory`."""
    env = {
        "PATH": os.environ["PATH"],
        "OUTPUTS_DIR": str(directory),
        "OUTPUTS_PORT": str(port),
        "OUTPUTS_EXTENSIONS": extensions,
        "OUTPUTS_MAX_AGE_SECONDS": "3600",
        "OUTPUTS_MAX_BYTES": str(64 * 2**20),
    }
    proc = subprocess.Popen(
        [sys.executable, "-I", str(OUTPUTS_SERVER)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if wait:
        wait_port(port, proc)
    return proc


def start_penrose(public_base_url: str, port: int, wait: bool = True) -> subprocess.Popen:
    """The project's Penrose server (node) on `port`; waits for its /health self-test
    unless `wait=False` (then call `wait_penrose`)."""
    if not (PENROSE_DIR / "node_modules").is_dir():
        raise RuntimeError(f"{PENROSE_DIR}/node_modules is missing: run `make test` (it runs npm ci there first)")
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": public_base_url,
        "RENDER_CONCURRENCY": "1",
        "LOG_LEVEL": "info",
    }
    proc = subprocess.Popen(
        ["node", "src/main.js"], cwd=PENROSE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if wait:
        wait_penrose(proc, port)
    return proc


def wait_penrose(proc: subprocess.Popen, port: int) -> None:
    wait_port(port, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"penrose-mcp exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("penrose-mcp /health did not turn 200 in 30 s")


@dataclass
class Loopback:
    nginx: Nginx
    tls_port: int | None
    cert: Path | None
    outputs: dict
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    request_logs: dict[str, Path] = field(default_factory=dict)

    def close(self) -> None:
        for proc in [*self.processes.values(), self.nginx.proc]:
            stop(proc)
        shutil.rmtree(self.nginx.prefix, ignore_errors=True)
