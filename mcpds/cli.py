"""One entry point, one subcommand per module, and the usage contract of every command.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func` (taking the parsed args, returning an exit code). A user error raises `CliError`:
it is printed as one line naming the problem and the fix, never as a traceback.

`UsageParser` holds every entry point (`python -m mcpds ...`, `python -m offline.*`) to
the same contract for usage errors: one line `mcpds: error: ...` that names the flag and
the fix ("did you mean" for a misspelt flag, command or choice), exit 2.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

# Modules under mcpds/ that provide subcommands, in `--help` order.
SUBCOMMANDS: tuple[str, ...] = ("client_config", "verify", "seal", "images")
PREFIX = "mcpds: error: "


class CliError(Exception):
    """A problem with the user's input: printed as `mcpds: error: <message>`, exit 2."""

    exit_code = 2


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]}?" if close else ""


class UsageParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line naming the flag and the fix, exit 2."""

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        print(PREFIX + usage_problem(self, message), file=sys.stderr)
        sys.exit(2)


def _command_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The (sub)parser `argv` is addressed to: the parser of the subcommand named in it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for token in argv:
                if token in action.choices:
                    return _command_parser(action.choices[token], argv[argv.index(token) + 1 :])
    return parser


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(s for s in parser._option_string_actions if s.startswith("--") and s != "--help")


def _unknown_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    known = parser._option_string_actions
    unknown = []
    for token in argv:
        if token == "--":
            break
        flag = token.split("=", 1)[0]
        if not flag.startswith("--") or flag in known:
            continue
        if len([s for s in known if s.startswith(flag)]) == 1:
            continue  # an abbreviation argparse accepts
        unknown.append(flag)
    return unknown


def _spelled(action: argparse.Action) -> str:
    """`--cert FILE`, as the flag is written with a value."""
    if not action.option_strings:  # a positional argument
        return str(action.metavar or action.dest)
    flag = max(action.option_strings, key=len)
    if action.nargs == 0:
        return flag
    return f"{flag} {action.metavar or action.dest.upper()}"


def _action(parser: argparse.ArgumentParser, name: str) -> argparse.Action | None:
    for action in parser._actions:
        if name in action.option_strings or name in (action.metavar, action.dest):
            return action
    return None


def usage_problem(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's `message` as one line naming the flag and the fix."""
    target = _command_parser(parser, getattr(parser, "_argv", []))
    argv = getattr(target, "_argv", getattr(parser, "_argv", []))
    prog = target.prog
    # A misspelt flag is the cause of whatever argparse noticed first (a "missing" flag).
    unknown = _unknown_flags(target, argv)
    if unknown:
        flag, flags = unknown[0], _flags(target)
        if not flags and any(isinstance(a, argparse._SubParsersAction) for a in target._actions):
            return f"{flag} is not a flag of {prog}: name a command first ({prog} --help lists them)"
        if not flags:
            return f"{flag} is not a flag of {prog}: it takes no arguments"
        return f"{flag} is not a flag of {prog}.{did_you_mean(flag, flags)} Flags: {', '.join(flags)}"
    if match := re.match(r"unrecognized arguments: (.*)", message):
        flags = _flags(target)
        positionals = [_spelled(a) for a in target._actions if not a.option_strings and a.nargs != argparse.PARSER]
        takes = " and ".join(
            [*([" ".join(positionals)] if positionals else []), *([f"flags ({', '.join(flags)})"] if flags else [])]
        )
        return f"unexpected argument {match.group(1)!r}: {prog} takes {takes or 'no arguments'}"
    if match := re.match(r"the following arguments are required: (.*)", message):
        actions = [_action(target, name.strip()) for name in match.group(1).split(",")]
        wanted = [f"{_spelled(a)} ({a.help})" if a.help else _spelled(a) for a in actions if a is not None]
        return f"{prog} needs {'; '.join(wanted)}: add {'it' if len(wanted) == 1 else 'them'}"
    if match := re.match(r"one of the arguments (.*) is required", message):
        actions = [_action(target, name) for name in match.group(1).split()]
        options = " or ".join(_spelled(a) for a in actions if a is not None)
        return f"{prog} needs {options}: pass one"
    if match := re.match(r"argument (\S+): invalid choice: '?([^']*?)'? \(choose from (.*)\)", message):
        name, value = match.group(1), match.group(2)
        choices = re.findall(r"'([^']*)'", match.group(3)) or match.group(3).split(", ")
        what = "a command" if not name.startswith("-") else f"a value of {name}"
        return f"{value!r} is not {what}.{did_you_mean(value, choices)} Choose one of: {', '.join(choices)}"
    if match := re.match(r"argument (\S+): invalid (int|float) value: '([^']*)'", message):
        name, kind, value = match.groups()
        action = _action(target, name.split("/")[-1])
        example = f" such as {name} {_shown_default(action.default)}" if action and action.default is not None else ""
        words = {"int": "a whole number", "float": "a number"}[kind]
        return f"{name} {value!r} is not {words}: pass {words}{example}"
    if match := re.match(r"argument (\S+): expected one argument", message):
        action = _action(target, match.group(1).split("/")[-1])
        return f"{match.group(1)} needs a value: {_spelled(action) if action else match.group(1) + ' VALUE'}"
    if match := re.match(r"argument (\S+): not allowed with argument (\S+)", message):
        return f"{match.group(1)} and {match.group(2)} exclude each other: pass only one"
    if match := re.match(r"argument (\S+): ignored explicit argument '([^']*)'", message):
        return f"{match.group(1)} takes no value: write {match.group(1)} alone"
    if match := re.match(r"ambiguous option: (\S+) could match (.*)", message):
        return f"{match.group(1)} is ambiguous ({match.group(2)}): write the flag in full"
    if match := re.match(r"argument (\S+): (.*)", message):  # an ArgumentTypeError's words, value first
        return f"{match.group(1)} {match.group(2)}"
    return message


def cannot_write(exc: OSError, target: object, flag: str, what: str = "a directory", note: str = "") -> str:
    """The one line for an output that could not be written: where, why, and the flag that moves it."""
    return f"cannot write {target}: {exc.strerror or exc}{note}; pass {flag} with {what} you can write"


def _shown_default(value: Any) -> str:
    """A flag's default as it is typed: `0,50,100` for a list."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def whole_number_at_least(low: int) -> Any:
    """An argparse `type`: a whole number of at least `low`, refused in words otherwise."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = low - 1
        if number < low:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {low} or more: pass one such as {low}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(prog="python -m mcpds", description="Tools for the mcp-datascience stack.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"mcpds.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        commands = ", ".join(n.replace("_", "-") for n in SUBCOMMANDS)
        print(f"{PREFIX}name a command ({commands}); `python -m mcpds COMMAND --help` lists its flags", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"{PREFIX}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
