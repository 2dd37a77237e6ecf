"""Install each live recipe's exact pins once, into a cache outside git.

    python -m tests.live.install [SERVER ...]   # all live recipes by default; prints times

The cache lives in $MCPDS_CACHE_DIR (default ~/.cache/mcp-datascience)/servers, one
directory per recipe named by the hash of its lock files, its install commands and the
runtime that runs them, so a changed pin installs afresh and an unchanged one never
again. The install runs the recipe's own commands with its image paths mapped into that
directory: /opt/venv (Python) or the build stage's WORKDIR (npm).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.live.recipes import LIVE, Recipe

VENV = "/opt/venv"  # the Python recipes' virtualenv (a COPY source of their final stage)


class InstallError(RuntimeError):
    pass


def cache_root() -> Path:
    root = os.environ.get("MCPDS_CACHE_DIR") or os.path.join(Path.home(), ".cache", "mcp-datascience")
    return Path(root)


def _run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InstallError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _python_version(interpreter: str) -> str | None:
    probe = subprocess.run(
        [interpreter, "-c", "import sys; print(sys.version)"], check=False, capture_output=True, text=True
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def find_python(version: str) -> str:
    """An interpreter of the image's major.minor: pythonX.Y on PATH, else a pyenv install."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for candidate in filter(None, candidates):
        if _python_version(candidate):
            return candidate
    raise InstallError(f"no Python {version} found (the image's base): install python{version} or a pyenv {version}.x")


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        raise InstallError("node is not installed (Node.js 20.19 or newer with npm; see the README's prerequisites)")
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def uv_binary(version: str) -> str:
    """uv at the recipe's pin, in a tools venv of the cache (the recipe pip-installs it)."""
    tools = cache_root() / "tools" / f"uv-{version}"
    uv = tools / "bin" / "uv"
    if not uv.exists():
        with _locked(cache_root() / "tools" / f"uv-{version}.lock"):
            if not uv.exists():
                _run([sys.executable, "-m", "venv", str(tools)])
                _run(
                    [str(tools / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", f"uv=={version}"]
                )
    return str(uv)


def runtime_identity(recipe: Recipe) -> str:
    if recipe.kind == "pypi":
        return _python_version(find_python(recipe.python)) or ""
    return node_version()


def lock_hash(recipe: Recipe) -> str:
    digest = hashlib.sha256()
    for path in recipe.lock_files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps([recipe.install_commands, recipe.build_env, runtime_identity(recipe)]).encode())
    return digest.hexdigest()[:16]


def install_dir(recipe: Recipe) -> Path:
    return cache_root() / "servers" / f"{recipe.server}-{lock_hash(recipe)}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer per cache entry at a time (pytest workers, parallel make runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mapped(word: str, mapping: dict[str, str]) -> str:
    for image_path, local in sorted(mapping.items(), key=lambda item: -len(item[0])):
        if word == image_path or word.startswith(image_path + "/"):
            return local + word[len(image_path) :]
    return word


def _install(recipe: Recipe, target: Path) -> None:
    env = {**os.environ, **recipe.build_env}
    # Files the build stage copies in, by their image path.
    mapping = {
        (c.dest if c.dest.startswith("/") else os.path.join(recipe.build_workdir, c.dest)).rstrip("/"): str(
            recipe.context / c.source
        )
        for c in recipe.copies(recipe.build)
        if c.from_stage is None and not c.dest.endswith("/") and c.dest != "./"
    }
    if recipe.kind == "pypi":
        mapping[VENV] = str(target / "venv")
        mapping[f"/usr/local/bin/python{recipe.python}"] = find_python(recipe.python)
        uv = uv_binary(recipe.uv_version or "")
        for command in recipe.install_commands:
            argv = [uv if i == 0 else _mapped(w, mapping) for i, w in enumerate(command)]
            _run(argv, env=env)
    else:
        app = target / "app"
        app.mkdir(parents=True)
        for copy in recipe.copies(recipe.build):
            if copy.from_stage is None:
                shutil.copy(recipe.context / copy.source, app / Path(copy.source).name)
        for command in recipe.install_commands:
            _run(list(command), cwd=app, env=env)


def ensure_installed(recipe: Recipe) -> tuple[Path, float]:
    """The recipe's install directory, installed if missing; returns it and the seconds spent."""
    target = install_dir(recipe)
    done = target / ".complete"
    if done.exists():
        return target, 0.0
    start = time.monotonic()
    with _locked(target.with_name(target.name + ".lock")):
        if not done.exists():
            # Installed where it stays (a venv's scripts name their interpreter by path);
            # a half-done install has no .complete and starts over.
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            try:
                _install(recipe, target)
                done.write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
    return target, time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.live.install", description=__doc__.split("\n")[0])
    parser.add_argument("servers", nargs="*", help=f"default: all of {', '.join(sorted(LIVE))}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.servers) - set(LIVE))
    if unknown:
        parser.error(f"not a live recipe: {', '.join(unknown)} (live: {', '.join(sorted(LIVE))})")
    for name in args.servers or sorted(LIVE):
        try:
            target, seconds = ensure_installed(LIVE[name])
        except InstallError as exc:
            print(f"install: {name}: {exc}", file=sys.stderr)
            return 1
        state = f"installed in {seconds:.1f} s" if seconds else "cached"
        print(f"{name:18} {state:22} {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
