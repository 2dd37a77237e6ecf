"""What no error message may contain: a traceback, a Python or pydantic type name, a
regular expression, a Python literal of the user's data (a section echoed back), or a
secret. Shared by the config and command-line tests."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel

from components import config as config_module

# Every config model class name, and the Python and pydantic words a message must never show.
MODEL_NAMES = sorted(
    name
    for name, value in vars(config_module).items()
    if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
)
TYPE_WORDS = re.compile(
    r"\b(str|int|float|bool|dict|list\[|tuple|NoneType|SecretStr|Annotated|Literal\[|Input should|instance of|"
    r"function-after|validation error|pydantic|Traceback|Errno|" + "|".join(MODEL_NAMES) + r")\b"
)
REGEX_MARKS = ("^", "[a-z", "[0-9", "\\", "{0,", "(?:", ".*")
# A Python literal: a dict, list or tuple repr of strings, or a section as JSON.
PYTHON_LITERAL = re.compile(r"[\[({]'|\{\"|\[\{")


def assert_words_only(text: str, secrets: Iterable[str] = ()) -> None:
    assert not TYPE_WORDS.search(text), text
    assert not [mark for mark in REGEX_MARKS if mark in text], text
    assert not PYTHON_LITERAL.search(text), text
    for secret in secrets:
        assert secret not in text, (secret, text)
