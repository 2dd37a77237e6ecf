"""Start pandas-mcp-server d4892fa so that every chart it draws gets a URL users can open.

Upstream's `generate_chartjs_tool` writes each chart to
`<install root>/charts/chart_<type>_<epoch seconds>.html` and answers with that path
(core/chart_generators/base.py `ChartGenerator._save_chart` at d4892fa75174, which does
not read PANDAS_MCP_CHARTS_DIR: only core/config.py does, to create that directory at
import). A path inside the pod is of no use to a remote client, and a name made of the
chart type and the second it was drawn is one anybody can guess. This launcher runs
upstream's own server.py with that one method wrapped: the chart just written is renamed
in place to `<32 hex digits>.html` (128 random bits; the directory is the outputs volume
the stack mounts at /opt/pandas-mcp-server/charts), and the answer's `html_path` names
the new file and `url` gives `$OUTPUTS_BASE_URL/<name>`, where the stack serves it (README,
Outputs users can open). Every other tool and answer is upstream's. The method also prints DEBUG lines to stdout,
which is the stdio server's protocol stream; while it runs they go to stderr.

Env: OUTPUTS_BASE_URL (unset: the stack does not publish this server's outputs, and the
answer carries no `url`).
"""

from __future__ import annotations

import contextlib
import os
import runpy
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

UPSTREAM = Path("/opt/pandas-mcp-server")


def publish(result: Any, base_url: str | None) -> Any:
    """An answer of `_save_chart`, with its chart renamed to an unguessable name and, when
    the outputs are published, the chart's URL."""
    if not isinstance(result, dict) or result.get("status") != "SUCCESS" or not result.get("html_path"):
        return result  # an error answer: nothing was written
    written = Path(str(result["html_path"]))
    target = written.with_name(secrets.token_hex(16) + written.suffix)
    os.replace(written, target)
    answer = {**result, "html_path": str(target)}
    if base_url:
        answer["url"] = f"{base_url.rstrip('/')}/{target.name}"
    return answer


def wrap_save_chart(generator: type, base_url: str | None) -> None:
    """Wrap `generator._save_chart(self, config, title)` with `publish`."""
    save: Callable[..., Any] = generator._save_chart

    def _save_chart(self: Any, config: Any, title: str = "Chart") -> Any:
        with contextlib.redirect_stdout(sys.stderr):
            result = save(self, config, title)
        return publish(result, base_url)

    generator._save_chart = _save_chart


def main() -> None:
    sys.path.insert(0, str(UPSTREAM))  # server.py imports its `core` package from beside it
    from core.chart_generators.base import ChartGenerator  # type: ignore[import-not-found]

    wrap_save_chart(ChartGenerator, os.environ.get("OUTPUTS_BASE_URL") or None)
    server = UPSTREAM / "server.py"
    sys.argv[0] = str(server)
    runpy.run_path(str(server), run_name="__main__")


if __name__ == "__main__":
    main()
