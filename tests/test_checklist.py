"""A fork that follows the README's first-deploy checklist (tests/checklist.py: other
organisation's values, a DNS credential sealed with a test key, prod's digests stored as
the deploy stores them) renders, passes the schemas, the charts' values contracts and
`make policy`, with no warning left but what the checklist says stays, and nothing of
this project's own configuration in what it deploys. Only the stack files are edited.

The whole suite runs on the same copies with
`make test-fork` (`python -m tests.checklist build/fork && MCPDS_STACK_DIR=build/fork make test`)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.config import StackConfig
from offline import policy_run, render
from offline.chart_contract import release_problems
from offline.harness import PROJECT_ROOT, STACK_DIR_ENV
from offline.policy_run import stack_config
from tests import checklist

# The project's own annotation keys (mcp-datascience.finetunings.ai/...) are the program's
# vocabulary, the same in every fork; any other mention of this project's domain is a leak.
OUR_ANNOTATION_PREFIX = "mcp-datascience.finetunings.ai/"


@dataclass
class Rendered:
    """`make render` and `make policy` of one checklist-applied stack."""

    config: StackConfig
    render_code: int
    warnings: list[str]
    objects: list[dict[str, Any]]
    releases: list[dict[str, Any]]
    outputs: dict[str, Any]
    text: str  # objects.yaml, releases.yaml and outputs.json as written
    policy_code: int
    policy_report: str


def _entry_point(main: Callable[[list[str]], int], argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fork")
    checklist.apply_checklist(folder)
    return folder


@pytest.fixture(scope="module")
def rendered(fork: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    out = tmp_path_factory.mktemp("render")
    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STACK_DIR_ENV, str(fork))  # what `MCPDS_STACK_DIR=... make render` does
        for stack in checklist.STACKS:
            code, _, err = _entry_point(render.main, ["--stack", stack, "--out", str(out)])
            policy_code, report, _ = _entry_point(policy_run.main, ["--stack", stack])
            files = [out / stack / name for name in ("objects.yaml", "releases.yaml", "outputs.json")]
            runs[stack] = Rendered(
                config=stack_config(stack),
                render_code=code,
                warnings=[line for line in err.splitlines() if line.startswith("warning: ")],
                objects=[o for o in render.load_all(files[0].read_text()) if o],
                releases=[r for r in render.load_all(files[1].read_text()) if r],
                outputs=json.loads(files[2].read_text()),
                text="\n".join(f.read_text() for f in files),
                policy_code=policy_code,
                policy_report=report,
            )
    return runs


def test_only_the_stack_files_are_written(fork):
    assert sorted(p.name for p in fork.iterdir()) == [f"Pulumi.{stack}.yaml" for stack in sorted(checklist.STACKS)]


@pytest.mark.parametrize("stack", checklist.STACKS)
def test_the_fork_renders_with_no_warning_but_what_the_checklist_leaves(rendered, stack):
    run = rendered[stack]
    assert run.render_code == 0
    assert run.config.domain == checklist.SETTINGS[stack]["domain"]  # the fork's file is the one read
    if stack == "dev":  # no OIDC in dev (the checklist sets it for prod), so data-exploration stays unpublished
        [warning] = run.warnings
        assert "data-exploration runs caller-supplied code" in warning
    else:  # every credential sealed, the API server named, every image by digest
        assert run.warnings == []


@pytest.mark.parametrize("stack", checklist.STACKS)
def test_the_fork_keeps_the_schemas_and_the_charts_contracts(rendered, validators, stack):
    run = rendered[stack]
    validator = validators(run.config.kubernetes_version)
    invalid = {f"{o['kind']} {o['metadata']['name']}": errs for o in run.objects if (errs := validator.errors(o))}
    assert invalid == {}
    assert release_problems(run.releases, run.config.kubernetes_version) == []


@pytest.mark.parametrize("stack", checklist.STACKS)
def test_the_fork_deploys_its_own_values_and_none_of_ours(rendered, stack):
    run = rendered[stack]
    assert run.outputs["base_url"] == f"https://{run.config.domain}"
    images = [o["spec"]["image"] for o in run.objects if o["kind"] == "MCPServer"]
    assert images
    assert all(image.startswith(f"{checklist.REGISTRY}/") for image in images)
    leaks = {m for m in re.findall(r"[\w.-]*finetunings[\w./-]*", run.text) if not m.startswith(OUR_ANNOTATION_PREFIX)}
    assert leaks == set()
    if stack == "prod":
        [oidc] = [o for o in run.objects if o["kind"] == "MCPOIDCConfig"]
        assert oidc["spec"]["inline"]["issuer"] == checklist.SETTINGS["prod"]["mcp.oidc.issuer"]
        assert all("@sha256:" in image for image in images)  # as the deploy passes them


@pytest.mark.parametrize("stack", checklist.STACKS)
def test_the_shipped_policy_config_passes_the_fork_unedited(rendered, stack):
    run = rendered[stack]
    assert run.policy_code == 0
    assert run.policy_report.rstrip().endswith("0 mandatory violation(s) in 0 policy(ies), 0 advisory: PASS")
    assert "MADE UP for this offline run" not in run.policy_report  # prod's digests are the stack's own


def test_the_readme_checklist_names_every_key_the_fork_sets():
    """The fork sets only what the README's deploy section tells a fork to set (a key, or
    its section: `mcp.oidc`), so the checklist and this test change together."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    deploy = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]

    def named(key: str) -> bool:
        return any(re.search(rf"`{re.escape(k)}[`:]", deploy) for k in (key, key.rsplit(".", 1)[0]))

    keys = {key for settings in checklist.SETTINGS.values() for key in settings}
    assert [key for key in sorted(keys) if not named(key)] == []
    credentials = {c for sealed in checklist.SEALED.values() for c in sealed}
    assert all(f"`{c}`" in deploy for c in credentials)


def _checklist_steps() -> list[tuple[str, str]]:
    """(heading, text) of each numbered step of the README's first-deploy checklist."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n### First deploy checklist\n", 1)[1].split("\nCheck the result offline first", 1)[0]
    parts = re.split(r"^\d+\. \*\*(.*?)\*\*", section, flags=re.M)[1:]
    return list(zip(parts[::2], parts[1::2], strict=True))


def test_the_fork_follows_every_step_of_the_readme_checklist():
    """The other direction: each step the README lists is applied to the copies (a prod:
    step to prod, any other to every stack), so a step added to the README without the
    fork following it fails here."""
    steps = _checklist_steps()
    assert len(steps) >= 7
    sealed_dns = {"godaddy-api-key", "cloudflare-api-token"}

    def applied(key: str, stacks: tuple[str, ...]) -> bool:
        return all(any(k == key or k.startswith(f"{key}.") for k in checklist.SETTINGS[s]) for s in stacks)

    for heading, text in steps:
        stacks = ("prod",) if heading.startswith("prod:") else checklist.STACKS
        if match := re.search(r"`([a-z_.A-Z]+)`", heading):
            assert applied(match.group(1), stacks), heading
        elif heading == "DNS-01 credential":
            assert all(sealed_dns & set(checklist.SEALED[s]) for s in stacks)
        else:  # the optional step: each key and credential it names, on some stack
            assert heading == "Optional", heading
            keys = re.findall(r"`(edge\.[a-z_]+)`", text)
            credentials = re.findall(r"the `([a-z-]+)` credential", text)
            assert keys
            assert credentials
            assert [k for k in keys if not any(applied(k, (s,)) for s in checklist.STACKS)] == []
            assert [c for c in credentials if not any(c in checklist.SEALED[s] for s in checklist.STACKS)] == []
