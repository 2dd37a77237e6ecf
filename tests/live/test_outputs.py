"""A figure saved by the real data exploration server, opened by the URL its answer gives.

The server runs from its recipe (mcp-server-ds 0.1.5 with matplotlib, the image's ENV
with MPLBACKEND=Agg) as the rendered MCPServer starts it, and the outputs sidecar from
the same recipe as the rendered pod's `outputs` container starts it, the two sharing the
outputs volume as the pod's containers do (launch.pod_volumes). The loopback edge (nginx,
prefix-stripped like the edge) publishes the sidecar at <route>/outputs/. A client calls
`run_script` with the script docs/workflows.md gives, reads the URL from the answer,
fetches the figure through the edge, and finds a guessed name and the listing refused.

The dev stack does not publish data exploration (no OIDC there), so its rendered
OUTPUTS_BASE_URL is empty; like Penrose's PUBLIC_BASE_URL (tests/live/conftest.py), it is
pointed at the loopback edge.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from components import outputs as sidecar
from components.catalog import CATALOG
from offline.harness import PROJECT_ROOT
from tests.live import launch
from tests.live.recipes import LIVE
from tests.loopback import deployment as lb

SERVER = "data-exploration"
RECIPE = re.compile(r"### Save a figure \(data exploration\).*?```python\n(.*?)```", re.S)


def docs_recipe() -> str:
    """The script docs/workflows.md tells users to run."""
    match = RECIPE.search((PROJECT_ROOT / "docs" / "workflows.md").read_text())
    assert match, "docs/workflows.md has no 'Save a figure' python block"
    return match.group(1)


class Published:
    def __init__(self, base: str, volume: Path, sidecar_pid: int) -> None:
        self.base = base  # the outputs base URL the server's env names
        self.volume = volume  # the outputs volume, as the sidecar sees it
        self.sidecar_pid = sidecar_pid


@pytest.fixture(scope="module")
def published(live_network, mcpservers, tmp_path_factory) -> Iterator[tuple[Published, launch.Launch]]:
    """The sidecar and the edge started; how to start the server (the client starts it)."""
    mcpserver = mcpservers[SERVER]
    run_dir = tmp_path_factory.mktemp("outputs")
    edge_port = lb.free_port()
    base = f"http://127.0.0.1:{edge_port}{CATALOG[SERVER].path}/outputs"
    server = launch.prepare(LIVE[SERVER], mcpserver, run_dir, {"OUTPUTS_BASE_URL": base})
    files = launch.start(launch.prepare_container(LIVE[SERVER], mcpserver, sidecar.CONTAINER, run_dir))
    nginx = None
    try:
        lb.wait_port(sidecar.PORT, files.proc)
        nginx, _ = lb.start_nginx({f"{CATALOG[SERVER].path}/outputs": sidecar.PORT}, edge_port)
        volume = Path(server.env["OUTPUTS_DIR"])
        yield Published(base, volume, files.proc.pid), server
    finally:
        if nginx is not None:
            lb.stop(nginx.proc)
        files.stop()


async def _run_script(server: launch.Launch, script: str) -> str:
    params = StdioServerParameters(command=server.argv[0], args=server.argv[1:], env=server.env, cwd=server.cwd)
    async with Client(params, mode="legacy", cache=None) as client:
        result = await client.call_tool("run_script", {"script": script})
        assert not result.is_error, result
        return "\n".join(getattr(c, "text", "") for c in result.content)


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


def test_a_figure_from_run_script_opens_at_the_url_the_answer_gives(published):
    files, server = published
    answer = anyio.run(_run_script, server, docs_recipe())
    print(f"run_script: {answer!r}")
    match = re.search(re.escape(files.base) + r"/[0-9a-f]{32}\.png", answer)
    assert match, answer
    url = match.group(0)
    # The volume holds the figure where the server wrote it, under that name.
    assert (files.volume / url.rsplit("/", 1)[1]).is_file()
    response = httpx2.get(url, timeout=30)
    assert response.status_code == 200, response.text[:200]
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(response.content) > 5000  # a drawn figure, not a stub
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    print(f"figure: {len(response.content)} B; sidecar RSS {_rss_kib(files.sidecar_pid)} KiB")


@pytest.mark.parametrize(
    "name",
    ["", "figure.png", "plot.png", "outputs.png", "index.html", f"{secrets.token_hex(16)}.png", "../mcp", "%2e%2e/"],
)
def test_a_guessed_name_and_the_listing_are_refused(published, name):
    files, _ = published
    (files.volume / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n a figure saved under a guessable name")
    response = httpx2.get(f"{files.base}/{name}", timeout=30)
    assert response.status_code == 404, (name, response.status_code, response.text[:200])
    assert b"figure" not in response.content


def test_the_sidecar_stays_small(published):
    """Its memory limit (components/outputs.py RESOURCES) against what it uses after serving."""
    files, _ = published
    limit_kib = int(sidecar.RESOURCES["limits"]["memory"].removesuffix("Mi")) * 1024
    rss = _rss_kib(files.sidecar_pid)
    print(f"sidecar RSS {rss} KiB, limit {limit_kib} KiB")
    assert rss < limit_kib / 2
