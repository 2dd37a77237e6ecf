"""The real Pulumi engine, offline: the CLI and plugins that `python -m e2e.build` built,
in a Pulumi home, a file backend and a passphrase secrets provider of their own.

The layout is a release's: the language host and its exec shim sit beside the CLI (the
CLI finds `python` there, as a bundled plugin, and refuses to install it), and the
provider plugins are installed from the built files (`pulumi plugin install ... --file`).
Nothing is downloaded: automatic plugin acquisition and the update check are off, and
plugins on $PATH are ignored, so a run uses exactly these binaries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from components import versions

LANGUAGE_HOST = "pulumi-language-python"
EXEC_SHIM = "pulumi-language-python-exec"
# resource plugins: name, release, program name in e2e.build
PLUGINS = (
    ("kubernetes", versions.PULUMI_KUBERNETES.release, "pulumi-resource-kubernetes"),
    ("random", versions.PULUMI_RANDOM.release, "pulumi-resource-random"),
)
PROGRAMS = ("pulumi", LANGUAGE_HOST, *(program for *_, program in PLUGINS))

PASSPHRASE = "e2e-only-passphrase"


class EngineError(Exception):
    """A Pulumi command that failed; carries its output."""

    def __init__(self, args: Sequence[str], done: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        self.done = done


@dataclass(frozen=True)
class Engine:
    """The built CLI with its own home and backend under `root`."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def cli(self) -> Path:
        return self.bin / "pulumi"

    @property
    def home(self) -> Path:
        return self.root / "pulumi-home"

    @property
    def backend(self) -> Path:
        return self.root / "state"

    def env(self) -> dict[str, str]:
        # Nothing of the caller's Pulumi set-up (PULUMI_HOME, a cloud token, a backend) leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        return env | {
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": self.backend.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
        }

    def run(
        self, *args: str, cwd: Path | None = None, check: bool = True, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.cli), *args],
            cwd=cwd or self.root,
            env=self.env() | dict(extra_env or {}),
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise EngineError(args, done)
        return done

    def run_json(self, *args: str, cwd: Path | None = None) -> object:
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)


def step_seconds(event_log: Path) -> dict[str, tuple[str, int]]:
    """urn -> (op, seconds) of each resource step in an `--event-log` file (engine events,
    one JSON object a line, timestamps in whole seconds: apitype.EngineEvent)."""
    started: dict[str, tuple[str, int]] = {}
    out: dict[str, tuple[str, int]] = {}
    for line in event_log.read_text().splitlines():
        event = json.loads(line)
        for kind in ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"):
            body = event.get(kind)
            if not body:
                continue
            meta = body["metadata"]
            if kind == "resourcePreEvent":
                started[meta["urn"]] = (meta["op"], event["timestamp"])
            elif meta["urn"] in started:
                op, begun = started[meta["urn"]]
                out[meta["urn"]] = (op, event["timestamp"] - begun)
    return out


def _place(source: Path, target: Path) -> None:
    """A hard link where the file system allows (the binaries are large), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def install(root: Path, binaries: Mapping[str, Path]) -> Engine:
    """An engine under `root` made of `binaries` (program name -> built file, as
    e2e.build.ensure returns them), with every plugin of PLUGINS installed."""
    engine = Engine(root=root)
    engine.bin.mkdir(parents=True)
    engine.backend.mkdir()
    host = binaries[LANGUAGE_HOST]
    for source in (binaries["pulumi"], host, host.with_name(EXEC_SHIM)):
        _place(source, engine.bin / source.name)
    for name, release, program in PLUGINS:
        engine.run("plugin", "install", "resource", name, release, "--file", str(binaries[program]))
    return engine


def python_project(directory: Path, name: str, program: str) -> Path:
    """Write a Python Pulumi project that runs `program` with this interpreter's packages."""
    directory.mkdir(parents=True, exist_ok=True)
    project = {"name": name, "runtime": {"name": "python", "options": {"virtualenv": sys.prefix}}}
    # JSON is YAML: no YAML writer needed for Pulumi.yaml.
    (directory / "Pulumi.yaml").write_text(json.dumps(project, indent=2) + "\n")
    (directory / "__main__.py").write_text(program)
    return directory
