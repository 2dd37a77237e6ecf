"""Reading and writing `Pulumi.<stack>.yaml` as `pulumi config set --path` would: the
rest of the file, its key order, comments and quoting are kept, and the file is
replaced atomically (a failure at any point leaves it as it was). Errors are one
`CliError` line naming the file and the fix.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import yaml as pyyaml

from mcpds.cli import CliError

_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class DuplicateKeyError(Exception):
    def __init__(self, key: str, line: int, first: int):
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class PulumiYamlLoader(pyyaml.SafeLoader):
    """YAML decoded as Pulumi's reader (gopkg.in/yaml.v3, decoding into `any`) does:
    only true/false (any case form) are booleans, so `yes`, `no`, `on`, `off` stay text;
    `1e-3` is a number; dates stay text; a key defined twice in one mapping is an error ("mapping key already
    defined", which Pulumi reports and stops on). Checked against yaml.v3 v3.0.1."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
        for first, resolvers in pyyaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: pyyaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, pyyaml.ScalarNode):
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise DuplicateKeyError(key_node.value, line, seen[key_node.value])
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


PulumiYamlLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
# YAML 1.2 floats without a dot (`1e-3`), which yaml.v3 reads as numbers and PyYAML as text.
PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def round_trip_yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, key order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def not_utf8(name: str, exc: UnicodeDecodeError) -> str:
    return f"{name} is not UTF-8 text (byte {exc.start}): save it as UTF-8"


def duplicate_key(name: str, key: str, line: int, first: int) -> str:
    return (
        f"{name} line {line}: key '{key}' is already defined at line {first} "
        "(Pulumi refuses the file: mapping key already defined): keep one of them"
    )


def yaml_problem(exc: Exception, text: str) -> str:
    """` at line L, column C: <what the parser found>` for a PyYAML or ruamel.yaml error, in
    words: a tab or a control character is named, not shown as an escape."""
    if hasattr(exc, "position") and hasattr(exc, "character"):  # a character YAML allows nowhere
        position, character = exc.position, exc.character
        before = text[:position]
        line, column = before.count("\n") + 1, position - before.rfind("\n")
        code = character if isinstance(character, int) else ord(character)
        return f" at line {line}, column {column}: character U+{code:04X} is not allowed in YAML: remove it"
    where = getattr(exc, "problem_mark", None)
    at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    problem = problem.replace(
        "found character '\\t' that cannot start any token", "a tab: YAML indents with spaces only"
    )
    return f"{at}: {problem}"


def load_stack(path: Path) -> tuple[Any, Any, Any]:
    """(yaml, document, its `config` mapping) of a stack file; one-line errors."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    yaml = round_trip_yaml()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(not_utf8(path.name, exc)) from None
    except FileNotFoundError:
        raise CliError(
            f"no stack file {path}: create the stack (`pulumi stack init {path.stem.removeprefix('Pulumi.')}`) "
            "or pass --project-dir"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    try:  # first through Pulumi's reading of YAML, which the render uses too
        pyyaml.load(text, Loader=PulumiYamlLoader)
        document = yaml.load(text) if text.strip() else None
    except DuplicateKeyError as exc:
        raise CliError(duplicate_key(path.name, exc.key, exc.line, exc.first)) from None
    except (pyyaml.YAMLError, YAMLError) as exc:
        raise CliError(f"{path.name} is not valid YAML{yaml_problem(exc, text)}: fix it first") from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, dict):
        raise CliError(f"{path.name} must be a YAML mapping with a `config:` mapping inside")
    config = document.setdefault("config", CommentedMap())
    if config is None:
        config = document["config"] = CommentedMap()
    if not isinstance(config, dict):
        raise CliError(f"{path.name}: `config` must be a mapping")
    return yaml, document, config


def plain_value(value: Any) -> tuple[Any, bool]:
    """A stack-file value as the program receives it, `secure:` values as placeholders
    (their plaintext is never needed here, and never read), and whether it held one."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "placeholder", True
        items = {str(k): plain_value(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        items_ = [plain_value(v) for v in value]
        return [v for v, _ in items_], any(s for _, s in items_)
    return value, False


def atomic_write(path: Path, yaml: Any, document: Any) -> None:
    """Replace `path` (the file a symlink points to, if it is one) in one step: a
    failure at any point leaves it as it was and removes the temporary file."""
    target = path.resolve()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise CliError(f"cannot write beside {path} ({exc.strerror}): {path.name} is unchanged") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w") as handle:
            yaml.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, target.stat().st_mode & 0o777)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {path} ({exc.strerror or exc}): {path.name} is unchanged") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
