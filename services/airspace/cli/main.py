"""`airspace` entry point: the command tree, and errors turned into exit codes.

Exit codes: 0 ok, 1 run failed or canceled (or audit log broken), 2 usage or
request error, 3 gateway unreachable, 130 stopped with Ctrl-C. Every error is told in
a line or a few, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from google.protobuf import message

from airspace.cli import (
    args as cli_args,
)
from airspace.cli import (
    commands_admin,
    commands_agent_check,
    commands_approvals,
    commands_demo,
    commands_keys,
    commands_observe,
    commands_registry,
    commands_runs,
    connection,
    supervisor,
)
from airspace.cli.output import INTERRUPTED, UsageError, render_rpc_error, render_usage_error
from airspace.mesh.errors import MeshError

_EXAMPLES = """\
examples:
  airspace up                                      start the mesh and sample agents
  airspace workflows apply workflows/contract-review.yaml
  airspace run contract-review --input @contract.json
  airspace runs show RUN_ID                        the path a run took, and why
  airspace approvals list                          what runs are waiting for

The gateway and API key are found in $AIRSPACE_HOME/credentials.json (written by
`airspace up`); AIRSPACE_GATEWAY and AIRSPACE_API_KEY override them.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airspace",
        description="Airspace: run, watch and govern multi-agent workflows.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[cli_args.connection_options()],
    )
    sub = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    supervisor.register(sub)
    commands_demo.register(sub)
    commands_runs.register(sub)
    commands_registry.register(sub)
    commands_approvals.register(sub)
    commands_observe.register(sub)
    commands_admin.register(sub)
    commands_keys.register(sub)
    commands_agent_check.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, MeshError) as error:
        return render_usage_error(error)
    except grpc.RpcError as error:
        return render_rpc_error(error, _gateway(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except RecursionError:
        return render_usage_error(UsageError("the request is nested too deeply to build"))
    except (ValueError, message.Error) as error:  # a value protobuf or a parser refused
        return render_usage_error(UsageError(f"invalid request: {error}"))


def _gateway(args) -> str:
    try:
        return connection.resolve(getattr(args, "gateway", None)).gateway
    except UsageError:
        return connection.DEFAULT_GATEWAY


if __name__ == "__main__":
    sys.exit(main())
