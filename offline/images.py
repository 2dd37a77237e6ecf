"""`make images [STACK=dev] [REGISTRY=...] [PUSH=1]`: build this project's server images.

    python -m offline.images [--stack dev] [--registry ghcr.io/my-org/mcp] [--push]

Builds every image of components/versions.py SERVER_IMAGES from its context with the
local container engine (`$CONTAINER_ENGINE`, else `docker`, else `podman`), tagged
`<registry>/<repository>:<tag>`: the references the stack's MCPServers pull. The
registry is the stack's `images.registry` unless `--registry` names another (then set
`images.registry` to it, so the stack pulls what was pushed). `--push` pushes each image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.config_types import ImageRegistry
from components.versions import SERVER_IMAGES
from mcpds.cli import PREFIX, UsageParser
from offline.harness import PROJECT_ROOT, StackFileError
from offline.policy_run import stack_config

ENGINES = ("docker", "podman")
INSTALL_HINT = (
    "install Docker (https://docs.docker.com/engine/install/) or Podman (apt-get install podman), "
    "or name an engine with CONTAINER_ENGINE=/path/to/engine"
)


class ImagesError(Exception):
    """Bad input or a missing engine: one line, exit 2."""


@dataclass(frozen=True)
class Build:
    name: str  # catalog server
    context: Path
    ref: str  # <registry>/<repository>:<tag>


def builds(registry: str, root: Path = PROJECT_ROOT) -> list[Build]:
    """One build per server image, tagged as the stack's MCPServers reference it."""
    return [
        Build(name, root / image.context, f"{registry}/{image.repository}:{image.tag}")
        for name, image in sorted(SERVER_IMAGES.items())
    ]


def find_engine(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    named = env.get("CONTAINER_ENGINE")
    if named:
        found = shutil.which(named, path=env.get("PATH"))
        if not found:
            raise ImagesError(f"CONTAINER_ENGINE={named} is not an executable on PATH: {INSTALL_HINT}")
        return found
    for engine in ENGINES:
        found = shutil.which(engine, path=env.get("PATH"))
        if found:
            return found
    raise ImagesError(f"no container engine (docker or podman) on PATH: {INSTALL_HINT}")


def check_engine(engine: str) -> None:
    """The engine answers (`<engine> info`): a Docker client without a running daemon fails here."""
    try:
        done = subprocess.run([engine, "info"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ImagesError(f"{engine} does not run ({exc}): {INSTALL_HINT}") from None
    if done.returncode != 0:
        reason = next((line.strip() for line in done.stderr.splitlines() if line.strip()), f"exit {done.returncode}")
        raise ImagesError(
            f"`{engine} info` failed ({reason}): start the engine's daemon (e.g. systemctl start docker) "
            "or use Podman (CONTAINER_ENGINE=podman)"
        )


def registry_of(stack: str, registry: str | None) -> str:
    if registry is None:
        try:
            return stack_config(stack).images.registry
        except StackFileError as exc:
            raise ImagesError(str(exc)) from None
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(ImageRegistry).validate_python(registry)
    except ValidationError as exc:
        problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ImagesError(f"--registry {registry!r} {problem}") from None


def run(engine: str, todo: Sequence[Build], push: bool) -> int:
    for build in todo:
        for command in ([engine, "build", "-t", build.ref, str(build.context)], [engine, "push", build.ref]):
            if command[1] == "push" and not push:
                continue
            print(f"$ {' '.join(command)}", flush=True)
            code = subprocess.run(command, check=False).returncode
            if code != 0:
                step = " ".join(command[:2])
                print(f"{PREFIX}`{step}` of {build.name} failed (exit {code}): see its output above", file=sys.stderr)
                return 1
    done = "built and pushed" if push else "built"
    print(f"{done} {len(todo)} images: " + ", ".join(b.ref for b in todo))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="python -m offline.images", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", metavar="NAME", help="stack whose images.registry tags the images")
    parser.add_argument(
        "--registry", metavar="REGISTRY", help="tag for this registry instead (e.g. ghcr.io/my-org/mcp)"
    )
    parser.add_argument("--push", action="store_true", help="push each image after building it")
    args = parser.parse_args(argv)
    try:
        registry = registry_of(args.stack, args.registry)
        engine = find_engine()
        check_engine(engine)
    except (ImagesError, pulumi.RunError) as exc:  # RunError: the stack's config is bad (its own message)
        print(f"{PREFIX}{exc}", file=sys.stderr)
        return 2
    code = run(engine, builds(registry), args.push)
    if code == 0 and args.registry:
        stack_registry = stack_config(args.stack).images.registry
        if stack_registry != registry:
            print(
                f"stack {args.stack} pulls from {stack_registry}: set images.registry to {registry} in its stack file"
            )
    return code


if __name__ == "__main__":
    sys.exit(main())
