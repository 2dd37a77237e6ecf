"""The Pulumi engine `make e2e` builds is the releases the program runs with.

components/versions.py (ENGINE) names each release once; requirements.txt and the
wrapper modules under e2e/go must agree with it (the policy pack's requirements and the
workflows' CLI follow requirements.txt: tests/test_workflows.py). Nothing here runs Go.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import versions
from e2e import build
from tests.test_e2e_build import _requires

ROOT = Path(__file__).resolve().parent.parent


def _pins(requirements: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements.read_text(), re.M))


@pytest.mark.parametrize("pin", versions.ENGINE, ids=lambda p: p.package)
def test_requirements_pin_each_engine_release(pin):
    assert _pins(ROOT / "requirements.txt")[pin.package] == pin.release


def test_the_cli_module_is_the_release_tag():
    assert versions.PULUMI.go.version == "v" + versions.PULUMI.release


# Pins a wrapper needs beyond the program pin that tests/test_e2e_build.py checks: the
# CLI's SDK (pkg/v3's go.mod requires it at the same release), the bridge, and the random
# provider's commit in our shim module.
EXTRA_PINS = (
    ("pulumi", versions.PULUMI_SDK),
    ("pulumi-random", versions.PULUMI_TERRAFORM_BRIDGE),
    ("pulumi-random/shim", versions.PULUMI_RANDOM.go),
)


@pytest.mark.parametrize(("wrapper", "pin"), EXTRA_PINS, ids=[w for w, _ in EXTRA_PINS])
def test_wrappers_require_the_pinned_versions(wrapper, pin):
    assert _requires((build.WRAPPERS / wrapper / "go.mod").read_text()).get(pin.module) == pin.version
    assert f"{pin.module} {pin.version} h1:" in (build.WRAPPERS / wrapper / "go.sum").read_text()


def test_each_engine_binary_is_stamped_with_its_release():
    def ldflags(name: str) -> str:
        return next(f for f in build.BY_NAME[name].build_flags() if f.startswith("-ldflags="))

    assert f"version.Version=v{versions.PULUMI.release}" in ldflags("pulumi")
    assert f"version.Version=v{versions.PULUMI.release}" in ldflags("pulumi-language-python")
    assert f"pkg/version.Version={versions.PULUMI_KUBERNETES.release}" in ldflags("pulumi-resource-kubernetes")
    assert f"main.version={versions.PULUMI_RANDOM.release}" in ldflags("pulumi-resource-random")


def test_module_files_our_main_embeds_are_copied_beside_it_in_a_copy_of_the_wrapper(tmp_path, monkeypatch):
    """`sources` (the kubernetes provider's schema): copied into a build copy, never into e2e/go."""
    wrapper = tmp_path / "go" / "w"
    wrapper.mkdir(parents=True)
    (wrapper / "go.mod").write_text("module w\n")
    (wrapper / "main.go").write_text("package main\n")
    module = tmp_path / "module"
    (module / "cmd").mkdir(parents=True)
    schema = module / "cmd" / "schema.json"
    schema.write_text('{"name": "x"}')
    schema.chmod(0o444)  # as in the module cache
    monkeypatch.setattr(build, "WRAPPERS", tmp_path / "go")
    monkeypatch.setattr(build, "_module_dir", lambda program: module)
    pin = versions.GoModulePin("example.com/m", "v1.0.0")
    program = build.GoProgram("w", "w", "./", pin, sources=("cmd/schema.json",))

    copy = build._with_sources(program, tmp_path / "build" / "src")

    assert (copy / "schema.json").read_text() == '{"name": "x"}'
    assert (copy / "main.go").is_file()
    assert not (wrapper / "schema.json").exists()
    without = build.GoProgram("w", "w", "./", pin)
    assert build.cache_key(program, "go1.26.8") != build.cache_key(without, "go1.26.8")
