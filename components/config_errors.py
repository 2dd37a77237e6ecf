"""Config problems in words: one line per problem, naming the key, the value and what is allowed.

`describe()` turns one pydantic error into such a line. It never shows a pydantic type
name or a regular expression, never echoes a whole section back, and never shows a
value that may be a credential: anything under `secrets`, a key Pulumi marks secret, a
`SecretStr` field, a value under a key named like a credential (`*_TOKEN`, `password`)
and any value that looks like a token, a private key or a `KEY:SECRET` pair is shown as
`[secret]`.

Pure: it takes the root model as an argument, so the config models can import it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin

import pulumi
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

PROJECT = "mcp-datascience"
REDACTED = "[secret]"


class ConfigError(pulumi.RunError):
    """Bad stack configuration. The message names each key, its value and what is allowed."""

    def __init__(self, stack: str, problems: list[str]):
        problems = [scrub(p) for p in problems]
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"Invalid configuration for stack '{stack}' ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n{lines}\n"
            f"Fix the keys in Pulumi.{stack}.yaml, or with "
            f"`pulumi config set --path '<key>' <value>` (keys are under '{PROJECT}:')."
        )


# ---------------------------------------------------------------------------
# Credentials are never shown
# ---------------------------------------------------------------------------

# Keys whose values are credentials whatever they look like (env vars, provider blocks).
_CREDENTIAL_KEY = re.compile(r"(token|secret|password|passwd|api[-_]?key|private[-_]?key|credential)", re.I)
# Well-known token shapes: GitHub, Hugging Face, OpenAI/Anthropic, Slack, AWS, GitLab,
# Google API keys, JWTs, PEM private keys.
_TOKEN_SHAPES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|(AKIA|ASIA)[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.|-----BEGIN [A-Z ]*PRIVATE KEY)"
)
# GoDaddy's `KEY:SECRET` and similar pairs of long opaque strings.
_KEY_PAIR = re.compile(r"^[A-Za-z0-9_-]{12,}:[A-Za-z0-9_-]{12,}$")
_DIGEST = re.compile(r"^sha(256|384|512):[0-9a-f]+$")


def looks_like_credential(value: Any) -> bool:
    """True for a string shaped like a token, a key pair, a private key or a long random string."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _DIGEST.match(text):
        return False  # an image digest is public
    if _TOKEN_SHAPES.search(text) or _KEY_PAIR.match(text):
        return True
    # A long run without spaces, dots or slashes mixing letters and digits with high
    # entropy: an API key or a ciphertext, not a name, URL, path or quantity.
    opaque = not re.search(r"[\s./]", text) and re.search(r"[0-9]", text) and re.search(r"[A-Za-z]", text)
    if len(text) >= 20 and opaque:
        counts = Counter(text)
        entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
        return entropy >= 3.5
    return False


def scrub(text: str) -> str:
    """`text` with every quoted value that looks like a credential, and every token shape,
    replaced: a last guard for messages that quote a value (a URL pasted with a token)."""
    text = re.sub(r"'([^'\n]*)'", lambda m: REDACTED if looks_like_credential(m.group(1)) else m.group(0), text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def is_secret_location(loc: tuple[Any, ...], root: type[BaseModel], secret_keys: frozenset[str]) -> bool:
    """Whether the value at `loc` must never be shown."""
    if not loc:
        return False
    if loc[0] == "secrets" or loc[0] in secret_keys:
        return True
    if any(isinstance(part, str) and _CREDENTIAL_KEY.search(part) for part in loc):
        return True
    parent = model_at(root, loc[:-1])
    field = loc[-1]
    return (
        parent is not None
        and isinstance(field, str)
        and field in parent.model_fields
        and strip_optional(parent.model_fields[field].annotation) is SecretStr
    )


# An environment variable's name (POSIX: letters, digits and `_`, not starting with a digit).
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def not_an_env_name(value: str) -> str | None:
    """None when `value` names an environment variable; otherwise `value` as an error shows
    it (redacted when it looks like the token pasted where its variable's name belongs)."""
    if ENV_NAME.match(value) and not looks_like_credential(value):
        return None
    return shown(value)


def shown(value: Any, secret: bool = False) -> str:
    """A scalar value as the message shows it; collections are not echoed back."""
    if secret or looks_like_credential(value):
        return REDACTED
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------
# Locations: key paths, the model behind them, the keys allowed there
# ---------------------------------------------------------------------------

# pydantic adds validator and union tags to locations (`function-after[...]`), and
# `[key]` after a mapping key that is itself invalid.
_TAG = re.compile(r"^[a-z_-]*\[.*\]$")


def clean_location(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(part for part in loc if not (isinstance(part, str) and _TAG.match(part)))


def dotted(loc: tuple[Any, ...]) -> str:
    """`('mcp', 'servers', 'x', 'egress_rules', 0)` -> `mcp.servers.x.egress_rules[0]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def strip_optional(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is not None and type(None) in get_args(annotation):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def annotation_at(root: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The type annotation a location points at, following models, dicts, lists and
    Optional; None when the location leaves the model (an unknown key)."""
    annotation: Any = root
    for part in loc:
        annotation = strip_optional(annotation)
        origin = get_origin(annotation)
        if origin in (dict, Mapping):
            annotation = get_args(annotation)[1]  # `part` is a key the user chose
        elif origin in (list, tuple):
            annotation = get_args(annotation)[0]  # `part` is an index
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                return None
            annotation = annotation.model_fields[part].rebuild_annotation()  # with its validators
        else:
            return None
    return annotation


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class a location points into."""
    annotation = strip_optional(annotation_at(root, loc))
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def did_you_mean(word: str, choices: Any) -> str:
    """A close choice, or one the word begins with or abbreviates (`production` -> `prod`)."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    close = close or [c for c in names if c and (str(word).startswith(c) or c.startswith(str(word)))][:1]
    return f" Did you mean '{close[0]}'?" if close and str(word) else ""


# ---------------------------------------------------------------------------
# One pydantic error -> one line
# ---------------------------------------------------------------------------

_KIND_WORDS = {
    "int_parsing": "must be a whole number such as 3",
    "int_type": "must be a whole number such as 3",
    "int_from_float": "must be a whole number such as 3, without a fraction",
    "float_parsing": "must be a number such as 0.5",
    "float_type": "must be a number such as 0.5",
    "finite_number": "must be a finite number such as 0.5",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping of keys (a YAML object)",
    "model_type": "must be a mapping of keys (a YAML object)",
    "model_attributes_type": "must be a mapping of keys (a YAML object)",
    "list_type": "must be a list (YAML `- item` lines, or [a, b])",
    "tuple_type": "must be a list (YAML `- item` lines, or [a, b])",
    "set_type": "must be a list (YAML `- item` lines, or [a, b])",
    "none_required": "must be left unset",
    "missing": "required key is missing",
    "string_pattern_mismatch": "is not in the form this key takes (see the table in docs/configuration.md)",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
    "too_short": ("min_length", "must have at least {} entries"),
    "too_long": ("max_length", "must have at most {} entries"),
    "string_too_short": ("min_length", "must be at least {} characters long"),
    "string_too_long": ("max_length", "must be at most {} characters long"),
}


def _yaml_key(loc: tuple[Any, ...]) -> str:
    last = loc[-1] if loc else "key"
    return "-" if isinstance(last, int) else f"{last}:"


def _text_expected(loc: tuple[Any, ...], value: Any, root: type[BaseModel], secret: bool) -> str:
    """A text key that got a YAML number or boolean: how to quote it, when the quoted text
    would do; what the key takes, when it would not."""
    if isinstance(value, (dict, list)):
        return "must be a single text value, not a " + ("mapping" if isinstance(value, dict) else "list")
    if secret or not isinstance(value, (bool, int, float)):
        return "must be text (in quotes)"
    literal = json.dumps(value)
    annotation = annotation_at(root, loc)
    if annotation is not None:
        try:
            TypeAdapter(annotation).validate_python(literal)
        except ValidationError as exc:
            return _words(str(exc.errors()[0]["type"]), exc.errors()[0], loc, root, secret)
    if isinstance(value, bool):
        return (
            f'must be text, but YAML reads an unquoted {literal} as a boolean: quote it, {_yaml_key(loc)} "{literal}"'
        )
    lost = " (YAML drops trailing zeros: an unquoted 1.10 arrives as 1.1)" if isinstance(value, float) else ""
    return (
        f"must be text, but YAML reads an unquoted {literal} as a number{lost}: write it in quotes, "
        f'{_yaml_key(loc)} "{literal}"'
    )


def _words(kind: str, err: Mapping[str, Any], loc: tuple[Any, ...], root: type[BaseModel], secret: bool) -> str:
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        allowed = list((model_at(root, loc[:-1]) or BaseModel).model_fields)
        hint = did_you_mean(loc[-1], allowed) if loc else ""
        return f"unknown key.{hint} Allowed keys here: {', '.join(sorted(allowed)) or 'none'}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        hint = "" if secret else did_you_mean(value, re.findall(r"'([^']*)'", expected))
        return f"must be {expected}.{hint}".rstrip(".") if expected else "is not allowed here"
    if kind == "string_type":
        return _text_expected(loc, value, root, secret)
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in _BOUNDS:
        name, template = _BOUNDS[kind]
        return template.format(ctx.get(name, "?"))
    if kind in _KIND_WORDS:
        return _KIND_WORDS[kind]
    # Anything else: pydantic's words without class names ("instance of Resources").
    words = re.sub(r"\s*(or )?instance of \w+", "", str(err["msg"])).replace("Input should", "must")
    return words or "is not allowed here"


def describe(err: Mapping[str, Any], root: type[BaseModel], secret_keys: frozenset[str] = frozenset()) -> list[str]:
    """The problem lines for one pydantic error (a cross-key rule may hold several, one per line)."""
    loc = clean_location(tuple(err["loc"]))
    kind = str(err["type"])
    value = err.get("input")
    secret = is_secret_location(loc, root, secret_keys) or looks_like_credential(value)
    words = _words(kind, err, loc, root, secret)
    if not loc or words.startswith(f"{PROJECT}:"):  # a rule across keys: its message names the keys involved
        return [line for line in words.split("\n  - ") if line]
    key = f"{PROJECT}:{dotted(loc)}"
    if kind in ("extra_forbidden", "missing") or isinstance(value, (dict, list)):
        return [f"{key}: {words}"]  # the key names it; a section is never echoed back
    return [f"{key} = {shown(value, secret)}: {words}"]
