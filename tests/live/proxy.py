"""The real ToolHive proxy runner (thv-proxyrunner v0.44.0), out of cluster, in front of
a live HTTP server, configured as the operator configures it for an MCPServer.

What the operator does (stacklok/toolhive v0.44.0
cmd/thv-operator/controllers/mcpserver_runconfig.go createRunConfigFromMCPServer): it
writes a runconfig.json (name, image, cmd args, transport with proxy port and MCP port,
proxy mode, host = TOOLHIVE_PROXY_HOST, trustProxyHeaders, endpointPrefix, the
MCPToolConfig's toolsFilter, env) and runs `thv-proxyrunner run <image>`, which reads
it from /etc/runconfig, /etc/toolhive or ./runconfig.json
(cmd/thv-proxyrunner/app/run.go tryLoadConfigFromFile) and populates the middleware
itself when the config lists none (pkg/runner/runner.go Run, PopulateMiddlewareConfigs).

Out of cluster: in the pod the runner deploys the backend StatefulSet and forwards to
`http://mcp-<name>:<mcpPort>` (pkg/runtime/setup.go: MCPServiceName as target host).
Here the backend already runs, so the runconfig also names that same address as its
`remote_url`, the one mode that deploys nothing (runner.go: `RemoteURL == ""` is what
calls runtime.Setup); the transparent proxy then forwards to the same target URI, with
the same Host rewriting and session pinning (transparent_proxy.go). What the remote mode
changes: X-Forwarded-Host is dropped and the backend health check runs only with
TOOLHIVE_REMOTE_HEALTHCHECKS=true (set here). The runtime factory still wants a
runtime at start-up, so TOOLHIVE_RUNTIME=kubernetes with a kubeconfig naming a closed
loopback port (the client is created lazily and never called). `mcp-<name>` resolves
to 127.0.0.1 through a hosts file bind-mounted for the runner alone (a mount namespace
of its own), so the Host header and the resolved address are what they are in a pod:
the Service name, then the address the connection reached.

A stdio MCPServer cannot be run this way: the runner reaches a stdio server only by
deploying it and attaching to its pod (pkg/container/kubernetes/client.go
AttachToWorkload: pods/attach through the API server and a kubelet) or through Docker;
neither exists here.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The chart's TOOLHIVE_PROXY_HOST (operator.proxyHost: 0.0.0.0); the runner serves on it.
PROXY_HOST = "0.0.0.0"
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: default}}]
current-context: none
"""


def proxyrunner_binary() -> Path:
    """thv-proxyrunner from the operator's module and version (e2e/build.py builds it once,
    from the Go module proxy: call this before the network is isolated)."""
    from e2e.build import ensure

    return ensure(["thv-proxyrunner"], report=lambda line: None)["thv-proxyrunner"]


def backend_url(name: str, mcp_port: int) -> str:
    """Where the proxy forwards: the runner-created backend Service (setup.go L159-163)."""
    return f"http://mcp-{name}:{mcp_port}"


def runconfig(mcpserver: dict[str, Any], tools_filter: list[str] | None) -> dict[str, Any]:
    """runconfig.json for an HTTP MCPServer, as the operator's builder fills it."""
    spec = mcpserver["spec"]
    name = mcpserver["metadata"]["name"]
    if spec.get("transport", "stdio") == "stdio":
        raise ValueError(f"{name}: a stdio MCPServer needs a Kubernetes runtime to attach to (see module doc)")
    config: dict[str, Any] = {
        "schema_version": "v0.1.0",
        "name": name,
        "image": spec["image"],
        "transport": spec["transport"],
        "proxy_mode": spec["transport"],  # GetEffectiveProxyMode for a direct transport
        "host": PROXY_HOST,
        "port": spec["proxyPort"],
        "target_port": spec["mcpPort"],
        "trust_proxy_headers": bool(spec.get("trustProxyHeaders")),
        "env_vars": {e["name"]: e["value"] for e in spec.get("env", [])},
        "container_labels": {},
        "remote_url": backend_url(name, spec["mcpPort"]),
    }
    if spec.get("args"):
        config["cmd_args"] = spec["args"]
    if spec.get("endpointPrefix"):
        config["endpoint_prefix"] = spec["endpointPrefix"]
    if tools_filter:
        config["tools_filter"] = tools_filter
    return config


class LoggedProcess:
    """A process started here with its output in a log file: a server or its proxy."""

    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, grace: float = 10) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Proxy(LoggedProcess):
    name: str
    port: int
    proc: subprocess.Popen
    log: Path


def start(binary: Path, config: dict[str, Any], work: Path, backends: list[str]) -> Proxy:
    """Start `thv-proxyrunner run <image>` in `work` (its ./runconfig.json); `backends`:
    the Service names that resolve to loopback for it."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "runconfig.json").write_text(json.dumps(config, indent=2))
    (work / "kubeconfig").write_text(KUBECONFIG)
    hosts = work / "hosts"
    hosts.write_text("127.0.0.1 localhost " + " ".join(backends) + "\n::1 localhost\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        "TOOLHIVE_RUNTIME": "kubernetes",
        "KUBECONFIG": str(work / "kubeconfig"),
        "TOOLHIVE_REMOTE_HEALTHCHECKS": "true",
        "TOOLHIVE_SKIP_UPDATE_CHECK": "true",
        "TOOLHIVE_DEBUG": "true",
    }
    # A private mount namespace: the hosts file is the runner's alone.
    script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
    log = work / "proxy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["unshare", "--mount", "sh", "-c", script, "sh", str(hosts), str(binary), "run", config["image"]],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    return Proxy(config["name"], config["port"], proc, log)
