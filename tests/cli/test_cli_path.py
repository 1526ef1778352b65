"""The run path tree and live event lines, rendered from hand-built events to plain text."""

import io

import pytest
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.rpc import status_pb2
from rich.console import Console

from airspace.agent.v1 import agent_pb2
from airspace.cli.commands_observe import waterfall
from airspace.cli.events import live_line
from airspace.cli.path import render_path
from airspace.trace.v1 import trace_pb2
from airspace.v1 import run_pb2

pytestmark = pytest.mark.unit

T0 = 1_700_000_000.0


def plain(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None, force_terminal=False).print(renderable)
    return out.getvalue()


def at(offset: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int((T0 + offset) * 1e9))
    return stamp


def took(secs: float) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=int(secs), nanos=round(secs % 1 * 1e9))


def log(*specs) -> list[run_pb2.RunEvent]:
    """(offset, step_key, agent, {kind: message}) -> events with sequences 1..n."""
    return [
        run_pb2.RunEvent(
            run_id="r1", sequence=n, time=at(offset), step_key=key, agent=agent, **kind
        )
        for n, (offset, key, agent, kind) in enumerate(specs, start=1)
    ]


def text_output(text: str) -> agent_pb2.FinalOutput:
    return agent_pb2.FinalOutput(
        message=agent_pb2.Message(parts=[agent_pb2.Part(text=text)]), confidence=0.9
    )


SEQUENTIAL_RUN_THAT_FAILS = log(
    (0.0, "", "", {"run_state_changed": run_pb2.RunStateChanged(to=run_pb2.RUN_STATE_RUNNING)}),
    (
        0.01,
        "",
        "",
        {
            "routing_decision": run_pb2.RoutingDecision(
                kind=run_pb2.ROUTING_KIND_NEXT_STEP,
                candidates=["extract"],
                chosen="extract",
                decided_by="pattern:sequential",
                reason="first step",
            )
        },
    ),
    (
        0.02,
        "s0001-extract",
        "extractor",
        {"step_started": run_pb2.StepStarted(step_name="extract", attempt=1)},
    ),
    (
        0.22,
        "s0001-extract",
        "extractor",
        {
            "step_failed": run_pb2.StepFailed(
                step_name="extract",
                attempt=1,
                error=status_pb2.Status(code=14, message="agent unavailable"),
                will_retry=True,
                duration=took(0.2),
            )
        },
    ),
    (
        0.23,
        "s0001-extract",
        "extractor",
        {
            "retry_scheduled": run_pb2.RetryScheduled(
                next_attempt=2, backoff=took(0.5), reason="UNAVAILABLE"
            )
        },
    ),
    (
        0.73,
        "s0001-extract",
        "extractor",
        {"step_started": run_pb2.StepStarted(step_name="extract", attempt=2)},
    ),
    (1.5, "s0001-extract", "extractor", {"agent_progress": run_pb2.AgentProgress()}),
    (
        2.1,
        "s0001-extract",
        "extractor",
        {
            "guardrail_verdict": run_pb2.GuardrailVerdict(
                checkpoint="step.output",
                verdict=run_pb2.VERDICT_ALLOW,
                reasons=[
                    run_pb2.Reason(code="PII_MASKED", rule_id="pii.email", message="email masked")
                ],
                obligations_applied=["mask email x2"],
            )
        },
    ),
    (
        2.2,
        "s0001-extract",
        "extractor",
        {
            "step_completed": run_pb2.StepCompleted(
                step_name="extract",
                attempt=2,
                output=text_output("parties: ACME"),
                duration=took(1.47),
            )
        },
    ),
    (
        2.21,
        "s0001-extract",
        "extractor",
        {
            "routing_decision": run_pb2.RoutingDecision(
                kind=run_pb2.ROUTING_KIND_NEXT_STEP,
                candidates=["review", "archive"],
                chosen="review",
                decided_by="rule:high-value",
                reason="amount over limit",
                expression="input.amount > 10000",
            )
        },
    ),
    (
        2.3,
        "s0002-review",
        "reviewer",
        {"step_started": run_pb2.StepStarted(step_name="review", attempt=1)},
    ),
    (
        2.6,
        "s0002-review",
        "reviewer",
        {
            "step_failed": run_pb2.StepFailed(
                step_name="review",
                attempt=1,
                error=status_pb2.Status(code=13, message="model crashed"),
                duration=took(0.3),
            )
        },
    ),
    (
        2.61,
        "",
        "",
        {
            "run_state_changed": run_pb2.RunStateChanged(
                **{"from": run_pb2.RUN_STATE_RUNNING},
                to=run_pb2.RUN_STATE_FAILED,
                reason="step failed",
                error=status_pb2.Status(code=13, message="step review failed"),
            )
        },
    ),
)


def test_path_shows_steps_retries_guardrails_routing_and_where_it_failed():
    text = plain(render_path(SEQUENTIAL_RUN_THAT_FAILS, title="path of run r1"))
    lines = text.splitlines()

    assert lines[0] == "path of run r1"
    assert "run RUNNING" in lines[1]
    extract = next(line for line in lines if "step extract ·" in line)
    assert "✓" in extract and "agent extractor" in extract and "2 attempts" in extract
    assert "1.47s" in extract and "[s0001-extract]" in extract
    assert (
        "step extract attempt 1 failed after 200ms: UNAVAILABLE: agent unavailable (will retry)"
        in text
    )
    assert "retry: attempt 2 in 500ms — UNAVAILABLE" in text
    assert (
        "guardrail step.output: ALLOW PII_MASKED(pii.email) email masked; applied: mask email x2"
        in text
    )
    assert "step extract completed in 1.47s on attempt 2, confidence 0.90: parties: ACME" in text
    assert (
        "route next step: → review by rule:high-value — amount over limit "
        "[candidates: review, archive] when input.amount > 10000"
    ) in text
    assert "progress" not in text  # chatter stays out of the path
    review = next(line for line in lines if "step review ·" in line)
    assert "✗" in review and "agent reviewer" in review
    assert lines[-1].endswith(
        "✗ FAILED at step s0002-review (agent reviewer): INTERNAL: model crashed"
    )
    # Events keep log order on the trunk, and each step's events sit under the step.
    assert (
        text.index("route next step: → extract")
        < text.index("step extract ·")
        < text.index("step review ·")
    )
    assert "+2.200s  step extract completed" in text


def test_concurrent_branches_are_grouped_under_their_step():
    events = log(
        *(
            (
                0.1 * i,
                f"s0002-review-{branch}",
                f"{branch}-reviewer",
                {"step_started": run_pb2.StepStarted(step_name="review", attempt=1, branch=branch)},
            )
            for i, branch in enumerate(("legal", "finance"))
        ),
        (
            1.0,
            "s0002-review-legal",
            "legal-reviewer",
            {
                "step_completed": run_pb2.StepCompleted(
                    step_name="review", attempt=1, branch="legal", duration=took(0.9)
                )
            },
        ),
    )
    lines = plain(render_path(events)).splitlines()
    group = next(i for i, line in enumerate(lines) if "concurrent review" in line)
    legal = next(i for i, line in enumerate(lines) if "branch legal" in line)
    finance = next(i for i, line in enumerate(lines) if "branch finance" in line)
    assert group < legal < finance
    indent = lines[group].index("⑂")
    assert lines[legal].index("step") > indent and lines[finance].index("step") > indent
    assert "✓" in lines[legal] and "…" in lines[finance]  # finance is still running


def test_live_line_names_offset_step_agent_and_who_must_approve():
    [event] = log(
        (
            3.25,
            "s0003-sign",
            "signer",
            {
                "approval_requested": run_pb2.ApprovalRequested(
                    approval_id="ap-1", role="legal-approver", summary="sign contract"
                )
            },
        )
    )
    line = plain(live_line(event, T0)).strip()
    assert line.startswith("+3.250s")
    assert "s0003-sign" in line and "signer" in line
    assert "waiting for approval ap-1 by role legal-approver: sign contract" in line


def test_live_line_for_handoff_and_output():
    output = struct_pb2.Struct()
    output.update({"verdict": "ok"})
    handoff, final = log(
        (
            0.5,
            "s0001-triage",
            "triage",
            {
                "handoff": run_pb2.Handoff(
                    from_agent="triage",
                    to_agent="billing",
                    reason="invoice question",
                    accepted=True,
                    hop=1,
                )
            },
        ),
        (0.9, "", "", {"run_output": run_pb2.RunOutput(output=output)}),
    )
    assert "handoff triage → billing accepted (hop 1): invoice question" in plain(
        live_line(handoff, T0)
    )
    assert 'output: {"verdict": "ok"}' in plain(live_line(final, T0))


def test_waterfall_indents_children_and_marks_errors():
    def span(span_id, parent, name, start, end, status="OK"):
        return trace_pb2.Span(
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            service="router",
            start_time=at(start),
            end_time=at(end),
            status_code=status,
            status_message="boom" if status == "ERROR" else "",
        )

    text = plain(
        waterfall(
            [
                span("b", "a", "invoke_agent extractor", 0.1, 0.5),
                span("a", "", "run contract-review", 0.0, 1.0),
                span("c", "a", "invoke_agent reviewer", 0.6, 1.0, "ERROR"),
            ]
        )
    )
    lines = [line for line in text.splitlines() if "router" in line]
    assert [line.split("router")[0].strip() for line in lines] == [
        "run contract-review",
        "invoke_agent extractor",
        "invoke_agent reviewer",
    ]
    assert lines[1].index("invoke") > lines[0].index("run")  # children indented under parent
    assert "error: boom" in lines[2] and "ok" in lines[0]
    assert "1.00s" in lines[0] and "400ms" in lines[1]
