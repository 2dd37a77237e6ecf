"""The offline render: files, ordering, types, redaction, any stack file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from components import versions
from offline import render
from offline.harness import PROJECT_ROOT, StackFileError, read_stack_file
from tests.stackconfig import BASE


def _render(tmp_path: Path, stack: str, root: Path | None = None) -> tuple[list, list, str]:
    out = tmp_path / "render"
    assert render.main(["--stack", stack, "--out", str(out), *(["--root", str(root)] if root else [])]) == 0
    objects = render.load_all((out / stack / "objects.yaml").read_text())
    releases = render.load_all((out / stack / "releases.yaml").read_text())
    return objects, releases, (out / stack / "objects.yaml").read_text()


def test_dev_and_prod_render_the_operator(tmp_path, capsys):
    for stack in ("dev", "prod"):
        objects, releases, _ = _render(tmp_path, stack)
        assert {"kind": "Namespace", "name": "toolhive-system"} in [
            {"kind": o["kind"], "name": o["metadata"]["name"]} for o in objects
        ]
        # The pins in components/versions.py, whole chart references included.
        charts = {r["chart"]: r["version"] for r in releases}
        for pin in (versions.TOOLHIVE_OPERATOR_CRDS, versions.TOOLHIVE_OPERATOR):
            assert charts[pin.chart] == pin.version
        for r in releases:
            assert set(r) == {"name", "namespace", "chart", "repository", "version", "values"}
    printed = capsys.readouterr().out
    assert "v1 Namespace" in printed
    assert "Helm releases" in printed


@pytest.fixture(scope="module")
def prod_render(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list, str]:
    """prod rendered once by the command, read by the tests below (none changes it)."""
    return _render(tmp_path_factory.mktemp("prod"), "prod")


def test_objects_are_sorted_and_start_with_api_version(prod_render):
    objects, _, text = prod_render
    keys = [(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects]
    assert keys == sorted(keys)
    assert text.startswith("apiVersion:")


def test_ints_stay_ints(prod_render):
    _, releases, _ = prod_render
    operator = next(r for r in releases if r["name"] == "toolhive-operator")
    uid = operator["values"]["operator"]["containerSecurityContext"]["runAsUser"]
    assert uid == 1000
    assert isinstance(uid, int)


def test_any_stack_file_renders(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    shutil.copytree(PROJECT_ROOT / "components", project / "components", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "Pulumi.staging.yaml").write_text(
        "config:\n  mcp-datascience:domain: staging.finetunings.ai\n  mcp-datascience:toolhive:\n    rbac_scope: cluster\n"
        "  mcp-datascience:mcp: " + json.dumps(BASE["mcp"]) + "\n"
    )
    objects, releases, _ = _render(tmp_path, "staging", root=project)
    operator = next(r for r in releases if r["name"] == "toolhive-operator")
    assert operator["values"]["operator"]["rbac"]["scope"] == "cluster"
    assert any(o["metadata"]["name"] == "data-science" for o in objects)


def test_unknown_stack_is_a_clear_error(capsys):
    assert render.main(["--stack", "nope"]) == 2
    err = capsys.readouterr().err
    assert "No stack file Pulumi.nope.yaml" in err
    assert "dev, prod" in err


def test_bad_arguments_are_one_line_errors_before_the_run(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.latin1.yaml").write_bytes(b"config:\n  mcp-datascience:domain: caf\xe9.ai\n")
    cases = [
        (["--stack", "../etc"], "is not a stack name"),
        (["--stack", "dev", "--out", str(afile)], "is a file, not a directory"),
        (["--stack", "dev", "--out", str(afile / "deeper")], "is a file, not a directory"),
        (["--stack", "latin1", "--root", str(project)], "is not UTF-8 text"),
    ]
    for argv, expected in cases:
        assert render.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("mcpds: error: "), (argv, err)
        assert expected in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert afile.read_text() == "x"  # nothing overwritten


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"config:\n  mcp-datascience:domain: caf\xe9.ai\n", "is not UTF-8 text (byte 37): save it as UTF-8"),
        (b"config:\n  mcp-datascience:edge: {replicas: 2\n", "is not valid YAML at line 3, column 1:"),
    ],
)
def test_unreadable_stack_file_is_one_line(tmp_path, content, fragment):
    """Every entry point (render, policy run, tests) reads stack files through the harness."""
    (tmp_path / "Pulumi.broken.yaml").write_bytes(content)
    with pytest.raises(StackFileError) as caught:
        read_stack_file("broken", tmp_path)
    message = str(caught.value)
    assert message.startswith("Pulumi.broken.yaml ")
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_c_yaml_writer_writes_the_same_bytes_as_the_python_one(stack_runs, stack):
    assert issubclass(render.CDumper, yaml.CSafeDumper), "the pinned PyYAML wheel ships libyaml"
    run = stack_runs[stack]
    for documents in (run.objects(), run.releases()):
        assert render.dump_all(documents) == render.dump_all(documents, render.PythonDumper)
    assert ": |" in render.dump_all(run.objects())  # multi-line strings (dashboards) as literal blocks


def test_the_c_yaml_writer_matches_on_awkward_strings():
    awkward = {
        "block": "line 1\nline 2 \n",
        "blank lines": "a\n\n\nb\n\n",
        "indented": "  leading\nx",
        "unicode": "ünïcødé ✓ 😀",
        "long": "word " * 60,
        "bools and numbers": ["yes", "no", "on", "0123", "1e3", "0x1f", "~", "null"],
        "syntax": ["a: b", "- x", "#c", "!tag", "&a", "*a", "{x}", "[y]", "%d", "@", "`"],
        "whitespace": ["tab\there", "end ", " start", "", "line\r\nwin", "\u2028"],
        "non-strings": [None, 1.5, True, 10**20, [], {}],
    }
    assert render.dump_all([awkward]) == render.dump_all([awkward], render.PythonDumper)
