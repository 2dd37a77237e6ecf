"""One entry point, one subcommand per module.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func` (taking the parsed args, returning an exit code). A user error raises `CliError`:
it is printed as one line naming the problem and the fix, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules under mcpds/ that provide subcommands, in `--help` order.
SUBCOMMANDS: tuple[str, ...] = ("client_config", "verify", "seal", "images")


class CliError(Exception):
    """A problem with the user's input: printed as `mcpds: error: <message>`, exit 2."""

    exit_code = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mcpds",
        description="Tools for the mcp-datascience stack.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"mcpds.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"mcpds: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
