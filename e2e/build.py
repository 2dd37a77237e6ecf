"""Build the e2e programs from Go modules, cached by version: `python -m e2e.build [name ...]`.

Each entry of PROGRAMS names a main package, the wrapper module under `e2e/go/` that pins
it (go.mod/go.sum, and a main of our own only where upstream's cannot be built) and the
`components.versions` pin it carries. A binary lands in
`<cache>/<name>/<version>-<key>/<name>`, where the key hashes everything that changes the
output (Go version, the wrapper's files, package, flags); a second run finds it and builds
nothing. The cache is `.cache/e2e` in the repository (git-ignored), or `$E2E_CACHE`.

Adding a program (a Pulumi plugin, say) is one GoProgram entry and, if new, its wrapper.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from components import versions
from components.versions import GoModulePin

ROOT = Path(__file__).resolve().parent.parent
WRAPPERS = ROOT / "e2e" / "go"


class BuildError(Exception):
    """A build that cannot run or failed; the message is one line for the user."""


@dataclass(frozen=True)
class GoProgram:
    """One binary built from a Go main package."""

    name: str  # the binary's file name and its name on the command line
    wrapper: str  # directory under e2e/go holding the wrapper module
    package: str  # import path of the main package, or ./<dir> inside the wrapper
    pin: GoModulePin  # the upstream module (and version) the binary is built from
    # -ldflags words; "{version}" becomes pin.version (release builds' version stamps)
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    cgo: bool = False
    # files of the pinned module's source tree (paths relative to its root) that must sit
    # beside the binary (a plugin's companion script, say); copied with their mode
    companions: tuple[str, ...] = ()
    # files of the pinned module's source tree that our own main (package ./<dir>) embeds:
    # the build copies them beside it, in a copy of the wrapper, never into the repository
    sources: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return self.pin.version

    @property
    def wrapper_dir(self) -> Path:
        return WRAPPERS / self.wrapper

    def build_flags(self) -> list[str]:
        flags = ["-trimpath", "-mod=readonly", "-buildvcs=false"]
        if self.tags:
            flags.append("-tags=" + ",".join(self.tags))
        if self.ldflags:
            flags.append("-ldflags=" + " ".join(f.format(version=self.version) for f in self.ldflags))
        return flags


def _k8s_version_flags(pin: GoModulePin) -> tuple[str, ...]:
    """What kube-apiserver reports at /version (hack/lib/version.sh sets the same vars)."""
    major, minor = pin.version.removeprefix("v").split(".")[:2]
    out = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        out += [
            f"-X {package}.gitVersion={{version}}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return tuple(out)


# toolhive .goreleaser.yaml ldflags at v0.44.0
_TOOLHIVE_FLAGS = (
    "-s",
    "-w",
    "-X github.com/stacklok/toolhive/pkg/versions.Version={version}",
    "-X github.com/stacklok/toolhive/pkg/versions.BuildType=release",
)

_KUBERNETES_VERSION_VAR = "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version"
_PULUMI_FLAGS = ("-s", "-w", f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v{versions.PULUMI.release}")

PROGRAMS: tuple[GoProgram, ...] = (
    GoProgram("etcd", "etcd", "go.etcd.io/etcd/server/v3", versions.ETCD, ldflags=("-s", "-w")),
    GoProgram(
        "kube-apiserver",
        "kubernetes",
        "k8s.io/kubernetes/cmd/kube-apiserver",
        versions.KUBERNETES,
        ldflags=_k8s_version_flags(versions.KUBERNETES),
    ),
    GoProgram(
        "kube-controller-manager",
        "kubernetes",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        versions.KUBERNETES,
        ldflags=_k8s_version_flags(versions.KUBERNETES),
    ),
    GoProgram(
        "thv-operator",
        "toolhive",
        "github.com/stacklok/toolhive/cmd/thv-operator",
        versions.TOOLHIVE,
        ldflags=_TOOLHIVE_FLAGS,
    ),
    GoProgram(
        "thv-proxyrunner",
        "toolhive",
        "github.com/stacklok/toolhive/cmd/thv-proxyrunner",
        versions.TOOLHIVE,
        ldflags=_TOOLHIVE_FLAGS,
    ),
    # Makefile GO_LD_FLAGS at v0.36.6; the image's binary is `controller`
    GoProgram(
        "sealed-secrets-controller",
        "sealed-secrets",
        "github.com/bitnami-labs/sealed-secrets/cmd/controller",
        versions.SEALED_SECRETS_CONTROLLER,
        ldflags=("-s", "-w", "-X main.VERSION={version}"),
    ),
    # The Pulumi engine (components/versions.py ENGINE). pulumi/pulumi .goreleaser.yml
    # builds the CLI with tags osusergo,grpcnotrace and stamps the version below.
    GoProgram(
        "pulumi",
        "pulumi",
        "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
        versions.PULUMI.go,
        ldflags=_PULUMI_FLAGS,
        tags=("osusergo", "grpcnotrace"),
    ),
    # Our language host; the exec shim of the same sdk/v3 module sits beside it.
    GoProgram(
        "pulumi-language-python",
        "pulumi-language-python",
        "./",
        versions.PULUMI_SDK,
        ldflags=_PULUMI_FLAGS,
        companions=("python/cmd/pulumi-language-python-exec",),
    ),
    # Our main serving the provider with its commit's schema (pulumi-kubernetes Makefile
    # stamps the release into pkg/version).
    GoProgram(
        "pulumi-resource-kubernetes",
        "pulumi-kubernetes",
        "./",
        versions.PULUMI_KUBERNETES.go,
        ldflags=("-s", "-w", "-X " + _KUBERNETES_VERSION_VAR + "=" + versions.PULUMI_KUBERNETES.release),
        sources=(
            "cmd/pulumi-resource-kubernetes/schema.json",
            "cmd/pulumi-resource-kubernetes/terraform-mapping.json",
        ),
    ),
    GoProgram(
        "pulumi-resource-random",
        "pulumi-random",
        "./",
        versions.PULUMI_RANDOM.go,
        ldflags=("-s", "-w", f"-X main.version={versions.PULUMI_RANDOM.release}"),
    ),
)

BY_NAME = {p.name: p for p in PROGRAMS}


def cache_root() -> Path:
    return Path(os.environ.get("E2E_CACHE") or ROOT / ".cache" / "e2e")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never fetch a Go toolchain behind the user's back; `export GOTOOLCHAIN=goX` opts in.
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("go is not on PATH: install Go 1.26 or newer (docs/verification.md, make e2e)")
    return go


def go_version() -> str:
    out = subprocess.run(
        [_go(), "env", "GOVERSION", "GOOS", "GOARCH"], capture_output=True, text=True, env=_go_env(), check=False
    )
    if out.returncode != 0:
        raise BuildError(f"`go env` failed: {out.stderr.strip().splitlines()[-1:]}")
    return " ".join(out.stdout.split())


def cache_key(program: GoProgram, go: str) -> str:
    """Hash of everything that changes the binary: Go, the wrapper's files, package, flags."""
    digest = hashlib.sha256()
    parts = (go, program.package, program.version, str(program.cgo), *program.build_flags())
    for part in (*parts, *program.companions, *program.sources):
        digest.update(part.encode() + b"\0")
    for path in sorted(p for p in program.wrapper_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(program.wrapper_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def binary_path(program: GoProgram, go: str) -> Path:
    return cache_root() / program.name / f"{program.version}-{cache_key(program, go)}" / program.name


def _module_dir(program: GoProgram) -> Path:
    """The pinned module's directory in the module cache, downloaded first if need be
    (`go list -m` names no directory for a module the cache does not hold yet: a cold
    cache on a fresh machine). The version is the one the wrapper's go.mod requires."""
    out = subprocess.run(
        [_go(), "mod", "download", "-json", program.pin.module],
        cwd=program.wrapper_dir,
        capture_output=True,
        text=True,
        env=_go_env(),
        check=False,
    )
    try:
        info = json.loads(out.stdout) if out.stdout.strip() else {}
    except json.JSONDecodeError:
        info = {}
    directory = info.get("Dir", "") if isinstance(info, dict) else ""
    if out.returncode != 0 or not directory:
        detail = info.get("Error") if isinstance(info, dict) and info.get("Error") else out.stderr.strip()
        raise BuildError(f"{program.name}: cannot download {program.pin.module}: {detail or f'exit {out.returncode}'}")
    return Path(directory)


def _with_sources(program: GoProgram, workdir: Path) -> Path:
    """A copy of the wrapper with the module files of `program.sources` beside its main."""
    shutil.copytree(program.wrapper_dir, workdir)
    module = _module_dir(program)
    for source in program.sources:
        copied = workdir / program.package / Path(source).name
        shutil.copyfile(module / source, copied)  # not copy2: the module cache is read-only
    return workdir


def _build(program: GoProgram, target: Path) -> None:
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent.parent))
    try:
        env = _go_env() | {"CGO_ENABLED": "1" if program.cgo else "0"}
        cmd = [_go(), "build", *program.build_flags(), "-o", str(staging / program.name), program.package]
        workdir = _with_sources(program, staging / "src") if program.sources else program.wrapper_dir
        done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
        if program.sources:
            shutil.rmtree(workdir)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
            detail = " | ".join(lines[-5:])
            raise BuildError(f"{program.name}: go build {program.package} failed: {detail}")
        if program.companions:
            source = _module_dir(program)
            for companion in program.companions:
                shutil.copy2(source / companion, staging / Path(companion).name)
        # Another build of the same key may have won the race: keep either, both are equal.
        if not target.parent.exists():
            staging.rename(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure(names: Iterable[str] | None = None, report=print) -> dict[str, Path]:
    """Build what is missing; return each program's binary path. `report` gets one line per program."""
    wanted = resolve(names)
    go = go_version()
    paths: dict[str, Path] = {}
    for program in wanted:
        target = binary_path(program, go)
        if target.is_file():
            report(f"{program.name:<26} {program.version:<9} cached          {target}")
        else:
            started = time.monotonic()
            _build(program, target)
            report(f"{program.name:<26} {program.version:<9} built in {time.monotonic() - started:6.1f} s {target}")
        paths[program.name] = target
    return paths


def resolve(names: Iterable[str] | None) -> list[GoProgram]:
    if not names:
        return list(PROGRAMS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise BuildError(f"unknown program {', '.join(unknown)}: choose from {', '.join(BY_NAME)}")
    return [BY_NAME[n] for n in dict.fromkeys(names)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.build", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"programs to build (default all: {', '.join(BY_NAME)})"
    )
    args = parser.parse_args(argv)
    try:
        resolve(args.names)
    except BuildError as exc:
        print(f"e2e.build: error: {exc}", file=sys.stderr)
        return 2
    try:
        ensure(args.names, report=lambda line: print(line, flush=True))
    except BuildError as exc:
        print(f"e2e.build: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
