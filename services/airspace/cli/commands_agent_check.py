"""`airspace agent check HOST:PORT`: the conformance kit against an agent server in any language."""

from __future__ import annotations

import asyncio
import pathlib

from airspace.cli import args as cli_args
from airspace.cli.output import FAILED, OK, UsageError, console, print_json
from airspace.conformance import SuiteOptions, as_json, render, run_suite
from airspace.conformance.runner import selected

DEFAULT_TIMEOUT_SECONDS = 10.0


def register(sub) -> None:
    agent = cli_args.add_group(sub, "agent", "develop an agent: check it against the contract")
    check = cli_args.add_command(
        agent,
        "check",
        "run the conformance suite against the agent serving at HOST:PORT (exit 1 if it fails)",
        """
        airspace agent check 127.0.0.1:7301
        airspace agent check 127.0.0.1:7301 --only errors --verbose
        airspace agent check 127.0.0.1:7301 --handoff-input @high-risk.txt \\
            --action-input @high-risk.txt --action risk.notify
        """,
        description="Checks health, the AgentCard, Invoke streaming (numbering, exactly one\n"
        "terminal event), idempotency keys, deadlines, cancellation, error codes for bad input,\n"
        "and handoff and action-request encoding. For each failure it shows what was sent,\n"
        "what came back and what the contract expects.",
    )
    check.add_argument("endpoint", metavar="HOST:PORT", help="the agent's gRPC endpoint")
    check.add_argument(
        "--input",
        metavar="TEXT|@FILE",
        help="task input; a JSON object is sent as a data part (default: the card's first skill "
        "example)",
    )
    check.add_argument(
        "--handoff-input", metavar="TEXT|@FILE", help="an input that makes the agent hand off"
    )
    check.add_argument(
        "--handoff-target",
        default="conformance-peer",
        metavar="AGENT",
        help="the agent offered as handoff target (default conformance-peer)",
    )
    check.add_argument(
        "--action-input",
        metavar="TEXT|@FILE",
        help="an input that makes the agent request an action",
    )
    check.add_argument(
        "--action",
        dest="actions",
        action="append",
        default=[],
        metavar="NAME",
        help="an action the agent may request (repeatable)",
    )
    check.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="CHECK",
        help="run only this check or group, e.g. errors (repeatable)",
    )
    check.add_argument(
        "-v", "--verbose", action="store_true", help="show the calls of passing checks too"
    )
    cli_args.json_flag(check)
    check.set_defaults(handler=check_agent)


def check_agent(args) -> int:
    host, _, port = args.endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"expected HOST:PORT, got {args.endpoint!r}")
    options = SuiteOptions(
        timeout=getattr(args, "timeout", DEFAULT_TIMEOUT_SECONDS),
        input_text=_text(args.input),
        handoff_input=_text(args.handoff_input),
        handoff_target=args.handoff_target,
        action_input=_text(args.action_input),
        actions=tuple(args.actions),
        only=tuple(args.only),
    )
    try:
        selected(options.only)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    report = asyncio.run(run_suite(args.endpoint, options))
    if args.json:
        print_json(as_json(report))
    else:
        render(report, console(), verbose=args.verbose)
    return OK if report.passed else FAILED


def _text(value: str | None) -> str | None:
    """TEXT as given, or the contents of FILE for @FILE."""
    if value is None or not value.startswith("@"):
        return value
    path = pathlib.Path(value[1:])
    try:
        return path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
