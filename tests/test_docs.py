"""The documentation cannot drift from the code: the configuration table of
docs/configuration.md against the config model (both directions), the README's Layout
against the repository's directories, and every link, anchor and `make` target of the
README and of every page in docs/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from components.config import StackConfig
from components.config_errors import strip_optional
from offline.harness import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
CONFIGURATION = PROJECT_ROOT / "docs" / "configuration.md"


def _section(page: Path, title: str) -> str:
    """The text of one `## title` section of a page, up to the next `## `."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", page.read_text(), re.S | re.M)
    assert match, f"{page.name} has no '## {title}' section"
    return match.group(1)


def _config_keys() -> list[str]:
    """Dotted keys of the first column of the Configuration table, expanded.

    A cell may hold several keys: `a.b` / `c` (`c` is a sibling of `b`), `a.{x,y}_z`
    (one key per brace member), `a.b.*` (the whole of `a.b`), `a.<name>.c` (a key
    the user chooses, inside a mapping).
    """
    keys = []
    rows = [line for line in _section(CONFIGURATION, "Keys").splitlines() if line.startswith("| `")]
    assert len(rows) > 40, "the configuration table was not found"
    for row in rows:
        cell = row.split("|")[1]
        parent = ""
        for raw in re.findall(r"`([^`]+)`", cell):
            bare = raw.removesuffix(".*")
            if "." in bare:
                token, parent = raw, bare.rsplit(".", 1)[0]
            else:  # top-level (`domain`), or a sibling of the previous key (`/ prometheus_retention_size`)
                token = f"{parent}.{raw}" if parent else raw
            braces = re.search(r"\{([^}]+)\}", token)
            if braces:
                keys += [token.replace(braces.group(0), member) for member in braces.group(1).split(",")]
            else:
                keys.append(token)
    return keys


def _resolve(key: str) -> tuple[Any, str]:
    """Follow a dotted key through the model; returns (annotation reached, error or '')."""
    annotation: Any = StackConfig
    parts = key.removesuffix(".*").split(".")
    for i, part in enumerate(parts):
        annotation = strip_optional(annotation)
        origin = get_origin(annotation)
        if origin is dict:
            annotation = get_args(annotation)[1]  # `part` is a key the user picks
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return annotation, f"{'.'.join(parts[:i])} is not a section, so '{part}' cannot be a key in it"
        if part not in annotation.model_fields:
            return (
                annotation,
                f"'{part}' is not a field of {annotation.__name__} ({', '.join(annotation.model_fields)})",
            )
        annotation = annotation.model_fields[part].annotation
    return annotation, ""


def test_every_documented_key_exists_in_the_config_model():
    problems = [f"{key}: {error}" for key in _config_keys() if (error := _resolve(key)[1])]
    assert not problems, "docs/configuration.md names keys the model does not have:\n" + "\n".join(problems)


def _sections() -> dict[str, type[BaseModel]]:
    """Every config section reachable through fixed names (not through a user's mapping key)."""
    found: dict[str, type[BaseModel]] = {}

    def walk(prefix: str, model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            annotation = strip_optional(field.annotation)
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found[prefix + name] = annotation
                walk(prefix + name + ".", annotation)

    walk("", StackConfig)
    return found


def test_every_config_key_is_documented():
    documented = {k.removesuffix(".*") for k in _config_keys()}

    def documented_whole(key: str) -> bool:
        """The key or an ancestor is a row of its own (e.g. `toolhive.resources`, `mcp.oidc`,
        `monitoring.alerts.*`), which documents everything below it."""
        parts = key.split(".")
        return any(".".join(parts[:n]) in documented for n in range(1, len(parts) + 1))

    def covered(key: str) -> bool:
        # A mapping (`mcp.servers`) is covered by its documented entries (`mcp.servers.<name>`).
        return documented_whole(key) or any(d.startswith(key + ".") for d in documented)

    sections = _sections()
    missing = [name for name in StackConfig.model_fields if name not in sections and not covered(name)]
    for section, model in sections.items():
        if documented_whole(section):
            continue
        # A section that only groups keys (toolhive, edge, secrets.sealed, ...) needs each key.
        missing += [
            f"{section}.{name}"
            for name in model.model_fields
            if f"{section}.{name}" not in sections and not covered(f"{section}.{name}")
        ]
    assert not missing, "config keys missing from the table of docs/configuration.md: " + ", ".join(missing)


def test_layout_lists_every_top_level_directory():
    layout = _section(README, "Layout")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    dirs = {path.split("/")[0] for path in tracked if "/" in path}
    listed = set(re.findall(r"^(\.?[\w-]+)/", layout, re.M))
    assert dirs <= listed, f"Layout does not list: {sorted(dirs - listed)}"
    assert listed <= dirs, f"Layout lists directories that are not in the repository: {sorted(listed - dirs)}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", page.read_text(), re.M)}


def _links(page: Path) -> list[str]:
    """Markdown link targets outside code blocks."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
def test_links_and_anchors_resolve(page):
    """A link to a file names one that exists; a link to a heading (in the page, or in
    another page: `edge.md#tls`) names a heading that exists."""
    broken = []
    for link in _links(page):
        if link.startswith(("http://", "https://")):
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(
                f"{link}: no file {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}"
            )
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.name}")
    assert broken == [], f"{page.name}: {broken}"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / link.partition("#")[0]).resolve() for link in _links(README)}
    assert [p.name for p in DOCS if p.resolve() not in linked] == []


def test_pages_name_only_make_targets_that_exist():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w.-]*):", makefile, re.M))
    used = {target for page in PAGES for target in re.findall(r"`make ([a-z][\w-]*)", page.read_text())}
    assert {"render", "test"} <= set(re.findall(r"`make ([a-z][\w-]*)", README.read_text()))
    assert used <= targets, f"the docs name make targets the Makefile lacks: {sorted(used - targets)}"
