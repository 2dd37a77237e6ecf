"""The stack's configuration, read from Pulumi and checked as a whole, before any resource.

`parse_config` validates the config model (`config.py`), then the checks that need the
MCP plan as well (`plan.validate`: servers, routes, auth); both layers' problems come
back as one `ConfigError`. This module knows both, so neither imports the other.

`read_project_config` also refuses a config namespace that is not ours but close to it
(`mcp-datasience:domain`): Pulumi hands such a key to the program like any provider's,
the program would never read it, and the stack would deploy the default instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from components import plan
from components.config import ENVIRONMENTS, PROJECT, StackConfig
from components.config_errors import ConfigError, describe

# Namespaces other than ours this program's stacks set: Pulumi's own and its providers'.
KNOWN_NAMESPACES = frozenset({"pulumi", "kubernetes", "random"})
# A namespace this close to ours (edits, ignoring case) is a misspelling of it, not
# another package's; to a provider's, one edit per four letters (`kubernets:context`
# would leave the provider on the default kubeconfig context).
MAX_NAMESPACE_EDITS = 3


def _edits_allowed(namespace: str) -> int:
    return MAX_NAMESPACE_EDITS if namespace == PROJECT else max(1, len(namespace) // 4)


def parse_config(raw: Mapping[str, Any], stack: str, secret_keys: frozenset[str] = frozenset()) -> StackConfig:
    """Validate the project's config values (keys without the project prefix).

    `raw` values may be strings (as Pulumi hands scalars over) or decoded JSON. The
    environment defaults to the stack name when that is a known environment.
    """
    data = dict(raw)
    if "environment" not in data:
        if stack not in ENVIRONMENTS:
            raise ConfigError(
                stack,
                [
                    f"{PROJECT}:environment is not set and the stack name '{stack}' is not one of "
                    f"{', '.join(ENVIRONMENTS)}: set it with `pulumi config set environment prod` "
                    "(or dev / staging)"
                ],
            )
        data["environment"] = stack
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(stack, [p for err in exc.errors() for p in describe(err, StackConfig, secret_keys)]) from None
    if config.secrets.pulumi.values and "secrets" not in secret_keys:
        # A plaintext credential in Pulumi.<stack>.yaml is a credential in the repository.
        raise ConfigError(
            stack,
            [
                f"{PROJECT}:secrets.pulumi.values holds values that are not Pulumi secrets: remove them from "
                f"Pulumi.{stack}.yaml, rotate them, and set each with `pulumi config set --secret --path "
                "'secrets.pulumi.values.<credential id>.<key>'` (value on stdin)"
            ],
        )
    problems = plan.validate(config)
    if problems:
        raise ConfigError(stack, problems)
    return config


def namespace_problems(keys: Iterable[str]) -> list[str]:
    """Full config keys whose namespace looks like a misspelling of ours or of a provider's."""
    problems = []
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace == PROJECT or namespace in KNOWN_NAMESPACES:
            continue
        distance, meant = min(
            (edit_distance(namespace.lower(), known), known) for known in (PROJECT, *KNOWN_NAMESPACES)
        )
        if distance <= _edits_allowed(meant):
            problems.append(
                f"{key}: '{namespace}' is not a namespace this program or its providers read, so the key would be "
                f"ignored. Did you mean '{meant}:{name}'?"
            )
    return problems


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def project_config(
    values: Mapping[str, Any], secret_keys: Iterable[str], stack: str
) -> tuple[dict[str, Any], frozenset[str]]:
    """Our keys (without the prefix) from every config key Pulumi hands the program, and
    which of them are secret. Refuses a namespace that is a misspelling of ours."""
    problems = namespace_problems(values)
    if problems:
        raise ConfigError(stack, problems)
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: decode_config_value(v) for k, v in sorted(values.items()) if k.startswith(prefix)}
    return raw, frozenset(k[len(prefix) :] for k in secret_keys if k.startswith(prefix))


def read_project_config(stack: str) -> tuple[dict[str, Any], frozenset[str]]:
    """`project_config` of what the Pulumi runtime holds for this program."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    secret_keys = {k for k in keys if runtime_config.is_config_secret(k)} | set(
        runtime_config.get_config_secret_keys_env()
    )
    return project_config({k: runtime_config.get_config(k) for k in keys}, secret_keys, stack)


def load_config() -> StackConfig:
    """Read and validate the current stack's config; raises ConfigError when it is bad."""
    stack = pulumi.get_stack()
    raw, secrets = read_project_config(stack)
    return parse_config(raw, stack, secrets)


def decode_config_value(value: Any) -> Any:
    """Pulumi passes structured config as JSON text and scalars as plain strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
