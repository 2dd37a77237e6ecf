"""Print the image build matrix as JSON: one entry per server image of
components/versions.py SERVER_IMAGES and per registry the stacks pull from.

    .venv/bin/python .github/scripts/image_matrix.py   # run from the repository root

Each entry is {"name", "context", "image"} with image = `<images.registry>/<repository>:<tag>`,
the exact reference the MCPServers use (components/plan.py _built_image) and what
`make images` builds (offline/images.py), so what CI pushes is what the stacks pull.
The registry comes from each stack's validated config.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from offline.harness import available_stacks  # noqa: E402
from offline.images import builds  # noqa: E402
from offline.policy_run import stack_config  # noqa: E402


def registries() -> list[str]:
    # Read as the program reads it: `secure:` values (secrets.pulumi.values) are secrets, not text.
    return sorted({stack_config(stack).images.registry for stack in available_stacks()})


def matrix() -> list[dict[str, str]]:
    return [
        {"name": build.name, "context": str(build.context), "image": build.ref}
        for registry in registries()
        for build in builds(registry, Path())
    ]


if __name__ == "__main__":
    print(json.dumps(matrix(), separators=(",", ":")))
