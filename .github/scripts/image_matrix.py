"""Print the image build matrix as JSON: one entry per server image of
components/versions.py SERVER_IMAGES and per registry the stacks pull from.

    .venv/bin/python .github/scripts/image_matrix.py   # run from the repository root

Each entry is {"name", "context", "image"} with image = `<images.registry>/<repository>:<tag>`,
the exact reference the MCPServers use (components/plan.py _built_image), so what CI
pushes is what the stacks pull. The registry comes from each stack's validated config.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from components.config import PROJECT, parse_config  # noqa: E402
from components.versions import SERVER_IMAGES  # noqa: E402
from offline.harness import available_stacks, read_stack_file  # noqa: E402


def registries() -> list[str]:
    found = set()
    for stack in available_stacks(ROOT):
        raw = read_stack_file(stack, ROOT)
        prefix = f"{PROJECT}:"
        config = parse_config({k[len(prefix) :]: v for k, v in raw.items() if k.startswith(prefix)}, stack)
        found.add(config.images.registry)
    return sorted(found)


def matrix() -> list[dict[str, str]]:
    return [
        {"name": name, "context": image.context, "image": f"{registry}/{image.repository}:{image.tag}"}
        for registry in registries()
        for name, image in sorted(SERVER_IMAGES.items())
    ]


if __name__ == "__main__":
    print(json.dumps(matrix(), separators=(",", ":")))
