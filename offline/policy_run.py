"""`make policy STACK=<stack>`: the policy pack over a stack's resources, without Pulumi.

    python -m offline.policy_run --stack prod [--config policies/config/prod.json]

Runs the real program under mocks (offline.harness.run_program), then hands every
registered resource to the pack's real policy objects, the way the engine's analyzer
does (research/pulumi.md §1c):

- resource policies get one `ResourceValidationArgs` per resource, stack policies one
  `StackValidationArgs` with every resource (parents and dependencies linked);
- props are engine-shaped: the recorded inputs, numbers as floats;
- each policy's config and enforcement level come from the environment's policy config
  file exactly as `pulumi preview --policy-pack-config` reconciles them
  (pkg/resource/analyzer/config.go ReconcilePolicyPackConfig: schema defaults, then
  `all`, then the policy's own entry), validated against the policy's schema.
- stricter than the engine: a misspelt property fails, and so does a relaxation without
  its reason (an enforcement level below mandatory, or a property the policy lists as a
  relaxation, changed without `"reason"` beside it) and an `all` below mandatory.

Prints violations grouped by policy with the resource, then each relaxation with its
reason; exits 1 when any violation is mandatory,
0 otherwise (advisory ones are printed), 2 for a bad stack or policy config file.
What the offline run cannot see: values only the provider computes, and the objects
Helm charts render (policies check releases through their values).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components.config import StackConfig
from components.stack_config import parse_config, project_config
from mcpds.cli import PREFIX, UsageParser
from offline.harness import (
    PROJECT_ROOT,
    ProgramRun,
    Registered,
    StackFileError,
    read_stack_file,
    run_program,
    to_pulumi_config,
    with_overrides,
)
from offline.made_up_digests import as_deployed
from policies.mcp_policies.base import REASON, RELAXING_PROPERTIES, schema_defaults

CONFIG_DIR = PROJECT_ROOT / "policies" / "config"
LEVELS = {level.value: level for level in EnforcementLevel}


class PolicyConfigError(Exception):
    """A policy config file that is missing, not JSON, or not valid for the pack."""


@dataclass(frozen=True)
class PolicySetting:
    level: EnforcementLevel
    properties: dict[str, Any]


@dataclass(frozen=True)
class Violation:
    policy: str
    level: EnforcementLevel
    message: str
    urn: str | None  # None: the stack as a whole
    resource: str  # Pulumi resource name (type), or "(stack)"


@dataclass
class Report:
    stack: str
    config_path: Path
    policies: list[Policy]
    resource_count: int
    violations: list[Violation] = field(default_factory=list)
    relaxed: dict[str, str] = field(default_factory=dict)  # policy -> the reason the config gives
    made_up_digests: int = 0  # images given a made-up digest for this run (production stacks)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.ADVISORY]

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0

    def of(self, policy: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == policy]


# ---------------------------------------------------------------------------
# Policy config (what --policy-pack-config does)
# ---------------------------------------------------------------------------


def config_path_for(stack: str) -> Path:
    return CONFIG_DIR / f"{stack}.json"


def load_policy_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise PolicyConfigError(
            f"no policy config file {path}: create it (policies/config/dev.json is a start) or pass --config"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path} must hold a JSON object mapping policy names (or 'all') to settings")
    return data


def schema_of(policy: Policy) -> dict[str, Any]:
    """The JSON Schema the engine validates a policy's config with (convertSchema), plus
    additionalProperties: false, so a misspelt key fails here instead of being ignored."""
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if policy.config_schema is not None:
        schema["properties"] = dict(policy.config_schema.properties)
        if policy.config_schema.required:
            schema["required"] = list(policy.config_schema.required)
    else:
        schema["properties"] = {}
    return schema


def reconcile(
    policies: Sequence[Policy], raw: Mapping[str, Any], source: str = "policy config"
) -> dict[str, PolicySetting]:
    """Every policy's enforcement level and properties, as the engine computes them."""
    problems: list[str] = []
    by_name = {p.name: p for p in policies}
    result: dict[str, PolicySetting] = {}
    for p in policies:
        defaults = schema_defaults(p.config_schema.properties if p.config_schema else None)
        result[p.name] = PolicySetting(p.enforcement_level or EnforcementLevel.ADVISORY, defaults)

    def level_of(key: str, value: Any) -> EnforcementLevel | None:
        if value is None:
            return None
        if value not in LEVELS:
            problems.append(f"{key}: enforcement level {value!r} is not one of {', '.join(LEVELS)}")
            return None
        return LEVELS[value]

    if "all" in raw:
        all_value = raw["all"]
        level = level_of("all", all_value if isinstance(all_value, str) else all_value.get("enforcementLevel"))
        if level in WEAKER:
            problems.append(
                f"all: {level.value!r} would relax every policy at once; relax policies one by one, each with "
                f"its {REASON!r} beside it"
            )
        elif level is not None:
            result = {k: PolicySetting(level, v.properties) for k, v in result.items()}
    for key, value in raw.items():
        if key == "all":
            continue
        if key not in by_name:
            problems.append(f"{key}: no policy of that name in the pack (policies: {', '.join(sorted(by_name))})")
            continue
        if isinstance(value, str):
            props: dict[str, Any] = {}
            level = level_of(key, value)
        elif isinstance(value, dict):
            props = {k: v for k, v in value.items() if k != "enforcementLevel"}
            level = level_of(key, value.get("enforcementLevel"))
        else:
            problems.append(f"{key}: must be an enforcement level (a string) or an object of settings, not {value!r}")
            continue
        current = result[key]
        relaxes = relaxations(by_name[key], level, props, current.properties)
        if relaxes and not str(props.get(REASON) or "").strip():
            problems.append(
                f"{key}: relaxes the policy ({', '.join(relaxes)}) without a reason: add {REASON!r} beside it, "
                "saying why this environment needs it"
            )
        result[key] = PolicySetting(level or current.level, {**current.properties, **props})
    for name, setting in result.items():
        validator = jsonschema.Draft7Validator(schema_of(by_name[name]))
        for error in sorted(validator.iter_errors(setting.properties), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.path)
            problems.append(f"{name}{'.' + where if where else ''}: {error.message}")
    if problems:
        raise PolicyConfigError(f"{source} is not valid for the pack: " + "; ".join(problems))
    return result


WEAKER = (EnforcementLevel.ADVISORY, EnforcementLevel.DISABLED)


def relaxations(
    policy: Policy, level: EnforcementLevel | None, props: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[str]:
    """What an entry of the config file weakens: its enforcement level, or a property the
    policy lists as relaxing set to something other than its schema default."""
    out = [f"enforcementLevel {level.value}"] if level in WEAKER else []
    for prop in sorted(RELAXING_PROPERTIES.get(policy.name, ())):
        if prop in props and props[prop] != defaults.get(prop):
            out.append(prop)
    return out


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def engine_shaped(value: Any) -> Any:
    """Props as the analyzer receives them: numbers are floats (google.protobuf.Struct)."""
    if isinstance(value, dict):
        return {k: engine_shaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_shaped(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _options(r: Registered) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(r.options.get("protect")),
        ignore_changes=list(r.options.get("ignore_changes", [])),
        delete_before_replace=r.options.get("delete_before_replace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(r.options.get("additional_secret_outputs", [])),
        parent=r.parent or None,
    )


def _finish(result: Any) -> None:
    """A validate function may be async (the SDK awaits what it returns)."""
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable


def evaluate(
    resources: Sequence[Registered],
    settings: Mapping[str, PolicySetting],
    policies: Sequence[Policy],
    *,
    stack: str = "",
    config_path: Path = Path(),
) -> Report:
    report = Report(stack, config_path, list(policies), len(resources))
    report.relaxed = {
        p.name: str(settings[p.name].properties[REASON]) for p in policies if settings[p.name].properties.get(REASON)
    }
    names = {r.urn: f"{r.name} ({r.type})" for r in resources}
    opts = {r.urn: _options(r) for r in resources}
    # The analyzer wraps props so that reading a value unknown during preview raises.
    props = {r.urn: unknown_checking_proxy(engine_shaped(r.inputs)) for r in resources}

    stack_resources = {
        r.urn: PolicyResource(r.type, props[r.urn], r.urn, r.name, opts[r.urn], None, None, [], {}) for r in resources
    }
    for r in resources:
        pr = stack_resources[r.urn]
        pr.parent = stack_resources.get(r.parent)
        pr.dependencies = [stack_resources[d] for d in r.dependencies if d in stack_resources]

    for policy in policies:
        setting = settings[policy.name]
        if setting.level == EnforcementLevel.DISABLED:
            continue
        level = EnforcementLevel.MANDATORY if setting.level == EnforcementLevel.REMEDIATE else setting.level

        def reporter(urn_default: str | None, policy: Policy = policy, level: EnforcementLevel = level):
            def report_violation(message: str, urn: str | None = None) -> None:
                target = urn or urn_default
                resource = names.get(target, target) if target else "(stack)"
                report.violations.append(Violation(policy.name, level, message, target, resource))

            return report_violation

        def unknown(exc: UnknownValueError, urn: str | None, policy: Policy = policy) -> None:
            # What the analyzer does: the policy cannot run during preview, reported as advisory.
            message = f"can't run policy '{policy.name}' during preview: {exc.message}"
            resource = names.get(urn, urn) if urn else "(stack)"
            report.violations.append(Violation(policy.name, EnforcementLevel.ADVISORY, message, urn, resource))

        # The engine hands each policy its config through a protobuf Struct (Configure):
        # numbers arrive as floats there too.
        config = engine_shaped(dict(setting.properties))
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.type, props[r.urn], r.urn, r.name, opts[r.urn], None, dict(config), {})
                try:
                    _finish(policy.validate(args, reporter(r.urn)))
                except UnknownValueError as exc:
                    unknown(exc, r.urn)
        elif isinstance(policy, StackValidationPolicy):
            args = StackValidationArgs(list(stack_resources.values()), dict(config), {})
            try:
                _finish(policy.validate(args, reporter(None)))
            except UnknownValueError as exc:
                unknown(exc, None)
    return report


# ---------------------------------------------------------------------------
# A stack
# ---------------------------------------------------------------------------


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None, root: Path | None = None) -> StackConfig:
    """The stack's validated config, read the way the program reads it (components/stack_config.py
    load_config): `secure:` values become secret placeholders (their ciphertext cannot be
    decrypted offline) and structured values are JSON-decoded."""
    raw = read_stack_file(stack, root)
    if overrides:
        raw = with_overrides(raw, overrides)
    values, secret_keys = to_pulumi_config(raw)
    data, secrets = project_config(values, secret_keys, stack)
    return parse_config(data, stack, secrets)


def stack_secrets_backend(stack: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The stack's validated `secrets.backend`."""
    return stack_config(stack, overrides).secrets.backend


def _pack() -> list[Policy]:
    from policies.mcp_policies import ALL_POLICIES

    return list(ALL_POLICIES)


def settings_for(
    stack: str, path: Path, policies: Sequence[Policy], overrides: Mapping[str, Any] | None = None
) -> dict[str, PolicySetting]:
    """The reconciled config of `path`, refused when its secrets backend is not the stack's."""
    settings = reconcile(policies, load_policy_config(path), str(path))
    backend = stack_secrets_backend(stack, overrides)
    configured = settings.get("secret-no-literal-data")
    if configured is not None and configured.properties.get("secretsBackend") != backend:
        raise PolicyConfigError(
            f"{path} sets secret-no-literal-data.secretsBackend to {configured.properties.get('secretsBackend')!r} "
            f"but stack {stack} uses secrets.backend {backend!r}: make them agree"
        )
    return settings


def check_run(
    run: ProgramRun,
    config_path: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    transform: Callable[[ProgramRun], None] | None = None,
    policies: Sequence[Policy] | None = None,
) -> Report:
    """Evaluate the pack over a finished run with its environment's policy config.

    `overrides` are the config overrides the run was made with; `transform` may change the
    recorded resources first (tests use it to break a stack the way a careless change would).
    """
    policies = list(policies) if policies is not None else _pack()
    path = config_path or config_path_for(run.stack)
    settings = settings_for(run.stack, path, policies, overrides)
    if transform is not None:
        transform(run)
    return evaluate(run.resources, settings, policies, stack=run.stack, config_path=path)


def check_stack(
    stack: str,
    config_path: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    transform: Callable[[ProgramRun], None] | None = None,
) -> Report:
    """Run the program for `stack` under mocks and evaluate the pack (what `make policy` does).
    An unknown stack, a bad stack config or a bad policy config fails before the run.

    A production stack is checked as `pulumi up` deploys it: with a digest for every image
    (the deploy workflow passes the real ones; without them the program refuses the
    update before the pack ever runs). Images without one in config get a MADE-UP digest
    here (offline/made_up_digests.py), counted in the report."""
    read_stack_file(stack)
    path = config_path or config_path_for(stack)
    settings_for(stack, path, _pack(), overrides)
    config = stack_config(stack, overrides)
    deployed = as_deployed(config, overrides)
    run = run_program(stack, overrides=deployed)
    report = check_run(run, path, overrides=deployed, transform=transform)
    report.made_up_digests = len(deployed.get("images.digests", config.images.digests)) - len(config.images.digests)
    return report


def format_report(report: Report) -> str:
    try:
        shown = report.config_path.relative_to(PROJECT_ROOT)
    except ValueError:
        shown = report.config_path
    lines = [
        f"Policy run: stack {report.stack}, config {shown}, {len(report.policies)} policies, "
        f"{report.resource_count} resources"
    ]
    if report.made_up_digests:
        lines.append(
            f"{report.made_up_digests} image digests are MADE UP for this offline run (production runs images by "
            "digest; the deploy workflow passes the real ones as images.digests)"
        )
    by_policy = {p.name: p for p in report.policies}
    for name in [p.name for p in report.policies]:
        found = report.of(name)
        if not found:
            continue
        policy = by_policy[name]
        severity = policy.severity.value if policy.severity else "unspecified"
        lines.append("")
        lines.append(f"[{found[0].level.value}] {name} ({severity}, {len(found)}): {policy.description}")
        for v in found:
            lines.append(f"  - {v.resource}: {v.message}")
        if policy.remediation_steps:
            lines.append(f"    fix: {policy.remediation_steps}")
    if report.relaxed:
        lines.append("")
        lines.append(f"Relaxed by {shown}:")
        lines += [f"  - {name}: {reason}" for name, reason in sorted(report.relaxed.items())]
    failed = {v.policy for v in report.mandatory}
    lines.append("")
    lines.append(
        f"{len(report.mandatory)} mandatory violation(s) in {len(failed)} policy(ies), "
        f"{len(report.advisory)} advisory: {'FAIL' if report.mandatory else 'PASS'}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="python -m offline.policy_run", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--config", type=Path, help="policy config file (default: policies/config/<stack>.json)")
    args = parser.parse_args(argv)
    try:
        report = check_stack(args.stack, args.config)
    except (StackFileError, PolicyConfigError, pulumi.RunError) as exc:
        print(f"{PREFIX}{exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
