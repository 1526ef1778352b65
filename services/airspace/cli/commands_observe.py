"""`airspace trace` and `airspace audit list|verify`: what happened, and proof of it."""

from __future__ import annotations

from collections import defaultdict

from rich.table import Table
from rich.text import Text

from airspace.cli import args as cli_args
from airspace.cli.connection import Client, connect, paged
from airspace.cli.output import (
    FAILED,
    OK,
    console,
    format_duration,
    format_time,
    print_json,
    print_listing,
    struct_text,
    table,
)
from airspace.trace.v1 import trace_pb2
from airspace.v1 import observability_pb2

_BAR_WIDTH = 40


def register(sub) -> None:
    trace = cli_args.add_command(
        sub,
        "trace",
        "show a run's spans as a waterfall",
        """
        airspace trace 7f3c2a
        airspace trace 7f3c2a --json
        """,
    )
    trace.add_argument("run_id", metavar="RUN_ID", help="run id")
    cli_args.json_flag(trace)
    trace.set_defaults(handler=show_trace)

    audit = cli_args.add_group(sub, "audit", "read and verify the audit log")
    listing = cli_args.add_command(
        audit,
        "list",
        "list audit entries, oldest first",
        """
        airspace audit list --run 7f3c2a
        airspace audit list --principal user:dev --limit 500
        """,
    )
    listing.add_argument("--run", default="", help="only entries about this run")
    listing.add_argument("--principal", default="", help="only entries about this principal")
    cli_args.limit_flag(listing, default=100)
    cli_args.json_flag(listing)
    listing.set_defaults(handler=list_audit)

    verify = cli_args.add_command(
        audit,
        "verify",
        "check the audit log: chain, signed heads, witness (exit 1 on any finding)",
        "airspace audit verify",
    )
    cli_args.json_flag(verify)
    verify.set_defaults(handler=verify_audit)

    resolve = cli_args.add_command(
        audit,
        "resolve",
        "show the value behind a reversible PII token (needs token.resolve; it is audited)",
        "airspace audit resolve tok_3f2a9c... --run 7f3c2a",
    )
    resolve.add_argument("token", metavar="TOKEN", help="the token, e.g. tok_3f2a...")
    resolve.add_argument("--run", default="", help="the run it was found in, for the record")
    cli_args.json_flag(resolve)
    resolve.set_defaults(handler=resolve_token)


def show_trace(args) -> int:
    with connect(args) as client:
        return print_trace(client, args.run_id, args.json)


def print_trace(client: Client, run_id: str, as_json: bool = False) -> int:
    """The spans of a run's trace as a waterfall, every service in one picture."""
    response = client.traces.GetRunTrace(observability_pb2.GetRunTraceRequest(run_id=run_id))
    if as_json:
        print_json(response)
        return OK
    out = console()
    if not response.spans:
        out.print(f"no spans recorded for run {run_id} yet")
        return OK
    out.print(
        Text.assemble("trace ", (response.trace_id, "bold"), f" · {len(response.spans)} spans")
    )
    out.print(waterfall(response.spans))
    return OK


def waterfall(spans: list[trace_pb2.Span]) -> Table:
    """Spans indented under their parents, each with a bar placed on the trace's timeline."""
    ordered = sorted(spans, key=lambda s: s.start_time.ToNanoseconds())
    known = {span.span_id for span in ordered}
    children: dict[str, list[trace_pb2.Span]] = defaultdict(list)
    roots = []
    for span in ordered:
        if span.parent_span_id in known:
            children[span.parent_span_id].append(span)
        else:
            roots.append(span)
    begin = min(s.start_time.ToNanoseconds() for s in ordered)
    end = max(s.end_time.ToNanoseconds() for s in ordered)
    total = max(end - begin, 1)

    rows = table("SPAN", "SERVICE", "DURATION", "TIMELINE", "STATUS")
    pending = [(root, 0) for root in reversed(roots)]
    while pending:  # depth-first, children in start order
        span, depth = pending.pop()
        start, stop = span.start_time.ToNanoseconds(), span.end_time.ToNanoseconds()
        failed = span.status_code == "ERROR"
        column = min(_BAR_WIDTH - 1, (start - begin) * _BAR_WIDTH // total)
        length = max(1, min(_BAR_WIDTH - column, round((stop - start) * _BAR_WIDTH / total)))
        status = (
            Text("error" + (f": {span.status_message}" if span.status_message else ""), style="red")
            if failed
            else Text(span.status_code.lower() if span.status_code != "UNSET" else "")
        )
        rows.add_row(
            "  " * depth + span.name,
            span.service,
            format_duration(max(0, stop - start) / 1e9),
            Text(" " * column + "█" * length, style="red" if failed else "cyan"),
            status,
        )
        pending.extend((child, depth + 1) for child in reversed(children[span.span_id]))
    return rows


def list_audit(args) -> int:
    request = observability_pb2.ListAuditEntriesRequest(run_id=args.run, principal=args.principal)
    with connect(args) as client:
        entries, more = paged(client.audit.ListAuditEntries, request, "entries", args.limit)
    if args.json:
        print_json(entries)
        return OK
    rows = table("SEQ", "TIME", "PRINCIPAL", "KIND", "RUN", "DECISION", "DETAILS", "HASH")
    for entry in entries:
        rows.add_row(
            str(entry.sequence),
            format_time(entry.time),
            entry.principal,
            entry.kind,
            entry.run_id,
            entry.decision_id,
            struct_text(entry.details, 60),
            entry.hash[:12],
        )
    print_listing(rows, len(entries), more, args.limit, "audit entries")
    return OK


def verify_audit(args) -> int:
    with connect(args) as client:
        result = client.audit.VerifyAuditLog(observability_pb2.VerifyAuditLogRequest())
    if args.json:
        print_json(result)
        return OK if result.ok else FAILED
    out = console()
    if result.ok:
        out.print(
            Text.assemble(
                ("audit log intact", "green"),
                f": {result.entries_checked} entries checked, "
                f"{result.signed_entries} covered by a signed head",
            )
        )
    else:
        out.print(
            Text.assemble(
                ("audit log BROKEN", "bold red"),
                f" at entry {result.first_bad_sequence}: {result.problem}"
                f" ({result.entries_checked} entries checked)",
            )
        )
    out.print(verdicts(result))
    if result.acknowledged:
        entries = ", ".join(str(sequence) for sequence in result.incident_sequences)
        out.print(f"acknowledged in incident entries {entries}:", style="yellow")
        for finding in result.acknowledged:
            out.print(f"  {finding.check}: {finding.problem}", style="yellow")
    return OK if result.ok else FAILED


def verdicts(result: observability_pb2.VerifyAuditLogResponse) -> Table:
    """One row per check: passed, or what it found."""
    rows = table("", "CHECK", "VERDICT")
    for check in result.checks:
        if check.ok:
            rows.add_row(Text("ok", style="green"), check.name, check.description)
            continue
        found = "\n".join(finding.problem for finding in check.findings)
        if check.finding_count > len(check.findings):
            found += f"\n… and {check.finding_count - len(check.findings)} more"
        rows.add_row(Text("FAIL", style="bold red"), check.name, Text(found, style="red"))
    return rows


def resolve_token(args) -> int:
    request = observability_pb2.ResolveTokenRequest(token=args.token, run_id=args.run)
    with connect(args) as client:
        result = client.audit.ResolveToken(request)
    if args.json:
        print_json(result)
    else:
        console().print(Text.assemble((result.entity, "bold"), f" {result.value}"))
        console(stderr=True).print(f"recorded as decision {result.decision_id}", style="dim")
    return OK
