"""The offline harness's own shortcuts (offline/harness.py): each leaves what it records,
and what the SDK does after a run, as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime import resource as pulumi_resource

from offline.harness import read_stack_file, run_program
from tests.conftest import SLOWEST_FIRST

# What the SDK's stack walk finds from inside a resource constructor (Resource.__init__
# below CustomResource.__init__ below the concrete class's), as a program exports it.
WALK = """
from pulumi.runtime import resource


class Base:
    def __init__(self):
        self.frames = len(resource._get_stack_trace().frames)


class Custom(Base):
    def __init__(self):
        super().__init__()


class Concrete(Custom):
    def __init__(self):
        super().__init__()
"""
PROGRAM = (
    WALK
    + """
import pulumi

pulumi.export("frames", Concrete().frames)
if pulumi.Config("probe").get_bool("fail"):
    raise RuntimeError("asked to fail")
"""
)


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "__main__.py").write_text(PROGRAM)
    (tmp_path / "Pulumi.yaml").write_text("name: probe\nruntime: python\n")
    return tmp_path


def test_a_run_sends_no_stack_traces_and_restores_the_sdks_walk(probe: Path):
    walk = pulumi_resource._get_stack_trace
    scope: dict[str, object] = {}
    exec(WALK, scope)
    assert scope["Concrete"]().frames > 0, "outside a run the SDK walks the stack"
    run = run_program("probe", config={}, root=probe)
    assert run.outputs == {"frames": 0}
    assert pulumi_resource._get_stack_trace is walk


def test_a_failed_run_restores_the_sdks_walk_too(probe: Path):
    walk = pulumi_resource._get_stack_trace
    with pytest.raises(RuntimeError, match="asked to fail"):
        run_program("probe", config={"probe:fail": True}, root=probe)
    assert pulumi_resource._get_stack_trace is walk


def test_a_stack_file_read_twice_gives_independent_copies(tmp_path: Path):
    (tmp_path / "Pulumi.one.yaml").write_text("config:\n  mcp-datascience:mcp:\n    servers: [a, b]\n")
    first = read_stack_file("one", tmp_path)
    first["mcp-datascience:mcp"]["servers"].append("changed by the caller")
    assert read_stack_file("one", tmp_path) == {"mcp-datascience:mcp": {"servers": ["a", "b"]}}


def test_a_stack_file_is_read_anew_when_its_text_changes(tmp_path: Path):
    path = tmp_path / "Pulumi.one.yaml"
    path.write_text("config:\n  mcp-datascience:domain: a.example.org\n")
    assert read_stack_file("one", tmp_path) == {"mcp-datascience:domain": "a.example.org"}
    path.write_text("config:\n  mcp-datascience:domain: b.example.org\n")  # the same length
    assert read_stack_file("one", tmp_path) == {"mcp-datascience:domain": "b.example.org"}


def test_the_slowest_first_files_exist():
    tests = Path(__file__).resolve().parent
    missing = [name for name in SLOWEST_FIRST if not (tests / name).is_file()]
    assert not missing, f"tests/conftest.py SLOWEST_FIRST names files that are gone: {missing}"
