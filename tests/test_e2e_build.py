"""The e2e build driver (e2e/build.py): wrapper modules agree with the pins, caching works.

Nothing here runs the Go compiler; `make e2e` does.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from components import versions
from e2e import build
from offline.chart_contract import find_contract_dir

WRAPPER_NAMES = sorted({p.wrapper for p in build.PROGRAMS})


def _go_mod(wrapper: str) -> str:
    return (build.WRAPPERS / wrapper / "go.mod").read_text()


def _requires(go_mod: str) -> dict[str, str]:
    """module -> version of every require line (block or single)."""
    out: dict[str, str] = {}
    for block in re.findall(r"^require \((.*?)^\)", go_mod, re.S | re.M):
        for line in block.splitlines():
            words = line.split()
            if len(words) >= 2 and not words[0].startswith("//"):
                out[words[0]] = words[1]
    for module, version in re.findall(r"^require (\S+) (\S+)", go_mod, re.M):
        if module != "(":
            out[module] = version
    return out


def _replaces(go_mod: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for old, new, version in re.findall(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+(\S+)\s+(\S+)\s*$", go_mod, re.M):
        out[old] = (new, version)
    return out


def _tools(go_mod: str) -> set[str]:
    tools = set(re.findall(r"^tool (\S+)$", go_mod, re.M))
    for block in re.findall(r"^tool \((.*?)^\)", go_mod, re.S | re.M):
        tools |= {line.strip() for line in block.splitlines() if line.strip()}
    return tools


@pytest.mark.parametrize("program", build.PROGRAMS, ids=lambda p: p.name)
def test_wrapper_requires_the_pinned_module_version(program):
    go_mod = _go_mod(program.wrapper)
    assert _requires(go_mod).get(program.pin.module) == program.pin.version
    go_sum = (program.wrapper_dir / "go.sum").read_text()
    assert f"{program.pin.module} {program.pin.version} h1:" in go_sum


@pytest.mark.parametrize("program", build.PROGRAMS, ids=lambda p: p.name)
def test_upstream_mains_are_tools_of_their_wrapper(program):
    """A `tool` line keeps the main's packages in go.mod/go.sum (go mod tidy keeps them)."""
    if program.package.startswith("./"):
        assert (program.wrapper_dir / program.package / "main.go").is_file()
    else:
        assert program.package in _tools(_go_mod(program.wrapper))


def test_every_kubernetes_staging_module_is_replaced_by_the_pinned_patch_release():
    replaces = _replaces(_go_mod("kubernetes"))
    # k8s.io/kubernetes 1.34 maps 31 staging modules to ./staging/src/k8s.io/<name>
    assert len(replaces) >= 30
    assert all(
        new == old and version == versions.KUBERNETES_STAGING_VERSION for old, (new, version) in replaces.items()
    )
    assert "v0." + ".".join(versions.KUBERNETES.version.split(".")[1:]) == versions.KUBERNETES_STAGING_VERSION


def test_kubernetes_minor_is_the_stacks_default():
    from components.config import StackConfig

    default = StackConfig.model_fields["kubernetes_version"].default
    assert versions.KUBERNETES.version.startswith(f"v{default}.")


def test_controller_pins_follow_the_charts():
    """The controllers built for make e2e are the ones the pinned charts install: ToolHive's
    images all at the chart's version, Sealed Secrets at the chart's appVersion."""
    toolhive_tags = {image.tag for image in versions.TOOLHIVE_IMAGES.values()}
    assert toolhive_tags == {versions.TOOLHIVE.version} == {f"v{versions.TOOLHIVE_OPERATOR.version}"}
    chart = yaml.safe_load(
        (find_contract_dir(versions.SEALED_SECRETS.chart, versions.SEALED_SECRETS.version) / "Chart.yaml").read_text()
    )
    assert versions.SEALED_SECRETS_CONTROLLER.version == f"v{chart['appVersion']}"


def test_every_wrapper_has_a_program():
    on_disk = sorted(p.name for p in build.WRAPPERS.iterdir() if (p / "go.mod").is_file())
    assert on_disk == WRAPPER_NAMES


def test_version_stamps_carry_the_pin():
    flags = build.BY_NAME["kube-apiserver"].build_flags()
    ldflags = next(f for f in flags if f.startswith("-ldflags="))
    assert f"k8s.io/component-base/version.gitVersion={versions.KUBERNETES.version}" in ldflags
    assert "gitMinor=34" in ldflags
    operator = next(f for f in build.BY_NAME["thv-operator"].build_flags() if f.startswith("-ldflags="))
    assert f"pkg/versions.Version={versions.TOOLHIVE.version}" in operator


def test_cache_key_changes_with_go_flags_and_wrapper(tmp_path, monkeypatch):
    wrapper = tmp_path / "go" / "x"
    wrapper.mkdir(parents=True)
    (wrapper / "go.mod").write_text("module x\n")
    monkeypatch.setattr(build, "WRAPPERS", tmp_path / "go")
    program = build.GoProgram("x", "x", "example.com/x", versions.GoModulePin("example.com/x", "v1.0.0"))
    key = build.cache_key(program, "go1.26.8 linux amd64")
    assert build.cache_key(program, "go1.26.9 linux amd64") != key
    tagged = build.GoProgram("x", "x", "example.com/x", program.pin, tags=("osusergo",))
    assert build.cache_key(tagged, "go1.26.8 linux amd64") != key
    (wrapper / "go.sum").write_text("example.com/y v1 h1:x\n")
    assert build.cache_key(program, "go1.26.8 linux amd64") != key


def test_a_cached_binary_is_not_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("E2E_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "go_version", lambda: "go1.26.8 linux amd64")

    def no_build(*_args, **_kwargs):
        raise AssertionError("a cached program was built again")

    monkeypatch.setattr(build, "_build", no_build)
    program = build.BY_NAME["etcd"]
    target = build.binary_path(program, "go1.26.8 linux amd64")
    target.parent.mkdir(parents=True)
    target.write_text("")
    lines: list[str] = []
    paths = build.ensure(["etcd"], report=lines.append)
    assert paths == {"etcd": target}
    assert len(lines) == 1
    assert "cached" in lines[0]
    assert target.is_relative_to(tmp_path)


def test_unknown_program_is_one_line_exit_2(capsys):
    assert build.main(["etcd", "kubelet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "unknown program kubelet" in err[0]
    assert "kube-apiserver" in err[0]


def test_missing_go_is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(build.shutil, "which", lambda _name: None)
    assert build.main(["etcd"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("e2e.build: error: go is not on PATH")


def test_cache_is_git_ignored():
    ignored = (Path(build.ROOT) / ".gitignore").read_text().splitlines()
    assert ".cache/" in ignored


def _file_proxy(root: Path, module: str, version: str, files: dict[str, str]) -> str:
    """A GOPROXY=file:// holding one module version (the module proxy protocol's layout)."""
    at = root / module / "@v"
    at.mkdir(parents=True)
    (at / "list").write_text(f"{version}\n")
    (at / f"{version}.info").write_text(json.dumps({"Version": version}))
    (at / f"{version}.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(at / f"{version}.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{module}@{version}/{name}", text)
    return root.as_uri()


def test_module_files_are_found_on_a_cold_module_cache(tmp_path, monkeypatch):
    """A fresh machine's module cache holds nothing yet: the build must download the pinned
    module before it copies files out of it (`go list -m` alone names no directory then)."""
    if build.shutil.which("go") is None:
        pytest.fail("go is not on PATH: install Go 1.26 or newer (make e2e needs it too)")
    module, version = "example.com/upstream", "v1.2.3"
    proxy = _file_proxy(
        tmp_path / "proxy", module, version, {"go.mod": f"module {module}\n\ngo 1.22\n", "schema.json": "{}\n"}
    )
    wrapper = tmp_path / "go" / "w"
    wrapper.mkdir(parents=True)
    (wrapper / "go.mod").write_text(f"module example.com/wrapper\n\ngo 1.22\n\nrequire {module} {version}\n")
    monkeypatch.setattr(build, "WRAPPERS", tmp_path / "go")
    for key, value in {
        "GOPROXY": proxy,
        "GOMODCACHE": str(tmp_path / "modcache"),
        "GOFLAGS": "-mod=mod",
        "GONOSUMDB": "example.com",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
    }.items():
        monkeypatch.setenv(key, value)
    program = build.GoProgram("x", "w", "./x", versions.GoModulePin(module, version), sources=("schema.json",))
    directory = build._module_dir(program)
    assert (directory / "schema.json").read_text() == "{}\n"
    assert directory.is_relative_to(tmp_path / "modcache")

    missing = build.GoProgram("x", "w", "./x", versions.GoModulePin("example.com/absent", "v0.0.1"))
    with pytest.raises(build.BuildError, match=r"cannot download example\.com/absent"):
        build._module_dir(missing)
