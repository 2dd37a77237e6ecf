"""The GitHub Actions workflows: valid YAML, the jobs the project relies on, every action
pinned to a commit, and every file, path and make target they reference present."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.versions import BASE_IMAGES, SERVER_IMAGES
from offline.harness import available_stacks, stack_dir
from offline.policy_run import stack_config

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION_FILES = sorted([*WORKFLOWS.glob("*.yml"), *(ROOT / ".github" / "actions").glob("*/action.yml")])
PINNED = re.compile(r"^\s*-?\s*uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
STACKS = available_stacks()


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


PR = load(WORKFLOWS / "pull-request.yml")
DEPLOY = load(WORKFLOWS / "deploy.yml")


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def pulumi_step(workflow: dict[str, Any], job: str) -> dict[str, Any]:
    [step] = [s for s in steps(workflow, job) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    return step


def make_knows(target: str) -> bool:
    """`make -n` (print, do not run) fails with "No rule to make target" for an unknown one."""
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.returncode == 0


def all_runs() -> list[str]:
    out = []
    for path in ACTION_FILES:
        data = load(path)
        jobs = data.get("jobs", {}).values() if "jobs" in data else [{"steps": data["runs"]["steps"]}]
        out += [s["run"] for job in jobs for s in job.get("steps", []) if "run" in s]
    return out


def test_every_workflow_is_valid_yaml_with_jobs():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == ["deploy.yml", "pull-request.yml"]
    for path in WORKFLOWS.glob("*.yml"):
        data = load(path)
        assert data["on"], path.name
        assert data["jobs"], path.name
        assert data["permissions"] == {"contents": "read"}, f"{path.name}: least privilege at the top"


def test_every_action_is_pinned_to_a_commit_with_its_version():
    found = 0
    for path in ACTION_FILES:
        for line in path.read_text().splitlines():
            if re.match(r"^\s*-?\s*uses:", line):
                ref = line.split("uses:", 1)[1].strip()
                if ref.startswith("./"):
                    assert (ROOT / ref.removeprefix("./").removeprefix("mcp-datascience/")).is_dir(), ref
                    continue
                assert PINNED.match(line), f"{path.name}: {line.strip()} is not pinned to a commit SHA # vX.Y.Z"
                found += 1
    assert found >= 10


def test_pull_requests_run_tests_policy_per_stack_then_preview_with_the_pack():
    assert PR["on"]["pull_request"]["branches"] == ["main"]
    assert PR["jobs"]["policy"]["strategy"]["matrix"]["stack"] == STACKS
    assert any("make policy STACK=${{ matrix.stack }}" in s.get("run", "") for s in steps(PR, "policy"))
    assert any(re.search(r"\bmake\b.* pytest\b", s.get("run", "")) for s in steps(PR, "test"))  # the Makefile's flags
    preview = PR["jobs"]["preview"]
    assert set(preview["needs"]) == {"test", "policy"}
    assert [i["stack"] for i in preview["strategy"]["matrix"]["include"]] == STACKS
    assert preview["permissions"]["pull-requests"] == "write"
    step = pulumi_step(PR, "preview")
    assert step["with"]["command"] == "preview"
    assert step["with"]["policyPacks"] == "policies"
    # Made from policies/config/<stack>.json by the step before it (tests/test_image_digests.py).
    assert step["with"]["policyPackConfigs"] == "${{ runner.temp }}/policy-config.json"
    assert step["with"]["comment-on-pr"] is True
    assert "matrix.stack" in step["with"]["stack-name"]


def test_main_deploys_dev_then_prod_behind_the_environment():
    assert DEPLOY["on"]["push"]["branches"] == ["main"]
    dev, prod = DEPLOY["jobs"]["up-dev"], DEPLOY["jobs"]["up-prod"]
    assert dev["environment"] == "dev"
    assert prod["environment"] == "prod"
    assert prod["needs"] == ["up-dev"]
    assert {"test", "images"} <= set(dev["needs"])
    for job, stack in (("up-dev", "dev"), ("up-prod", "prod")):
        step = pulumi_step(DEPLOY, job)
        assert step["with"]["command"] == "up"
        assert step["with"]["policyPacks"] == "policies"
        assert step["with"]["policyPackConfigs"] == f"policies/config/{stack}.json"
        assert f"'{stack}'" in step["with"]["stack-name"]
    assert any(s.get("run") == "make test" for s in steps(DEPLOY, "test"))


def test_images_are_built_from_the_pinned_list_and_pushed_only_from_main():
    for workflow in (PR, DEPLOY):
        [listing] = [s for s in steps(workflow, "image-matrix") if s.get("id") == "list"]
        assert ".github/scripts/image_matrix.py" in listing["run"]
        assert workflow["jobs"]["images"]["strategy"]["matrix"]["image"].startswith("${{ fromJSON(")
    pr_build = " ".join(s.get("run", "") for s in steps(PR, "images"))
    assert "--push" not in pr_build
    deploy_build = " ".join(s.get("run", "") for s in steps(DEPLOY, "images"))
    assert 'docker buildx build --push --tag "$IMAGE" "$CONTEXT"' in deploy_build
    assert DEPLOY["jobs"]["images"]["permissions"]["packages"] == "write"


@functools.cache
def image_matrix() -> tuple[dict[str, str], ...]:
    """What .github/scripts/image_matrix.py prints, run as the workflows run it."""
    out = subprocess.run(
        [sys.executable, str(ROOT / ".github" / "scripts" / "image_matrix.py")],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return tuple(json.loads(out))


def test_image_matrix_script_lists_every_server_image_as_the_stacks_pull_it():
    registries = {stack_config(stack).images.registry for stack in STACKS}
    expected = [
        {"name": name, "context": image.context, "image": f"{registry}/{image.repository}:{image.tag}"}
        for registry in sorted(registries)
        for name, image in sorted(SERVER_IMAGES.items())
    ]
    assert list(image_matrix()) == expected


def test_every_image_context_has_a_dockerfile():
    missing = {s.context for s in SERVER_IMAGES.values() if not (ROOT / s.context / "Dockerfile").is_file()}
    assert missing == set(), f"contexts without a Dockerfile: {sorted(missing)}"


@pytest.mark.parametrize("stack", STACKS)
def test_referenced_policy_files_exist(stack):
    assert (ROOT / "policies" / "config" / f"{stack}.json").is_file()
    assert (ROOT / "policies" / "PulumiPolicy.yaml").is_file()
    assert (ROOT / "policies" / "requirements.txt").is_file()
    assert (stack_dir() / f"Pulumi.{stack}.yaml").is_file()


def test_every_make_target_and_path_in_run_steps_exists():
    runs = all_runs()
    targets = set()
    for run in runs:
        for raw in run.splitlines():
            line = re.sub(r"\$\{\{.*?\}\}", "EXPR", raw)  # a GitHub expression is one word
            m = re.match(r"^\s*make\s+(.*?)(?:\s*&&.*)?$", line)
            if m:
                targets |= {word for word in m.group(1).split() if "=" not in word}
    assert {"test", "policy"} <= targets  # the jobs run the project's own targets
    for target in sorted(targets):
        assert make_knows(target), f"make target {target!r} is not in the Makefile"
    text = "\n".join(runs)
    paths = {
        path
        for path in re.findall(r"(?<![\w$/.-])((?:policies|\.github|servers|offline)/[\w./-]+)", text)
        if not (path == "policies/venv" or path.startswith("policies/venv/"))  # created by the step itself
    }
    assert ".github/scripts/image_matrix.py" in paths
    for path in sorted(paths):
        assert (ROOT / path).exists(), f"run step references missing path {path}"


def _references(kind: str) -> set[str]:
    text = "\n".join(p.read_text() for p in ACTION_FILES)
    found = set(re.findall(rf"\b{kind}\.([A-Z][A-Z0-9_]+)", text))
    if kind == "secrets":
        found |= {i["kubeconfig"] for i in PR["jobs"]["preview"]["strategy"]["matrix"]["include"]}
    return found - {"GITHUB_TOKEN"}


def test_the_docs_list_every_secret_and_variable_the_workflows_read():
    section = (ROOT / "docs" / "ci-and-policies.md").read_text().split("## Workflows", 1)[1]
    for name in sorted(_references("secrets") | _references("vars")):
        assert f"`{name}`" in section, f"docs/ci-and-policies.md 'Workflows' does not explain {name}"


# ---------------------------------------------------------------------------
# Concurrency, permissions, action inputs
# ---------------------------------------------------------------------------


def test_one_pulumi_up_per_stack_at_a_time_never_cancelled():
    """Concurrency per stack: each `up` job has its own group (so a run waiting for the prod
    approval does not hold back dev), queued and never cancelled mid-update."""
    groups = {}
    for job, stack in (("up-dev", "dev"), ("up-prod", "prod")):
        concurrency = DEPLOY["jobs"][job]["concurrency"]
        assert concurrency["cancel-in-progress"] is False, job
        assert stack in concurrency["group"], job
        groups[job] = concurrency["group"]
    assert len(set(groups.values())) == 2
    # No workflow-wide group serialising every stack behind one another.
    assert "concurrency" not in DEPLOY


def pulumi_steps() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in load(path)["jobs"].items():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("pulumi/actions@"):
                    out.append((path.name, name, step))
    return out


# The inputs of pulumi/actions' action.yml (v7.0.0, research/pulumi.md §1e; the same names
# as upstream action.yml since v5: command, stack-name, work-dir, cloud-url, policyPacks,
# policyPackConfigs, comment-on-pr, github-token, pulumi-version ...). A misspelt input is
# ignored by the runner with only a warning, so the pack would silently not run.
PULUMI_ACTION_INPUTS = {
    "command",
    "stack-name",
    "work-dir",
    "cloud-url",
    "secrets-provider",
    "config-map",
    "comment-on-pr",
    "comment-on-pr-number",
    "edit-pr-comment",
    "comment-on-summary",
    "github-token",
    "refresh",
    "upsert",
    "remove",
    "diff",
    "expect-no-changes",
    "target",
    "target-dependents",
    "exclude",
    "replace",
    "parallel",
    "plan",
    "message",
    "pulumi-version",
    "pulumi-version-file",
    "policyPacks",
    "policyPackConfigs",
    "suppress-outputs",
    "suppress-progress",
    "always-include-summary",
    "log-verbosity",
    "debug",
    "color",
    "exclude-protected",
    "continue-on-error",
}


def test_pulumi_action_steps_use_only_its_inputs_and_the_projects_cli_version():
    steps_found = pulumi_steps()
    assert len(steps_found) == 3  # preview (matrix), up dev, up prod
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    for workflow, job, step in steps_found:
        unknown = set(step["with"]) - PULUMI_ACTION_INPUTS
        assert unknown == set(), f"{workflow} {job}: not inputs of pulumi/actions: {sorted(unknown)}"
        assert step["with"]["work-dir"] == "."
        assert (ROOT / step["with"]["policyPacks"] / "PulumiPolicy.yaml").is_file()
        assert step["with"]["pulumi-version"] == pinned, f"{workflow} {job}: CLI and SDK versions differ"


def test_policy_pack_venv_pins_the_sdk_the_offline_run_uses():
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==", 1) for line in lines if "==" in line)

    program, pack = pins(ROOT / "requirements.txt"), pins(ROOT / "policies" / "requirements.txt")
    for package in ("pulumi", "pulumi-policy"):
        assert pack[package] == program[package], package


def test_permissions_are_the_least_each_job_needs():
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in load(path)["jobs"].items():
            granted = job.get("permissions", {})
            assert "id-token" not in granted, f"{path.name} {name}: no job uses OIDC"
            writes = {k for k, v in granted.items() if v == "write"}
            if writes:
                expected = {("pull-request.yml", "preview"): {"pull-requests"}, ("deploy.yml", "images"): {"packages"}}
                assert writes == expected.get((path.name, name)), f"{path.name} {name}: writes {sorted(writes)}"
    # The image push is the only job with registry rights, and only on main.
    assert "permissions" not in PR["jobs"]["images"]


def test_prod_waits_for_its_environment_and_forks_get_no_preview():
    assert DEPLOY["jobs"]["up-prod"]["environment"] == "prod"
    assert DEPLOY["jobs"]["up-prod"]["needs"] == ["up-dev"]
    assert PR["jobs"]["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


@pytest.mark.parametrize("workflow", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_test_job_checks_out_the_crds_beside_the_repository(workflow):
    """The schema tests read ../shared/crds (offline/schema.py DEFAULT_CRD_DIR): the
    repository is checked out as mcp-datascience/ and the CRDs as shared/ beside it."""
    from offline.schema import DEFAULT_CRD_DIR

    job = workflow["jobs"]["test"]
    checkouts = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")]
    paths = {s["with"]["path"]: s["with"] for s in checkouts}
    workdir = job["defaults"]["run"]["working-directory"]
    assert set(paths) == {workdir, DEFAULT_CRD_DIR.parent.name}
    assert DEFAULT_CRD_DIR.relative_to(DEFAULT_CRD_DIR.parent.parent) == Path("shared/crds")
    assert paths["shared"]["repository"] == "${{ vars.CRD_SCHEMAS_REPOSITORY }}"
    guard = [s for s in job["steps"] if s.get("if") == "vars.CRD_SCHEMAS_REPOSITORY == ''"]
    assert len(guard) == 1
    assert "exit 1" in guard[0]["run"]
    # The guard runs after the repository checkout (its working directory must exist).
    assert job["steps"].index(guard[0]) > job["steps"].index(checkouts[0])


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------


def test_every_dockerfile_directory_is_a_built_image():
    """images/<name>/ and servers/<name>/ with a Dockerfile are all in SERVER_IMAGES, so CI
    builds and pushes each of them."""
    dirs = {
        str(p.parent.relative_to(ROOT)) for p in [*ROOT.glob("images/*/Dockerfile"), *ROOT.glob("servers/*/Dockerfile")]
    }
    assert dirs == {s.context for s in SERVER_IMAGES.values()}


@pytest.mark.parametrize("stack", STACKS)
def test_the_stacks_pull_exactly_what_ci_pushes(stack_runs, stack):
    pushed = {e["image"] for e in image_matrix()}
    registry = stack_config(stack).images.registry
    pulled = {
        r.inputs["spec"]["image"].partition("@")[0]  # production pulls the pushed tag by its digest
        for r in stack_runs[stack].resources
        if r.type.endswith(":MCPServer") and r.inputs["spec"]["image"].startswith(registry + "/")
    }
    assert pulled, "no MCPServer pulls from images.registry"
    assert pulled <= pushed


def _with_values() -> list[tuple[str, str]]:
    """(file, value) of every string input handed to an action, one line each."""
    out = []
    for path in ACTION_FILES:
        data = load(path)
        jobs = data.get("jobs", {}).values() if "jobs" in data else [{"steps": data["runs"]["steps"]}]
        for job in jobs:
            for step in job.get("steps", []):
                for value in (step.get("with") or {}).values():
                    if isinstance(value, str):
                        out += [(path.name, line.strip()) for line in value.splitlines() if line.strip()]
    return out


def test_every_path_handed_to_an_action_exists():
    """Paths in `with:` (policy pack and configs, cache dependency files, setup inputs) exist
    for every stack; the test job's checkout prefix and the composite's directory input
    resolve to the repository root."""
    checked = 0
    for name, value in _with_values():
        for stack in STACKS:
            text = value.replace("${{ matrix.stack }}", stack).replace("${{ inputs.directory }}/", "")
            text = text.removeprefix("mcp-datascience/")
            # A repository path: a file with an extension, or the policy pack directory.
            if "${{" in text or not (re.search(r"\.(json|txt|ya?ml|lock)$", text) or text == "policies"):
                continue
            assert (ROOT / text).exists(), f"{name}: {value} -> {text} does not exist"
            checked += 1
    assert checked >= 6


def test_setup_action_builds_the_venvs_the_runtimes_name_with_the_projects_python():
    """policies/PulumiPolicy.yaml names the pack's virtualenv and pyproject.toml the Python
    the code targets: the setup action must create that venv with that Python."""
    setup = load(ROOT / ".github" / "actions" / "setup" / "action.yml")["runs"]["steps"]
    [python] = [s for s in setup if str(s.get("uses", "")).startswith("actions/setup-python@")]
    target = re.search(r'^target-version = "py3(\d+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert python["with"]["python-version"] == f"3.{target}"
    venv = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]["options"]["virtualenv"]
    [pack] = [s for s in setup if s.get("name") == "Policy pack virtualenv"]
    assert f"python -m venv policies/{venv}\n" in pack["run"]
    assert f"policies/{venv}/bin/python -m pip install" in pack["run"]


@pytest.mark.parametrize("workflow", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_penrose_tests_run_on_the_node_its_image_runs(workflow):
    """The Penrose server image runs on components/versions.py BASE_IMAGES["node"]
    (servers/penrose-mcp/Dockerfile): CI tests it on that same Node version."""
    [node] = [s for s in steps(workflow, "test") if str(s.get("uses", "")).startswith("actions/setup-node@")]
    image_version = BASE_IMAGES["node"].split(":", 1)[1].split("-", 1)[0]
    assert node["with"]["node-version"] == image_version
    assert f"FROM {BASE_IMAGES['node']}" in (ROOT / "servers" / "penrose-mcp" / "Dockerfile").read_text()


# ---------------------------------------------------------------------------
# Registry logins: one script for the push, the prod digests and the preview
# ---------------------------------------------------------------------------

LOGIN = ROOT / ".github" / "scripts" / "registry-login"


def _login(tmp_path: Path, *args: str, env: dict[str, str], stacks: Path | None = None):
    """Run registry-login with a `docker` that records its arguments and stdin."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(f'#!/usr/bin/env bash\n{{ echo "$*"; cat; echo; }} >> {tmp_path / "docker.log"}\n')
    docker.chmod(0o755)
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MCPDS_STACK_DIR": str(stacks or stack_dir())}
    done = subprocess.run(
        ["bash", str(LOGIN), *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, check=False
    )
    log = tmp_path / "docker.log"
    return done, log.read_text() if log.exists() else ""


def test_registry_login_uses_the_job_token_for_ghcr_and_the_secrets_elsewhere(tmp_path):
    done, log = _login(tmp_path, "ghcr.io/acme/x:1.0", env={"GHCR_TOKEN": "gh-token", "ACTOR": "bot"})
    assert done.returncode == 0, done.stderr
    assert log == "login ghcr.io --username bot --password-stdin\ngh-token\n"
    secrets = {"REGISTRY_USERNAME": "robot", "REGISTRY_PASSWORD": "pw", "GHCR_TOKEN": "gh-token"}
    done, log = _login(tmp_path, "registry.example.net/acme/x:1.0", env=secrets)
    assert done.returncode == 0, done.stderr
    assert log.endswith("login registry.example.net --username robot --password-stdin\npw\n")


def test_registry_login_without_secrets_fails_a_push_and_lets_a_preview_read(tmp_path):
    done, log = _login(tmp_path, "registry.example.net/acme/x:1.0", env={"GHCR_TOKEN": "gh-token"})
    assert done.returncode == 1
    assert "registry.example.net needs the repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD" in done.stdout
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.prod.yaml").write_text(
        (ROOT / "tests" / "stacks" / "Pulumi.prod.yaml").read_text()
        + "  mcp-datascience:images:\n    registry: registry.example.net/acme/mcp\n"
    )
    done, log = _login(tmp_path, "--stack", "prod", "--optional", env={"GHCR_TOKEN": "t"}, stacks=stacks)
    assert done.returncode == 0, done.stderr
    assert "no REGISTRY_PASSWORD secret for registry.example.net" in done.stdout
    assert log == ""


def test_every_job_that_pushes_or_resolves_images_logs_in_with_the_script():
    logins = {
        ("deploy", "images"): '.github/scripts/registry-login "$IMAGE"',
        ("deploy", "up-prod"): ".github/scripts/registry-login --stack prod",
        ("pull-request", "preview"): ".github/scripts/registry-login --stack prod --optional",
    }
    for (workflow, job), command in logins.items():
        [step] = [s for s in steps(PR if workflow == "pull-request" else DEPLOY, job) if command in s.get("run", "")]
        assert {"GHCR_TOKEN", "REGISTRY_USERNAME", "REGISTRY_PASSWORD", "ACTOR"} <= set(step["env"]), (workflow, job)
    assert not [run for run in all_runs() if "docker login" in run]  # no login of its own beside the script
