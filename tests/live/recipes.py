"""An image recipe (Dockerfile) read as what installs the server and what starts it.

Only recipes that install from a registry with a lock can be reproduced here: PyPI
requirements with hashes (`uv pip install --require-hashes`) or npm with a
package-lock.json. Recipes that clone from GitHub cannot be fetched on this machine, and
the Treasury recipe has no lock (its dependencies do not resolve here), so they are not
live; `LIVE` is computed from the recipes, never listed by hand.

Paths in a recipe are image paths (/opt/venv, /app, /tmp). `Recipe.install_commands`
keeps them; install.py and launch.py map them onto a cache directory and a run directory.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components import versions
from components.catalog import CATALOG
from tests.dockerfile import Stage, dockerfile, exec_form, stages

Kind = Literal["pypi", "npm"]
# The Python build stages install uv with pip, pinned (components/versions.py IMAGE_BUILD_UV).
_UV_PIN = re.compile(r"\buv==([\w.]+)")


@dataclass(frozen=True)
class Copy:
    """One COPY of the final stage: from the build context or from a build stage."""

    source: str
    dest: str
    from_stage: str | None


@dataclass(frozen=True)
class Recipe:
    key: str  # components/versions.py SERVER_IMAGES key
    server: str  # the catalog server that runs the image
    kind: Kind
    context: Path
    build: Stage  # the stage that installs the dependencies
    final: Stage
    lock_files: tuple[Path, ...]
    install_commands: tuple[tuple[str, ...], ...]  # as written in the recipe, image paths

    @property
    def build_workdir(self) -> str:
        return (self.build.all("WORKDIR") or ["/"])[-1]

    @property
    def workdir(self) -> str:
        return (self.final.all("WORKDIR") or ["/"])[-1]

    @property
    def env(self) -> dict[str, str]:
        return self.final.pairs("ENV")

    @property
    def build_env(self) -> dict[str, str]:
        return self.build.pairs("ENV")

    @property
    def entrypoint(self) -> list[str]:
        return exec_form(self.final.all("ENTRYPOINT")[-1])

    @property
    def cmd(self) -> list[str]:
        found = self.final.all("CMD")
        return exec_form(found[-1]) if found else []

    @property
    def uv_version(self) -> str | None:
        for run in self.build.all("RUN"):
            if match := _UV_PIN.search(run):
                return match.group(1)
        return None

    @property
    def python(self) -> str:
        """The base image's Python as major.minor (python:3.12.13-bookworm -> 3.12)."""
        match = re.match(r"python:(\d+\.\d+)\.", self.build.base)
        if not match:
            raise ValueError(f"{self.key}: {self.build.base} is not a python image")
        return match.group(1)

    def copies(self, stage: Stage) -> list[Copy]:
        found = []
        for value in stage.all("COPY"):
            words = shlex.split(value)
            source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            paths = [w for w in words if not w.startswith("--")]
            found.extend(Copy(src, paths[-1], source_stage) for src in paths[:-1])
        return found


def _install_commands(stage: Stage, kind: Kind) -> tuple[tuple[str, ...], ...]:
    """The install steps of the build stage's RUN lines, as argument lists.

    Python: `uv venv` and `uv pip install`; npm: `npm install` or `npm ci` (cache
    cleaning and `pip install uv` are image housekeeping, done otherwise here).
    """
    wanted = ("uv venv", "uv pip install") if kind == "pypi" else ("npm install", "npm ci")
    commands = []
    for run in stage.all("RUN"):
        for part in run.split("&&"):
            words = shlex.split(part)
            if " ".join(words[:3]).startswith(wanted):
                commands.append(tuple(words))
    return tuple(commands)


def read(key: str) -> Recipe | None:
    """The recipe of image `key`, or None when it cannot be reproduced from a registry."""
    path = dockerfile(key)
    context = path.parent
    all_stages = stages(path)
    build, final = all_stages[0], all_stages[-1]
    [server] = [name for name, spec in CATALOG.items() if spec.built_image == key]
    if (context / "requirements.txt").exists() and "--require-hashes" in " ".join(build.all("RUN")):
        kind: Kind = "pypi"
        locks: tuple[Path, ...] = (context / "requirements.txt",)
    elif (context / "package-lock.json").exists():
        kind = "npm"
        locks = (context / "package.json", context / "package-lock.json")
    else:
        return None  # a git clone, or npm without a lock
    commands = _install_commands(build, kind)
    if not commands:
        raise ValueError(f"{path}: no install command in the build stage")
    return Recipe(key, server, kind, context, build, final, locks, commands)


def live_recipes() -> dict[str, Recipe]:
    """Every recipe this machine can reproduce, by catalog server name."""
    found = {}
    for key in versions.SERVER_IMAGES:
        recipe = read(key)
        if recipe is not None:
            found[recipe.server] = recipe
    return found


LIVE = live_recipes()
NOT_LIVE = sorted(spec_name for spec_name, spec in CATALOG.items() if spec_name not in LIVE and spec.built_image)
