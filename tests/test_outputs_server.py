"""The outputs sidecar's server (images/mcp-server-ds/outputs_server.py), run in-process on
loopback against a temporary outputs directory: what it serves, under which names, with
which headers, what it refuses, and how retention empties the volume."""

from __future__ import annotations

import base64
import hashlib
import http.client
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.loopback.http import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "images" / "mcp-server-ds" / "outputs_server.py"
NAME = "0123456789abcdef0123456789abcdef"  # 32 hex digits: 128 bits
# The shape of a pandas chart as upstream's templates write it (d4892fa,
# core/chart_generators/templates/bar_template.html): two library scripts, one inline.
CHART = (
    "<!DOCTYPE html>\r\n<html><head>"
    '<script src="https://cdn.jsdelivr.net/npm/chart.js"></script>'
    '<script src="https://cdn.jsdelivr.net/npm/chartjs-plugin-datalabels@2.0.0"></script>'
    "<style>body { margin: 0 }</style></head><body><canvas id=c></canvas>\r\n"
    '<script>\r\nconst data = {"labels": ["a"]};\r\nnew Chart(document.getElementById(\'c\'), data);\r\n</script>'
    "</body></html>\r\n"
)
SOURCES = ("https://cdn.jsdelivr.net/npm/chart.js", "https://cdn.jsdelivr.net/npm/chartjs-plugin-datalabels@2.0.0")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("outputs_server", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


outputs_server = _load()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(directory: Path, **overrides: str) -> object:
    env = {
        "OUTPUTS_DIR": str(directory),
        "OUTPUTS_PORT": str(_free_port()),
        "OUTPUTS_EXTENSIONS": "png,svg,html,csv",
        "OUTPUTS_SCRIPT_SOURCES": " ".join(SOURCES),
        "OUTPUTS_MAX_AGE_SECONDS": "3600",
        "OUTPUTS_MAX_BYTES": str(10 * 2**20),
        **overrides,
    }
    return outputs_server.load_config(env)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    directory = tmp_path / "outputs"
    directory.mkdir()
    config = _config(directory)
    server, stop = outputs_server.build(config, host="127.0.0.1")
    serve_in_thread(server)
    yield directory, server.server_address[1]
    stop.set()
    server.shutdown()
    server.server_close()


def request(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------


def test_a_capability_name_is_served_read_only_with_its_type_and_guard_headers(served):
    directory, port = served
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    (directory / f"{NAME}.png").write_bytes(png)
    status, headers, body = request(port, f"/{NAME}.png")
    assert (status, body) == (200, png)
    assert headers["content-type"] == "image/png"
    assert headers["content-length"] == str(len(png))
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"
    assert headers["cache-control"].startswith("private")
    assert headers["server"] == "outputs"
    status, headers, body = request(port, f"/{NAME}.png?download=1", "HEAD")
    assert (status, body, headers["content-length"]) == (200, b"", str(len(png)))
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = request(port, f"/{NAME}.png", method)
        assert (status, headers["allow"]) == (405, "GET, HEAD"), method
    assert (directory / f"{NAME}.png").read_bytes() == png


def test_an_html_chart_runs_its_own_inline_script_and_its_named_libraries_only(served):
    directory, port = served
    (directory / f"{NAME}.html").write_bytes(CHART.encode())
    status, headers, _ = request(port, f"/{NAME}.html")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    directives = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
    # The browser hashes the script text after turning CR LF into LF (HTML parsing).
    inline = '\nconst data = {"labels": ["a"]};\nnew Chart(document.getElementById(\'c\'), data);\n'
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert directives["script-src"].split() == [f"'sha256-{digest}'", *SOURCES]
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["sandbox"] == "allow-scripts"  # no allow-same-origin: an opaque origin


def test_the_hash_is_the_one_the_csp_specification_gives():
    # CSP Level 3, "hash-source" example: <script>alert('Hello, world.');</script>
    assert outputs_server.script_hashes(b"<script>alert('Hello, world.');</script>") == [
        "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
    ]
    assert outputs_server.script_hashes(b'<script src="https://x.example/a.js"></script>') == []
    assert "script-src 'none'" in outputs_server.html_policy(b"<p>no script</p>", ())


def test_an_svg_may_style_itself_and_run_nothing(served):
    directory, port = served
    (directory / f"{NAME}.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    status, headers, _ = request(port, f"/{NAME}.svg")
    assert (status, headers["content-type"]) == (200, "image/svg+xml")
    policy = headers["content-security-policy"]
    assert "script-src" not in policy
    assert policy.startswith("default-src 'none'")
    assert policy.endswith("sandbox")


@pytest.mark.parametrize(
    "path",
    [
        "/",  # no listing
        "/?C=M;O=A",
        "/plot.png",  # a name anybody guesses
        "/chart_bar_1750000000.html",  # pandas upstream's own naming
        f"/{NAME[:31]}.png",  # 124 bits
        f"/{NAME.upper()}.png",
        f"/{NAME}.exe",
        f"/{NAME}.json",  # a type this server does not serve
        f"/{NAME}.png/",
        f"/sub/{NAME}.png",
        f"/../{NAME}.png",
        f"/%2e%2e/{NAME}.png",
        "/healthz.png",
    ],
)
def test_anything_but_an_existing_capability_name_is_not_found(served, path):
    directory, port = served
    (directory / f"{NAME}.png").write_bytes(b"png")
    (directory / "sub").mkdir()
    (directory / "sub" / f"{NAME}.png").write_bytes(b"png")
    (directory / "plot.png").write_bytes(b"png")
    (directory / "chart_bar_1750000000.html").write_text("<p>chart</p>")
    status, headers, body = request(port, path)
    assert (status, body) == (404, b"not found\n")
    assert headers["x-content-type-options"] == "nosniff"
    assert NAME not in body.decode()


def test_a_missing_name_a_symlink_or_a_fifo_is_not_found(served, tmp_path):
    directory, port = served
    secret = tmp_path / "elsewhere.png"
    secret.write_bytes(b"not an output")
    other = "f" * 32
    (directory / f"{other}.png").symlink_to(secret)
    fifo = "e" * 32
    os.mkfifo(directory / f"{fifo}.png")
    assert request(port, f"/{'a' * 32}.png")[0] == 404
    assert request(port, f"/{other}.png")[:1] == (404,)
    start = time.monotonic()
    assert request(port, f"/{fifo}.png")[0] == 404
    assert time.monotonic() - start < 5  # the open does not wait for a writer


def test_health(served):
    directory, port = served
    assert request(port, "/healthz")[:1] == (200,)
    directory.rmdir()
    assert request(port, "/healthz")[0] == 503


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------


def _file(path: Path, size: int, age: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age, now - age))
    return path


def test_retention_deletes_by_age_then_the_oldest_until_the_rest_fits(tmp_path):
    now = time.time()
    old = _file(tmp_path / "a" / f"{'1' * 32}.png", 10, 7200, now)
    kept_new = _file(tmp_path / f"{'2' * 32}.png", 400, 10, now)
    oldest_young = _file(tmp_path / f"{'3' * 32}.png", 400, 1800, now)
    middle = _file(tmp_path / f"{'4' * 32}.png", 400, 900, now)
    nested_old = _file(tmp_path / "work" / "deep" / "old.csv", 10, 9000, now)
    os.utime(tmp_path / "work" / "deep", (now - 9000, now - 9000))
    outside = tmp_path.parent / f"{tmp_path.name}-outside.png"
    outside.write_bytes(b"keep me")
    link = tmp_path / "link.png"
    link.symlink_to(outside)
    os.utime(link, (now - 7200, now - 7200), follow_symlinks=False)
    deleted = outputs_server.sweep(tmp_path, max_age_seconds=3600, max_bytes=800, now=now)
    assert not old.exists()
    assert not nested_old.exists()
    assert not link.is_symlink()
    assert not (tmp_path / "work" / "deep").exists()  # an old empty directory goes too
    assert not oldest_young.exists()  # 1200 bytes were left: the oldest goes first
    assert kept_new.exists()
    assert middle.exists()
    assert outside.read_bytes() == b"keep me"  # a symlink is removed, never followed
    assert set(deleted) >= {old, nested_old, link, oldest_young}


def test_the_sweeper_runs_beside_the_server(tmp_path):
    directory = tmp_path / "outputs"
    directory.mkdir()
    stale = _file(directory / f"{NAME}.png", 10, 600, time.time())
    server, stop = outputs_server.build(
        _config(directory, OUTPUTS_MAX_AGE_SECONDS="60", OUTPUTS_SWEEP_SECONDS="1"), host="127.0.0.1"
    )
    try:
        deadline = time.monotonic() + 10
        while stale.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not stale.exists()
    finally:
        stop.set()
        server.server_close()


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"OUTPUTS_DIR": "outputs"}, "OUTPUTS_DIR='outputs': must be the absolute path"),
        ({"OUTPUTS_EXTENSIONS": "png,exe"}, "OUTPUTS_EXTENSIONS='png,exe': name some of"),
        ({"OUTPUTS_EXTENSIONS": ""}, "OUTPUTS_EXTENSIONS='': name some of"),
        ({"OUTPUTS_MAX_BYTES": "lots"}, "OUTPUTS_MAX_BYTES='lots': must be a whole number"),
        ({"OUTPUTS_MAX_AGE_SECONDS": "5"}, "OUTPUTS_MAX_AGE_SECONDS='5': must be a whole number of at least 60"),
        ({"OUTPUTS_SCRIPT_SOURCES": "https://x.example/a.js;script-src *"}, "is not an https script URL"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_status_2(tmp_path, override, message):
    env = {
        "PATH": os.environ["PATH"],
        "OUTPUTS_DIR": str(tmp_path),
        "OUTPUTS_EXTENSIONS": "png",
        "OUTPUTS_MAX_AGE_SECONDS": "3600",
        "OUTPUTS_MAX_BYTES": "1000",
        **override,
    }
    result = subprocess.run(
        [sys.executable, "-I", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
