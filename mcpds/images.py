"""`python -m mcpds images`: the images a stack runs, and their digests in its config.

Production runs every image by digest (components/images.py). Nothing in the repository
holds a digest: the deploy workflow lists the references, resolves each against its
registry, and stores the result in the workflow's copy of the stack file.

    python -m mcpds images --stack prod            # references that have no digest yet
    python -m mcpds images --stack prod --all      # every reference, `<ref> <digest|->`
    ... | python -m mcpds images --stack prod --write    # stdin: `<ref> <digest>` lines

`--write` sets `mcp-datascience:images.digests` in `Pulumi.<stack>.yaml` as `pulumi
config set --path` would (rest of the file kept, replaced atomically): the digests read,
plus those already there for images the stack still runs; digests of images it no longer
runs are dropped. Every line is checked first (a reference the stack runs, a
`sha256:<64 hex>` digest); on any error nothing is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from mcpds.cli import CliError
from mcpds.stackfile import atomic_write, load_stack, plain_value

PROJECT = "mcp-datascience"
IMAGES_KEY = f"{PROJECT}:images"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_STACK = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _stack_config(config: Any, stack: str, path: Path) -> Any:
    """The stack's validated config (secure values as placeholders), or a one-line error."""
    from components.config import ConfigError
    from components.stack_config import parse_config

    raw: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for full, value in config.items():
        if str(full).startswith(f"{PROJECT}:"):
            key = str(full).removeprefix(f"{PROJECT}:")
            raw[key], secret = plain_value(value)
            if secret:
                secret_keys.add(key)
    try:
        return parse_config(raw, stack, frozenset(secret_keys))
    except ConfigError as exc:
        first = exc.problems[0] if exc.problems else str(exc)
        raise CliError(f"{path.name} does not load ({first}): fix it first (`make render STACK={stack}`)") from None


def read_digests(lines: list[str], running: set[str]) -> dict[str, str]:
    """`<ref> <digest>` lines (blank lines and `#` comments skipped) -> {ref: digest}."""
    out: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        if len(parts) != 2:
            raise CliError(f"stdin line {number}: expected `<image reference> <digest>`, got {text!r}")
        ref, digest = parts
        if ref not in running:
            raise CliError(
                f"stdin line {number}: {ref} is not an image this stack runs "
                "(`python -m mcpds images --all` lists them)"
            )
        if not _DIGEST.match(digest):
            raise CliError(f"stdin line {number}: {digest!r} is not a digest sha256:<64 lowercase hex digits>")
        out[ref] = digest
    return out


def write_digests(path: Path, digests: dict[str, str]) -> None:
    from ruamel.yaml.comments import CommentedMap

    yaml, document, config = load_stack(path)
    images = config.get(IMAGES_KEY)
    if images is None:
        images = config[IMAGES_KEY] = CommentedMap()
    if not isinstance(images, dict):
        raise CliError(f"{path.name}: `{IMAGES_KEY}` is not a mapping; cannot set images.digests inside it")
    if digests:
        images["digests"] = CommentedMap(sorted(digests.items()))
    else:
        images.pop("digests", None)
    atomic_write(path, yaml, document)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "images",
        help="list a stack's images, or store their digests in Pulumi.<stack>.yaml",
        description="Print the image references a stack runs that have no digest in its config (--all: every "
        "one), or, with --write, store `<ref> <digest>` lines from stdin as images.digests.",
    )
    parser.add_argument("--stack", required=True, help="stack whose Pulumi.<stack>.yaml is read (and written)")
    parser.add_argument("--all", action="store_true", help="every reference, with its digest or `-`")
    parser.add_argument("--write", action="store_true", help="read `<ref> <digest>` lines from stdin and store them")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="where Pulumi.<stack>.yaml is (default .)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from components.image_pins import ImagePins, parse_reference
    from components.images import stack_images

    if not _STACK.match(args.stack):
        raise CliError(f"--stack {args.stack!r} is not a stack name")
    if args.write and args.all:
        raise CliError("--all lists, --write stores: use one")
    path = args.project_dir / f"Pulumi.{args.stack}.yaml"
    _, _, raw = load_stack(path)
    config = _stack_config(raw, args.stack, path)
    refs = stack_images(config)
    pins = ImagePins(config.images.digests)
    if not args.write:
        for ref in refs:
            digest = pins.digest(ref)
            if args.all:
                print(f"{ref} {digest or '-'}")
            elif digest is None:
                print(ref)
        return 0
    running = {parse_reference(ref)[0] for ref in refs}
    new = read_digests(sys.stdin.read().splitlines(), running)
    kept = {ref: digest for ref, digest in config.images.digests.items() if ref in running}
    write_digests(path, {**kept, **new})
    dropped = sorted(set(config.images.digests) - running)
    print(
        f"wrote {len(new)} digest(s) to {IMAGES_KEY}.digests in {path}"
        + (f"; dropped {len(dropped)} for images the stack no longer runs" if dropped else ""),
        file=sys.stderr,
    )
    return 0
