"""MADE-UP image digests, for offline runs of a production stack. None of them is real.

The deploy workflow resolves the real digests at deploy time and no build machine
reaches a registry, so the repository holds none. Offline checks that must see a stack
as production deploys it (every image pinned) use these instead: each is the SHA-256 of
a sentence saying it is made up, so it can never match an image, and it differs per
image, so a test can tell which image a digest landed on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from components.config import StackConfig
from components.images import unpinned

MARKER = "made-up digest, not a real image: "


def made_up_digest(ref: str) -> str:
    return "sha256:" + hashlib.sha256(f"{MARKER}{ref}".encode()).hexdigest()


def made_up_digests(config: StackConfig) -> dict[str, str]:
    """A made-up digest for every image of the stack that has none in config."""
    return {ref: made_up_digest(ref) for ref in unpinned(config)}


def is_made_up(ref: str, digest: str) -> bool:
    return digest == made_up_digest(ref)


def as_deployed(config: StackConfig, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`overrides` plus, for a production stack, a made-up digest for each image without
    one: the stack as `pulumi up` deploys it (which refuses a production update without
    digests), for checks that must see that."""
    made_up = made_up_digests(config) if config.is_production else {}
    if not made_up:
        return dict(overrides or {})
    return {**(overrides or {}), "images.digests": {**config.images.digests, **made_up}}
