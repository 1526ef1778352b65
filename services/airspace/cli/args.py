"""Argparse building blocks every command shares: connection options, --json, examples.

Each command sets `handler(args) -> int` (the exit code) with set_defaults.
"""

from __future__ import annotations

import argparse
import re
import textwrap

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper


def connection_options() -> argparse.ArgumentParser:
    """--gateway/--timeout, accepted before or after the subcommand (SUPPRESS keeps a
    subcommand's defaults from overwriting a value given before it)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--gateway",
        metavar="HOST:PORT",
        default=argparse.SUPPRESS,
        help="gateway address (default: $AIRSPACE_GATEWAY, the credentials file, 127.0.0.1:50051)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=argparse.SUPPRESS,
        help="deadline of each request (default 10)",
    )
    return parent


_COMMON = connection_options()
_AGE = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def age_seconds(text: str) -> int | None:
    """An age such as 30d, 12h, 15m or 90s in seconds; None for any other text."""
    age = _AGE.match(text)
    return int(age.group(1)) * _UNIT_SECONDS[age.group(2)] if age else None


def add_command(
    subparsers, name: str, summary: str, examples: str = "", description: str = ""
) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=summary,
        description=description or summary,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  ")
        if examples
        else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_COMMON],
    )


def add_group(subparsers, name: str, summary: str, examples: str = ""):
    """A command with subcommands (`airspace runs ...`); returns its subparsers."""
    parser = add_command(subparsers, name, summary, examples)
    return parser.add_subparsers(title="commands", dest=f"{name}_command", required=True)


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def limit_flag(parser: argparse.ArgumentParser, default: int = 50) -> None:
    parser.add_argument(
        "--limit", type=count, default=default, help=f"at most this many (default {default})"
    )


def count(text: str) -> int:
    """A whole number of at least 1, for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def enum_choices(enum: EnumTypeWrapper, prefix: str) -> dict[str, str]:
    """A proto enum's values as a flag spells them (RUN_STATE_QUEUED: `queued`), each
    mapped to the value's name; the UNSPECIFIED zero value is no choice."""
    return {
        name.removeprefix(prefix).lower(): name
        for name in enum.DESCRIPTOR.values_by_name
        if not name.endswith("_UNSPECIFIED")
    }
