"""Every image the stack runs, and the digests that pin them.

A tag can be moved to other bytes; a digest cannot. No machine that builds this program
reaches a registry, so no digest is written into the repository: the deploy workflow
resolves each image the stack runs (`python -m mcpds images --stack <s>` lists them) and
passes the digests as config, `images.digests` (image reference `<repository>:<tag>` ->
`sha256:<64 hex>`). The program then puts each digest wherever the object or chart takes
one (`ImagePins`); a chart whose template only concatenates `<repository>:<tag>` gets
`<tag>@sha256:...` as its tag, which renders a reference pulled by digest.

In production (`environment` other than dev) `pulumi up` refuses an image without a
digest, the way it refuses a missing credential; `pulumi preview` and `make render` warn;
dev may run tags.
"""

from __future__ import annotations

import pulumi

from components import runtime
from components.config import PROJECT, ConfigError, StackConfig
from components.image_pins import ImagePins, parse_reference


def stack_images(config: StackConfig) -> list[str]:
    """Every image reference the stack as configured runs, as the stack names it (a
    reference a user pinned by digest keeps it), sorted: what the deploy workflow
    resolves, and what production refuses to run unpinned."""
    from components import edge, monitoring, secrets, toolhive
    from components.plan import build_plan

    servers = build_plan(config).servers
    refs = {
        *(i.ref for i in toolhive.images(config.toolhive)),
        *(s.image for s in servers),
        *(s.outputs.image for s in servers if s.outputs),  # the outputs sidecars
        *(i.ref for i in edge.images(config)),
        *(i.ref for i in monitoring.images(config)),
        *(i.ref for i in secrets.images(config)),
    }
    return sorted(refs)


def unpinned(config: StackConfig) -> list[str]:
    """The stack's image references without a digest in config (or in the reference)."""
    pins = ImagePins(config.images.digests)
    return [ref for ref in stack_images(config) if pins.digest(ref) is None]


def preflight(config: StackConfig, stack: str | None = None) -> list[str]:
    """Check the digests before the first resource is registered.

    Production, in the update step of `pulumi up`: raises `ConfigError` naming every image
    without a digest and how to provide them. Production preview or offline render: warns
    once. Dev: nothing (tags are allowed). Digests for images the stack does not run
    (left over after a version bump) are warned about in every environment. Returns the
    unpinned references."""
    stack = stack or pulumi.get_stack()
    running = {parse_reference(ref)[0] for ref in stack_images(config)}
    stale = sorted(set(config.images.digests) - running)
    if stale:
        pulumi.log.warn(
            f"images.digests has digests for images this stack does not run: {', '.join(stale)}. "
            "Remove them (a version bump leaves the old tag's digest behind)"
        )
    missing = unpinned(config)
    if not missing or not config.is_production:
        return missing
    listing = f"`python -m mcpds images --stack {stack}` lists them"
    if runtime.deploying():
        raise ConfigError(
            stack,
            [
                f"{PROJECT}:images.digests lacks {len(missing)} image(s), and production runs images by digest only: "
                f"{', '.join(missing)}",
                "the deploy workflow resolves and passes them; by hand, resolve each reference "
                f"(`docker buildx imagetools inspect <ref>`) and pipe `<ref> <digest>` lines into "
                f"`python -m mcpds images --stack {stack} --write` ({listing})",
            ],
        )
    pulumi.log.warn(
        f"{len(missing)} image(s) have no digest: in production `pulumi up` refuses them until images.digests has "
        f"them (the deploy workflow passes them; {listing})"
    )
    return missing
