"""How an image reference carries its digest: in the reference itself, or in a chart's
values the way that chart's template reads it.

Pure (imports nothing of the config model), so the plan and every component can apply
the digests of `images.digests` (components/images.py says where they come from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.versions import Image

# How a chart's values take a digest (each chart's template is cited where it is used):
# - "digest": `digest: sha256:<hex>` beside repository and tag;
# - "sha": `sha: <hex>`, the template writes `@sha256:` itself;
# - "sha256": `sha: sha256:<hex>`, the template writes only `@`;
# - "tag": no digest value at all: the tag becomes `<tag>@sha256:<hex>`.
DigestStyle = Literal["digest", "sha", "sha256", "tag"]


def parse_reference(ref: str) -> tuple[str, str | None]:
    """`repo:tag@sha256:...` -> (`repo:tag`, `sha256:...`); no digest -> (ref, None)."""
    name, _, digest = ref.partition("@")
    return name, digest or None


@dataclass(frozen=True)
class ImagePins:
    """The digests the deploy passed (`images.digests`), applied to image references."""

    digests: Mapping[str, str] = field(default_factory=dict)

    def digest(self, image: Image | str) -> str | None:
        ref = image.ref if isinstance(image, Image) else image
        name, pinned = parse_reference(ref)
        return pinned or self.digests.get(name)

    def ref(self, image: Image | str) -> str:
        """The reference to run: `<repository>:<tag>@<digest>` when the digest is known."""
        ref = image.ref if isinstance(image, Image) else image
        name, _ = parse_reference(ref)
        digest = self.digest(ref)
        return f"{name}@{digest}" if digest else name

    def chart_image(self, image: Image, style: DigestStyle, *, split_registry: bool = False) -> dict[str, Any]:
        """A chart's `image` block for `image`, with its digest in the chart's own way."""
        block: dict[str, Any] = (
            {"registry": image.registry, "repository": image.path}
            if split_registry
            else {"repository": image.repository}
        )
        block["tag"] = image.tag
        digest = self.digest(image)
        if digest is not None:
            if style == "digest":
                block["digest"] = digest
            elif style == "sha":
                block["sha"] = digest.removeprefix("sha256:")
            elif style == "sha256":
                block["sha"] = digest
            else:
                block["tag"] = f"{image.tag}@{digest}"
        return block
