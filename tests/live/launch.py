"""Start a live recipe's server as its MCPServer would run it.

The command is the image's ENTRYPOINT followed by the MCPServer's `args` (ToolHive keeps
the ENTRYPOINT, `args` replace CMD). The environment is layered as in the pod: the
image's ENV, then the rendered MCPServer's `env`, then what the ToolHive runner injects
(stacklok/toolhive v0.44.0 pkg/runtime/setup.go: MCP_TRANSPORT, and for HTTP transports
MCP_PORT, FASTMCP_PORT and MCP_HOST), then the test's stand-ins for upstream URLs.

Image paths map onto this machine: the final stage's COPY sources (the install cache
for /opt/venv and node_modules, the build context for our own files), /tmp onto the
run's own scratch directory (the pod's emptyDir), the WORKDIR onto the run directory.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.live.install import VENV, ensure_installed
from tests.live.proxy import LoggedProcess
from tests.live.recipes import Recipe

# What the runner injects besides the server's own env (setup.go L59-75). MCP_HOST is
# the RunConfig's target host; the operator leaves it at the proxy-runner default.
TOOLHIVE_TARGET_HOST = "127.0.0.1"
CLONE_NEWNET = 0x40000000


@dataclass
class Launch:
    """How to start one server: argument list, environment, working directory."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    run_dir: Path


@dataclass
class Server(LoggedProcess):
    launch: Launch
    proc: subprocess.Popen
    log: Path


def isolate_network() -> bool:
    """Move this process (and every child it starts from now on) onto a network namespace
    holding only loopback. Root only; returns whether it happened."""
    if os.geteuid() != 0:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    return True


def mcp_container_env(mcpserver: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in mcpserver["spec"].get("env", [])}


def injected_env(mcpserver: dict[str, Any]) -> dict[str, str]:
    spec = mcpserver["spec"]
    if spec.get("transport", "stdio") == "stdio":
        return {"MCP_TRANSPORT": "stdio"}
    port = str(spec["mcpPort"])
    return {
        "MCP_TRANSPORT": spec["transport"],
        "MCP_PORT": port,
        "FASTMCP_PORT": port,
        "MCP_HOST": TOOLHIVE_TARGET_HOST,
    }


class PathMap:
    """Image path -> local path, longest prefix first."""

    def __init__(self, mapping: dict[str, Path]) -> None:
        self.mapping = sorted(((k.rstrip("/") or "/", v) for k, v in mapping.items()), key=lambda kv: -len(kv[0]))

    def __call__(self, value: str) -> str:
        for image_path, local in self.mapping:
            if value == image_path or value.startswith(image_path + "/"):
                return str(local) + value[len(image_path) :]
        return value


def pod_volumes(mcpserver: dict[str, Any], container: str, run_dir: Path) -> dict[str, Path]:
    """Image path -> run directory for each emptyDir `container` mounts in the MCPServer's
    pod, one directory per volume name, so the pod's containers share it as they do in the
    pod. /tmp is the run's own scratch directory (every catalog server's scratch volume)."""
    spec = mcpserver["spec"].get("podTemplateSpec", {}).get("spec", {})
    empty = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    [found] = [c for c in spec.get("containers", []) if c["name"] == container] or [{}]
    out = {}
    for mount in found.get("volumeMounts", []):
        if mount["name"] in empty and mount["mountPath"] != "/tmp":
            local = run_dir / "volumes" / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            out[mount["mountPath"]] = local
    return out


def _prepare(recipe: Recipe, install: Path, run_dir: Path, volumes: dict[str, Path] | None = None) -> PathMap:
    """Lay out the run directory like the final stage's filesystem; returns the map."""
    scratch = run_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = recipe.workdir
    mapping: dict[str, Path] = {"/tmp": scratch, **(volumes or {})}
    if workdir != "/tmp":
        mapping[workdir] = run_dir / "app"
        (run_dir / "app").mkdir()
    for copy in recipe.copies(recipe.final):
        dest = copy.dest if copy.dest.startswith("/") else os.path.join(workdir, copy.dest)
        if copy.from_stage is not None:
            if copy.source == VENV:
                mapping[dest] = install / "venv"
                continue
            # npm: node_modules of the build stage's WORKDIR, installed under app/
            source = install / "app" / os.path.relpath(copy.source, recipe.build_workdir)
            Path(PathMap(mapping)(dest.rstrip("/"))).symlink_to(source)
            continue
        source = recipe.context / copy.source
        if dest.endswith("/"):
            dest = os.path.join(dest, Path(copy.source).name)
        local = Path(PathMap(mapping)(os.path.normpath(dest)))
        if local == Path(os.path.normpath(dest)):
            mapping[os.path.normpath(dest)] = source  # our own file at an image path
        elif source.is_dir():
            shutil.copytree(source, local)
        else:
            shutil.copy(source, local)
    return PathMap(mapping)


def prepare(
    recipe: Recipe, mcpserver: dict[str, Any], run_dir: Path, overrides: dict[str, str] | None = None
) -> Launch:
    """The command, environment and working directory of the server, its files laid out."""
    install, _ = ensure_installed(recipe)
    paths = _prepare(recipe, install, run_dir, pod_volumes(mcpserver, "mcp", run_dir))
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    for name, value in recipe.env.items():
        env[name] = ":".join(paths(part) for part in value.replace("${PATH}", os.environ["PATH"]).split(":"))
    for layer in (mcp_container_env(mcpserver), injected_env(mcpserver), overrides or {}):
        env.update({name: paths(value) for name, value in layer.items()})
    args = mcpserver["spec"].get("args") or recipe.cmd
    command = [paths(word) for word in [*recipe.entrypoint, *args]]
    executable = command[0] if "/" in command[0] else shutil.which(command[0], path=env["PATH"])
    if executable is None:
        raise RuntimeError(f"{recipe.server}: {command[0]} is not on the image's PATH {env['PATH']}")
    return Launch(recipe.server, [executable, *command[1:]], env, Path(paths(recipe.workdir)), run_dir)


def prepare_container(recipe: Recipe, mcpserver: dict[str, Any], container: str, run_dir: Path) -> Launch:
    """Another container of the MCPServer's pod (the outputs sidecar) that runs `recipe`'s
    image: its command (or the ENTRYPOINT) and args, the image's ENV then its own env,
    its volumes shared with the `mcp` container's run in the same `run_dir`."""
    install, _ = ensure_installed(recipe)
    [spec] = [c for c in mcpserver["spec"]["podTemplateSpec"]["spec"]["containers"] if c["name"] == container]
    workdir = run_dir / container
    workdir.mkdir(parents=True, exist_ok=True)
    paths = _prepare(recipe, install, workdir, pod_volumes(mcpserver, container, run_dir))
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    for name, value in recipe.env.items():
        env[name] = ":".join(paths(part) for part in value.replace("${PATH}", os.environ["PATH"]).split(":"))
    env.update({item["name"]: paths(item["value"]) for item in spec.get("env", [])})
    command = [paths(word) for word in [*(spec.get("command") or recipe.entrypoint), *spec.get("args", [])]]
    return Launch(f"{recipe.server}/{container}", command, env, Path(paths(recipe.workdir)), workdir)


def start(launch: Launch) -> Server:
    """Start an HTTP server in the background, its output in <run dir>/server.log."""
    log = launch.run_dir / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            launch.argv, cwd=launch.cwd, env=launch.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    return Server(launch, proc, log)
