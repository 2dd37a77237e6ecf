"""The Pulumi engine `make e2e` builds is the releases the program runs with.

components/versions.py (ENGINE) names each release once; requirements.txt, the policy
pack's requirements and the wrapper modules under e2e/go must agree with it. Nothing
here runs Go.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import versions

ROOT = Path(__file__).resolve().parent.parent
WRAPPERS = ROOT / "e2e" / "go"


def _pins(requirements: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements.read_text(), re.M))


def _required(go_mod: Path) -> dict[str, str]:
    """module -> version of every requirement (single lines and blocks)."""
    return dict(re.findall(r"^(?:require\s+|\t)(\S+) (v\S+)", go_mod.read_text(), re.M))


@pytest.mark.parametrize("pin", versions.ENGINE, ids=lambda p: p.package)
def test_requirements_pin_each_engine_release(pin):
    assert _pins(ROOT / "requirements.txt")[pin.package] == pin.release


def test_the_policy_pack_runs_on_the_same_sdk():
    assert _pins(ROOT / "policies" / "requirements.txt")["pulumi"] == versions.PULUMI.release


def test_the_cli_module_is_the_release_tag():
    assert versions.PULUMI.go.version == "v" + versions.PULUMI.release


# wrapper (directory under e2e/go) -> the pins its go.mod must require exactly
WRAPPER_PINS = {
    "pulumi": (versions.PULUMI.go, versions.PULUMI_SDK),
    "pulumi-language-python": (versions.PULUMI_SDK,),
    "pulumi-kubernetes": (versions.PULUMI_KUBERNETES.go,),
    "pulumi-random": (versions.PULUMI_TERRAFORM_BRIDGE, versions.PULUMI_RANDOM.go),
    "pulumi-random/shim": (versions.PULUMI_RANDOM.go,),
}


@pytest.mark.parametrize(("wrapper", "pin"), [(w, p) for w, pins in WRAPPER_PINS.items() for p in pins])
def test_wrappers_require_the_pinned_versions(wrapper, pin):
    assert _required(WRAPPERS / wrapper / "go.mod").get(pin.module) == pin.version
    assert f"{pin.module} {pin.version} h1:" in (WRAPPERS / wrapper / "go.sum").read_text()
