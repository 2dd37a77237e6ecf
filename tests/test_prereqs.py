"""`make test` checks its system prerequisites first and names each missing one with its
install command; the README lists the same ones."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

from offline import chart_contract, prereqs
from offline.harness import PROJECT_ROOT


def fake(bin_dir: Path, name: str, output: str = "") -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_every_missing_tool_is_named_with_its_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(prereqs.os, "access", lambda *_: False)  # no /usr/sbin/nginx either
    empty = tmp_path / "empty"
    empty.mkdir()
    problems = prereqs.missing(
        {"PATH": str(empty), "CRD_SCHEMA_DIR": str(tmp_path), "CHART_CONTRACT_DIR": str(tmp_path)}
    )
    assert [p.split(":")[0] for p in problems] == ["nginx", "openssl", "jq", "node"]
    assert "apt-get install nginx" in problems[0]
    assert "apt-get install openssl" in problems[1]
    assert "apt-get install jq" in problems[2]
    assert "Node.js 20.19 or newer with npm" in problems[3]


def test_an_old_node_and_a_missing_npm_are_named(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("nginx", "openssl", "jq"):
        fake(bin_dir, tool)
    fake(bin_dir, "node", "v18.20.1")
    env = {"PATH": str(bin_dir), "CRD_SCHEMA_DIR": str(tmp_path), "CHART_CONTRACT_DIR": str(tmp_path)}
    assert prereqs.missing(env) == [f"node (found 18.20): {prereqs.INSTALL['node']}"]
    fake(bin_dir, "node", "v20.19.0")
    assert prereqs.missing(env) == [f"npm: {prereqs.INSTALL['npm']}"]
    fake(bin_dir, "npm", "10.8.2")
    assert prereqs.missing(env) == []


def test_missing_crd_schemas_point_to_make_crds(tmp_path, monkeypatch):
    monkeypatch.setattr(prereqs, "crd_dirs", lambda env: [tmp_path / "none"])
    assert any("CRD schemas: run `make crds`" in p for p in prereqs.missing())


def test_missing_chart_contracts_are_named(tmp_path, monkeypatch):
    env = {"PATH": "", "CRD_SCHEMA_DIR": str(tmp_path), "CHART_CONTRACT_DIR": str(tmp_path / "none")}
    assert [p for p in prereqs.missing(env) if p.startswith("chart values contracts: set CHART_CONTRACT_DIR")]
    # the folder the chart tests read when the variable is unset (offline/chart_contract.py)
    monkeypatch.delenv("CHART_CONTRACT_DIR", raising=False)
    assert prereqs.chart_contract_dir({}) == chart_contract.contract_roots()[0]


def test_the_check_runs_without_the_venv():
    """`make test` runs it with the system python3 before `.venv` exists: stdlib only."""
    code = "import json, sys, offline.prereqs; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-E", "-s", "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert not {"yaml", "pydantic", "pulumi", "components", "mcpds"} & set(json.loads(out.stdout))


def test_the_readme_lists_the_prerequisites_in_one_line():
    readme = (PROJECT_ROOT / "README.md").read_text()
    [line] = [ln for ln in readme.splitlines() if ln.startswith("System prerequisites of `make test`:")]
    for tool in ("nginx", "openssl", "jq", "Node.js 20.19", "npm", "make crds", "CHART_CONTRACT_DIR"):
        assert tool in line, tool
    assert re.search(r"checks them first", line)
