"""What a credential looks like: by the name it is stored under, and by its value.

Pure Python with no pack dependency, so the Pulumi program's config validation
(components/server_spec.py) refuses exactly what the pack's rules refuse.

Names: a key or variable name that ends in a credential word (`HF_TOKEN`,
`adminPassword`, `AWS_SECRET_ACCESS_KEY`), but not one that only mentions it
(`TOOL_RESPONSE_TOKEN_LIMIT`, `PASSWORD_FILE`: a limit, a path). Values: the shapes of
well-known token formats, private keys and URLs carrying a password, whatever name
they are stored under.
"""

from __future__ import annotations

import re

# Ends with a credential word, after a separator, a lower-case letter (camelCase) or at the start.
NAME_PATTERN = (
    r"(?i)(^|[_.\-]|(?<=[a-z]))"
    r"(token|secret|password|passwd|passphrase|api[_.\-]?key|private[_.\-]?key|access[_.\-]?key"
    r"|secret[_.\-]?key|client[_.\-]?secret|credentials?)$"
)
_NAME = re.compile(NAME_PATTERN)

# Token formats with a fixed prefix (issuer documentation: Hugging Face `hf_`, GitHub
# `ghp_`/`github_pat_`, AWS access key ids `AKIA`, Slack `xox?-`, GitLab `glpat-`,
# OpenAI/Anthropic `sk-`), JSON Web Tokens, PEM private keys, and URLs with a password.
_VALUE_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("an API secret key (sk-...)", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a private key", re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a URL with a password", re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:[^/\s@]+@")),
)

# `name = value` / `name: value` lines in a config file kept as text (INI, YAML,
# properties, .env), where the name is a credential name.
_ASSIGNMENT = re.compile(r"""(?m)^[ \t]*["']?([\w.\-]+)["']?[ \t]*[:=][ \t]*["']?([^\s"'#,]+)""")
# Values that point at a credential instead of holding one: environment and file
# references (`${VAR}`, Grafana's `$__file{...}`), empty and null markers.
_REFERENCE = re.compile(r"^(\$\{|\$__(file|env|vault)\{|\$\(|<|null$|none$|~$|\"\"$|''$)", re.IGNORECASE)


def is_credential_name(name: str) -> bool:
    return bool(_NAME.search(name))


def is_reference(value: str) -> bool:
    """A value that names where a credential lives (`${HF_TOKEN}`, `$__file{/run/x}`), or nothing."""
    return not value.strip() or bool(_REFERENCE.match(value.strip()))


def credential_shape(value: str) -> str | None:
    """What credential `value` contains, by its shape alone, or None."""
    for what, pattern in _VALUE_SHAPES:
        if pattern.search(value):
            return what
    return None


def literal_assignments(text: str) -> list[str]:
    """Names of credential settings a config file (text) assigns a literal value to."""
    return sorted(
        {name for name, value in _ASSIGNMENT.findall(text) if is_credential_name(name) and not is_reference(value)}
    )


def literal_credential(name: str, value: str) -> str | None:
    """Why `name=value` is a literal credential (one line), or None when it is not one."""
    if is_credential_name(name) and not is_reference(value):
        return f"{name} is a credential name with a literal value"
    shape = credential_shape(value)
    if shape:
        return f"the value of {name} looks like {shape}"
    return None
