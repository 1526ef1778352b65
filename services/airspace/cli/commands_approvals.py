"""`airspace approvals list|show|approve|reject|edit`: the human decisions runs wait for."""

from __future__ import annotations

import time
import uuid

import grpc
from google.protobuf import json_format
from rich.text import Text

from airspace.cli import args as cli_args
from airspace.cli.commands_runs import json_object, read_argument
from airspace.cli.connection import Client, connect, paged
from airspace.cli.output import (
    OK,
    UsageError,
    console,
    enum_label,
    fields,
    format_duration,
    format_time,
    print_json,
    print_listing,
    struct_text,
    table,
)
from airspace.v1 import approval_pb2, run_pb2

_STATES = cli_args.enum_choices(approval_pb2.ApprovalState, "APPROVAL_STATE_")
# Approvals of each state read to find the one an id prefix names.
_PREFIX_SCAN = 1000


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

    edit = cli_args.add_command(
        approvals,
        "edit",
        "approve with your edit of the payload (checked like agent output)",
        """
        airspace approvals edit ap-91c2 --text "We will call you back today." --comment "called"
        airspace approvals edit ap-91c2 --data @fixed.json
        airspace approvals edit ap-91c2 --data '{"choice": "billing"}'     (a conflict)
        """,
        description="An output under review keeps what you do not replace: --text replaces "
        "its text, --data its data. Any other approval (a conflict, an action) takes --data "
        "as the whole edited payload.",
    )
    edit.add_argument("approval_id", metavar="ID", help="approval id")
    edit.add_argument("--text", help="the output's new text")
    edit.add_argument("--data", help="a JSON object, or @FILE holding one")
    edit.add_argument("--comment", default="", help="for the record")
    edit.set_defaults(handler=edit_approval)


def list_approvals(args) -> int:
    request = approval_pb2.ListApprovalsRequest(state=_STATES[args.state], run_id=args.run)
    with connect(args) as client:
        approvals, more = paged(client.approvals.ListApprovals, request, "approvals", args.limit)
    if args.json:
        print_json(approvals)
        return OK
    # Step, kind and requester are in `show`; the summary takes what the terminal has left.
    rows = table("ID", "RUN", "ROLE", "EXPIRES", "SUMMARY")
    rows.columns[-1].overflow, rows.columns[-1].no_wrap = "ellipsis", True
    now = time.time()
    for approval in approvals:
        rows.add_row(
            approval.approval_id,
            approval.run_id,
            approval.required_role,
            _expires_in(approval.expire_time, now),
            approval.summary,
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
        decided = decide(client, _get(client, args.approval_id), args.outcome, args.comment)
    console().print(decision_line(decided))
    return OK


def edit_approval(args) -> int:
    if args.text is None and args.data is None:
        raise UsageError("say what the edit is: --text, --data, or both")
    with connect(args) as client:
        seen = _get(client, args.approval_id)
        edited = edited_payload(seen, args.text, _data(args.data))
        decided = decide(client, seen, run_pb2.APPROVAL_OUTCOME_EDITED, args.comment, edited)
    console().print(decision_line(decided))
    return OK


def decide(
    client: Client,
    seen: approval_pb2.Approval,
    outcome: run_pb2.ApprovalOutcome,
    comment: str = "",
    edited: dict | None = None,
) -> approval_pb2.Approval:
    """Decides an approval as read (its payload hash binds the decision to what was seen)."""
    request = approval_pb2.DecideApprovalRequest(
        approval_id=seen.approval_id,
        outcome=outcome,
        comment=comment,
        payload_hash=seen.payload_hash,
        request_id=uuid.uuid4().hex,
    )
    if edited is not None:
        request.edited_payload.update(edited)
    return client.approvals.DecideApproval(request).approval


def edited_payload(seen: approval_pb2.Approval, text: str | None, data: dict | None) -> dict:
    """The edit to send: an output under review ({text, data}) keeps the parts not replaced;
    any other payload is replaced by `data` as a whole."""
    current = json_format.MessageToDict(seen.payload)
    if not {"text", "data"} & current.keys():
        if text is not None or data is None:
            raise UsageError("this approval is not an output: give the edit as --data")
        return data
    edited = {"text": current.get("text", ""), "data": current.get("data", {})}
    if text is not None:
        edited["text"] = text
    if data is not None:
        edited["data"] = data
    return edited


def decision_line(decided: approval_pb2.Approval) -> Text:
    label = enum_label(run_pb2.ApprovalOutcome, decided.outcome)
    style = "red" if decided.outcome == run_pb2.APPROVAL_OUTCOME_REJECTED else "green"
    return Text.assemble(
        "approval ", (decided.approval_id, "bold"), " ", (label, style), f" (run {decided.run_id})"
    )


def _data(value: str | None) -> dict | None:
    """--data as a JSON object, inline or from @FILE."""
    if value is None:
        return None
    content, source = read_argument(value, "--data")
    return json_object(content, "--data", source)


def _expires_in(expire_time, now: float) -> str:
    if not expire_time.seconds:
        return "-"
    left = expire_time.seconds - now
    return "expired" if left <= 0 else f"in {format_duration(left)}"


def _get(client, approval_id: str) -> approval_pb2.Approval:
    """The approval with this id, or the only one whose id starts with it."""
    request = approval_pb2.GetApprovalRequest(approval_id=approval_id)
    try:
        return client.approvals.GetApproval(request).approval
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
        matches = _starting_with(client, approval_id)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise
        shown = ", ".join(sorted(a.approval_id for a in matches)[:5])
        raise UsageError(f"{approval_id!r} could be any of {shown}: type more of it") from None


def _starting_with(client, prefix: str) -> list[approval_pb2.Approval]:
    """The approvals the caller may see whose id starts with `prefix`, of any state."""
    found = []
    for state in _STATES.values():
        listing = approval_pb2.ListApprovalsRequest(state=state)
        approvals, _ = paged(client.approvals.ListApprovals, listing, "approvals", _PREFIX_SCAN)
        found += [a for a in approvals if a.approval_id.startswith(prefix)]
    return found
