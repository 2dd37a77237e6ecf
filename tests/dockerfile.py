"""A small Dockerfile reader: instructions, stages, ENV/LABEL/ARG values.

Shared by the recipe checks (tests/test_images.py) and the live runs of the recipes
(tests/live), so both read a Dockerfile the same way.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from components import versions
from offline.harness import PROJECT_ROOT


@dataclass
class Instruction:
    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    base: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.value for i in self.instructions if i.keyword == keyword]

    def pairs(self, keyword: str) -> dict[str, str]:
        """KEY=value pairs of every ENV, LABEL or ARG (with a default) of the stage."""
        found: dict[str, str] = {}
        for value in self.all(keyword):
            for word in shlex.split(value):
                key, sep, val = word.partition("=")
                if sep:
                    found[key] = val
        return found


def instructions(path: Path) -> list[Instruction]:
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue  # blank lines and comments, also inside a continued instruction
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        keyword, _, rest = (pending + text).partition(" ")
        found.append(Instruction(keyword.upper(), rest.strip(), start))
        pending = ""
    if pending:
        raise ValueError(f"{path}: the last instruction ends with a line continuation")
    return found


def stages(path: Path) -> list[Stage]:
    result: list[Stage] = []
    for item in instructions(path):
        if item.keyword == "FROM":
            words = item.value.split()
            words = [w for w in words if not w.startswith("--")]
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=words[0], alias=alias))
        elif not result:
            raise ValueError(f"{path}:{item.line}: {item.keyword} before the first FROM")
        else:
            result[-1].instructions.append(item)
    return result


def dockerfile(key: str) -> Path:
    """The Dockerfile of server image `key` (components/versions.py SERVER_IMAGES)."""
    return PROJECT_ROOT / versions.SERVER_IMAGES[key].context / "Dockerfile"


def final_stage(key: str) -> Stage:
    return stages(dockerfile(key))[-1]


def exec_form(value: str) -> list[str]:
    """An exec-form ENTRYPOINT or CMD (a JSON list of strings)."""
    parsed = json.loads(value)
    if not (isinstance(parsed, list) and all(isinstance(p, str) for p in parsed)):
        raise ValueError(f"not an exec-form list of strings: {value}")
    return parsed
