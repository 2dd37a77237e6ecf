"""The real Pulumi engine built from Go modules, offline (`make e2e`).

The CLI, our Python language host and the kubernetes and random provider plugins are the
binaries `python -m e2e.build` made; `e2e.engine` installs them in a Pulumi home of their
own with plugin acquisition off. Python programs here are generated in temporary folders
and run with this interpreter's packages (the pins of requirements.txt).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import time
from pathlib import Path

import pytest

from components import versions
from e2e import build
from e2e.engine import PLUGINS, PROGRAMS, Engine, EngineError, install, python_project

# pulumi.runtime.rpc: the marker of a secret value in state and in exports
SECRET_SIG = "4dabf18193072939515e22adb298388d"

RANDOM_PROGRAM = """\
import pulumi
import pulumi_random as random

pet = random.RandomPet("pet", length=3, separator="-")
password = random.RandomPassword("password", length=24, special=False)
pulumi.export("pet", pet.id)
pulumi.export("password", password.result)
"""

# A provider whose kubeconfig names a loopback port nothing listens on.
UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster: {server: "https://127.0.0.1:9"}
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody}
current-context: nowhere
users:
- name: nobody
  user: {token: not-a-token}
"""

KUBERNETES_PROGRAM = f"""\
import pulumi
import pulumi_kubernetes as k8s

provider = k8s.Provider("nowhere", kubeconfig='''{UNREACHABLE_KUBECONFIG}''')
k8s.core.v1.ConfigMap(
    "settings",
    metadata={{"name": "settings", "namespace": "default"}},
    data={{"mode": "e2e"}},
    opts=pulumi.ResourceOptions(provider=provider),
)
"""


def timed(say, label: str, engine: Engine, *args: str, cwd: Path | None = None):
    started = time.monotonic()
    try:
        return engine.run(*args, cwd=cwd)
    finally:
        say(f"  engine: {label:<34} {time.monotonic() - started:6.1f} s")


@pytest.fixture(scope="module")
def engine_binaries(say) -> dict[str, Path]:
    return build.ensure(PROGRAMS, report=lambda line: say(f"  {line}"))


@pytest.fixture(scope="module")
def engine(engine_binaries, tmp_path_factory) -> Engine:
    return install(tmp_path_factory.mktemp("engine"), engine_binaries)


def stack(engine: Engine, project: Path, name: str = "e2e") -> Path:
    engine.run("stack", "init", name, "--secrets-provider", "passphrase", cwd=project)
    return project


def test_the_cli_and_every_plugin_are_the_built_releases(engine, engine_binaries):
    assert engine.run("version").stdout.strip() == "v" + versions.PULUMI.release

    listed = engine.run_json("plugin", "ls")
    installed = sorted((p["kind"], p["name"], p["version"]) for p in listed)
    assert installed == sorted(("resource", name, release) for name, release, _ in PLUGINS)
    # what the engine will run is byte for byte what the build made
    for name, release, program in PLUGINS:
        plugin = engine.home / "plugins" / f"resource-{name}-v{release}" / program
        assert plugin.read_bytes() == engine_binaries[program].read_bytes()


def test_about_names_our_language_host_the_interpreter_and_the_required_plugins(engine, tmp_path):
    project = stack(engine, python_project(tmp_path / "about", "e2e-about", "import pulumi\n"))
    about = engine.run_json("about", cwd=project)
    assert about["errors"] == []
    plugins = {(p["kind"], p["name"]): p["version"] for p in about["plugins"]}
    assert plugins[("language", "python")] == versions.PULUMI.release
    # the host's GetRequiredPackages: the provider SDKs this interpreter has, at their pins
    assert plugins[("resource", "kubernetes")] == versions.PULUMI_KUBERNETES.release
    assert plugins[("resource", "random")] == versions.PULUMI_RANDOM.release
    assert Path(about["runtime"]["executable"]).parent == Path(sys.prefix) / "bin"


def _sdk_resource_tokens(package: str, prefix: str) -> set[str]:
    """The resource type tokens a provider's Python SDK registers (its generated modules)."""
    root = Path(importlib.import_module(package).__file__).parent
    pattern = re.compile(rf"['\"]({re.escape(prefix)}\w+:\w+)['\"]")
    return {token for path in root.rglob("*.py") for token in pattern.findall(path.read_text())}


def test_the_providers_serve_the_schemas_of_their_releases(engine):
    random_schema = json.loads(engine.run("package", "get-schema", f"random@{versions.PULUMI_RANDOM.release}").stdout)
    assert random_schema["version"] == versions.PULUMI_RANDOM.release
    # our token mapping is exactly the one of the pulumi_random package the program imports
    assert set(random_schema["resources"]) == _sdk_resource_tokens("pulumi_random", "random:index/")
    assert random_schema["resources"]["random:index/randomPassword:RandomPassword"]["properties"]["result"]["secret"]

    release = versions.PULUMI_KUBERNETES.release
    k8s_schema = json.loads(engine.run("package", "get-schema", f"kubernetes@{release}").stdout)
    assert k8s_schema["version"] == release
    assert {"kubernetes:core/v1:ConfigMap", "kubernetes:helm.sh/v3:Release"} <= set(k8s_schema["resources"])


def test_a_random_program_previews_creates_stays_unchanged_and_is_destroyed(engine, say, tmp_path):
    project = stack(engine, python_project(tmp_path / "random", "e2e-random", RANDOM_PROGRAM))

    preview = json.loads(timed(say, "preview (random)", engine, "preview", "--json", cwd=project).stdout)
    planned = {step["urn"].rsplit("::", 1)[1]: step["op"] for step in preview["steps"]}
    assert planned["pet"] == planned["password"] == "create"

    timed(say, "up (random)", engine, "up", "--yes", "--skip-preview", cwd=project)
    outputs = engine.run_json("stack", "output", "--show-secrets", cwd=project)
    assert len(outputs["pet"].split("-")) == 3
    assert re.fullmatch(r"[A-Za-z0-9]{24}", outputs["password"])

    # The password is a secret: encrypted with the passphrase in the state on disk.
    state = "".join(p.read_text() for p in engine.backend.rglob("*.json"))
    assert outputs["password"] not in state
    assert SECRET_SIG in state
    assert "ciphertext" in state

    # A second run of the same program changes nothing.
    timed(say, "preview --expect-no-changes", engine, "preview", "--expect-no-changes", cwd=project)

    timed(say, "destroy (random)", engine, "destroy", "--yes", "--skip-preview", cwd=project)
    exported = json.loads(engine.run("stack", "export", cwd=project).stdout)
    assert exported["deployment"].get("resources", []) == []


def test_the_kubernetes_provider_previews_and_reports_an_unreachable_cluster(engine, say, tmp_path):
    project = stack(engine, python_project(tmp_path / "kubernetes", "e2e-kubernetes", KUBERNETES_PROGRAM))

    # Preview needs no cluster: the provider plans the ConfigMap from its inputs.
    preview = json.loads(timed(say, "preview (kubernetes)", engine, "preview", "--json", cwd=project).stdout)
    planned = {step["urn"].rsplit("::", 1)[1]: (step["op"], step["urn"]) for step in preview["steps"]}
    op, urn = planned["settings"]
    assert op == "create"
    assert "kubernetes:core/v1:ConfigMap" in urn

    # up must reach the API server; the provider's own message says it cannot.
    with pytest.raises(EngineError) as failed:
        timed(say, "up (unreachable cluster)", engine, "up", "--yes", "--skip-preview", cwd=project)
    output = failed.value.done.stdout + failed.value.done.stderr
    assert "configured Kubernetes cluster is unreachable" in output
