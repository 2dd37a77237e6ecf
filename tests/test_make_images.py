"""`make images`: every server image built with the local engine, tagged as the stack pulls
it; a clear one-line error without an engine."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from components.plan import build_plan
from components.versions import SERVER_IMAGES
from offline import images
from offline.harness import PROJECT_ROOT
from offline.policy_run import stack_config


def fake_engine(tmp_path: Path, fail_on: str = "") -> tuple[Path, Path]:
    """An executable that records each call and succeeds (fails for commands containing `fail_on`)."""
    log = tmp_path / "calls.log"
    engine = tmp_path / "bin" / "docker"
    engine.parent.mkdir()
    check = f'case "$*" in *"{fail_on}"*) exit 3;; esac\n' if fail_on else ""
    engine.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{check}exit 0\n')
    engine.chmod(engine.stat().st_mode | stat.S_IEXEC)
    return engine, log


def test_images_are_tagged_as_the_stacks_mcpservers_pull_them(tmp_path, monkeypatch, capsys):
    engine, log = fake_engine(tmp_path)
    monkeypatch.setenv("PATH", f"{engine.parent}{os.pathsep}/usr/bin:/bin")
    monkeypatch.delenv("CONTAINER_ENGINE", raising=False)
    registry = "registry.example.com/team/mcp"
    assert images.main(["--stack", "prod", "--registry", registry, "--push"]) == 0
    calls = log.read_text().splitlines()
    assert calls[0] == "info"
    builds = [c.split() for c in calls if c.startswith("build ")]
    pushes = [c.split()[1] for c in calls if c.startswith("push ")]
    assert len(builds) == len(pushes) == len(SERVER_IMAGES)
    # What the program references with that registry: the same set of image references.
    config = stack_config("prod", overrides={"images.registry": registry})
    pulled = {s.image for s in build_plan(config).servers if s.spec.built_image}
    assert {b[2] for b in builds} == set(pushes) == pulled
    contexts = {Path(b[3]).relative_to(PROJECT_ROOT).as_posix() for b in builds}
    assert contexts == {image.context for image in SERVER_IMAGES.values()}
    assert all((PROJECT_ROOT / c / "Dockerfile").is_file() for c in contexts)
    out = capsys.readouterr().out
    assert f"built and pushed {len(SERVER_IMAGES)} images" in out
    assert f"set images.registry to {registry}" in out  # the stack still pulls from its own


def test_without_push_nothing_is_pushed_and_the_stacks_registry_is_used(tmp_path, monkeypatch):
    engine, log = fake_engine(tmp_path)
    monkeypatch.setenv("CONTAINER_ENGINE", str(engine))
    assert images.main(["--stack", "dev"]) == 0
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.startswith("push ")]
    registry = stack_config("dev").images.registry
    assert all(c.split()[2].startswith(registry + "/") for c in calls if c.startswith("build "))


def test_a_failed_build_stops_with_one_line_naming_it(tmp_path, monkeypatch, capsys):
    engine, _ = fake_engine(tmp_path, fail_on="build -t")
    monkeypatch.setenv("CONTAINER_ENGINE", str(engine))
    assert images.main(["--stack", "dev"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mcpds: error: `")
    assert "build` of " in err[0]


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"PATH": "/nonexistent"}, "no container engine (docker or podman) on PATH: install Docker"),
        ({"PATH": "/nonexistent", "CONTAINER_ENGINE": "nerdctl"}, "CONTAINER_ENGINE=nerdctl is not an executable"),
    ],
)
def test_without_an_engine_the_error_is_one_line_with_the_install(environ, fragment, monkeypatch, capsys):
    monkeypatch.delenv("CONTAINER_ENGINE", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert images.main(["--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcpds: error: ")
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_an_engine_whose_daemon_is_down_is_named(tmp_path, monkeypatch, capsys):
    engine, _ = fake_engine(tmp_path, fail_on="info")
    monkeypatch.setenv("CONTAINER_ENGINE", str(engine))
    assert images.main(["--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "info` failed" in err
    assert "start the engine's daemon" in err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_registry_is_refused_before_any_build(tmp_path, monkeypatch, capsys):
    engine, log = fake_engine(tmp_path)
    monkeypatch.setenv("CONTAINER_ENGINE", str(engine))
    assert images.main(["--registry", "Not A Registry"]) == 2
    assert "--registry 'Not A Registry' must be a registry and path" in capsys.readouterr().err
    assert not log.exists()
