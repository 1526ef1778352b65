"""`airspace approvals list|show|approve|reject`: the human decisions runs wait for."""

from __future__ import annotations

import uuid

from rich.text import Text

from airspace.cli import args as cli_args
from airspace.cli.connection import connect, paged
from airspace.cli.output import (
    OK,
    console,
    enum_label,
    fields,
    format_time,
    print_json,
    print_listing,
    shorten,
    struct_text,
    table,
)
from airspace.v1 import approval_pb2, run_pb2

_STATES = cli_args.enum_choices(approval_pb2.ApprovalState, "APPROVAL_STATE_")


def register(sub) -> None:
    approvals = cli_args.add_group(sub, "approvals", "decide what runs are waiting for")

    listing = cli_args.add_command(
        approvals,
        "list",
        "list approvals (pending ones by default)",
        """
        airspace approvals list
        airspace approvals list --run 7f3c2a --state decided
        """,
    )
    listing.add_argument("--run", default="", help="only approvals of this run")
    listing.add_argument(
        "--state", choices=sorted(_STATES), default="pending", help="default pending"
    )
    cli_args.limit_flag(listing)
    cli_args.json_flag(listing)
    listing.set_defaults(handler=list_approvals)

    show = cli_args.add_command(
        approvals,
        "show",
        "show what an approval asks, its evidence and payload",
        "airspace approvals show ap-91c2",
    )
    show.add_argument("approval_id", metavar="ID", help="approval id")
    cli_args.json_flag(show)
    show.set_defaults(handler=show_approval)

    for verb, outcome in (
        ("approve", run_pb2.APPROVAL_OUTCOME_APPROVED),
        ("reject", run_pb2.APPROVAL_OUTCOME_REJECTED),
    ):
        decide = cli_args.add_command(
            approvals,
            verb,
            f"{verb} an approval (bound to the payload you can see with `show`)",
            f'airspace approvals {verb} ap-91c2 --comment "checked with legal"',
        )
        decide.add_argument("approval_id", metavar="ID", help="approval id")
        decide.add_argument("--comment", default="", help="for the record")
        decide.set_defaults(handler=decide_approval, outcome=outcome)


def list_approvals(args) -> int:
    request = approval_pb2.ListApprovalsRequest(state=_STATES[args.state], run_id=args.run)
    with connect(args) as client:
        approvals, more = paged(client.approvals.ListApprovals, request, "approvals", args.limit)
    if args.json:
        print_json(approvals)
        return OK
    rows = table("ID", "RUN", "STEP", "KIND", "ROLE", "SUMMARY", "REQUESTED BY", "EXPIRES")
    for approval in approvals:
        rows.add_row(
            approval.approval_id,
            approval.run_id,
            approval.step_key,
            enum_label(approval_pb2.ApprovalKind, approval.kind).lower(),
            approval.required_role,
            shorten(approval.summary, 60),
            approval.requested_by,
            format_time(approval.expire_time),
        )
    print_listing(rows, len(approvals), more, args.limit, "approvals")
    return OK


def show_approval(args) -> int:
    with connect(args) as client:
        approval = _get(client, args.approval_id)
    if args.json:
        print_json(approval)
        return OK
    grid = fields()
    grid.add_row("approval", approval.approval_id)
    grid.add_row("state", enum_label(approval_pb2.ApprovalState, approval.state))
    grid.add_row("kind", enum_label(approval_pb2.ApprovalKind, approval.kind).lower())
    grid.add_row("run", f"{approval.run_id}  step {approval.step_key or '-'}")
    grid.add_row("asks", approval.summary)
    grid.add_row("role", approval.required_role)
    grid.add_row("requested", f"{format_time(approval.create_time)} by {approval.requested_by}")
    grid.add_row("expires", format_time(approval.expire_time))
    if approval.HasField("evidence"):
        grid.add_row("evidence", struct_text(approval.evidence))
    grid.add_row("payload", struct_text(approval.payload))
    grid.add_row("payload hash", approval.payload_hash)
    if approval.state == approval_pb2.APPROVAL_STATE_DECIDED:
        outcome = enum_label(run_pb2.ApprovalOutcome, approval.outcome)
        grid.add_row(
            "decided",
            f"{outcome} by {approval.decided_by} {format_time(approval.decide_time)}"
            + (f": {approval.comment}" if approval.comment else ""),
        )
    console().print(grid)
    return OK


def decide_approval(args) -> int:
    with connect(args) as client:
        seen = _get(client, args.approval_id)
        decided = client.approvals.DecideApproval(
            approval_pb2.DecideApprovalRequest(
                approval_id=seen.approval_id,
                outcome=args.outcome,
                comment=args.comment,
                payload_hash=seen.payload_hash,
                request_id=uuid.uuid4().hex,
            )
        ).approval
    label = enum_label(run_pb2.ApprovalOutcome, decided.outcome)
    console().print(
        Text.assemble(
            "approval ",
            (decided.approval_id, "bold"),
            " ",
            (label, "green" if args.outcome == run_pb2.APPROVAL_OUTCOME_APPROVED else "red"),
            f" (run {decided.run_id})",
        )
    )
    return OK


def _get(client, approval_id: str) -> approval_pb2.Approval:
    request = approval_pb2.GetApprovalRequest(approval_id=approval_id)
    return client.approvals.GetApproval(request).approval
