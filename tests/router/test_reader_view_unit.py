"""The read path's masking on its own: the default bundle's engine decides behind the
router's policy port, the reader is the bound identity. Results with PII are masked for
the reader's roles, results without cost no check, and a read policy cannot decide fails
closed with a status the caller can act on."""

from __future__ import annotations

import pathlib

import pytest

from airspace.agent.v1 import agent_pb2
from airspace.mesh import errors, identity
from airspace.policy.engine import Engine, load_bundle
from airspace.policy.engine.model import CheckInput, Decision
from airspace.router.convert import to_dict, to_struct
from airspace.router.guard import Guard
from airspace.router.reader_view import ReaderView
from airspace.router.repositories import AuditEvent
from airspace.trace.v1 import trace_pb2
from airspace.v1 import approval_pb2, run_pb2

pytestmark = pytest.mark.unit

BUNDLE = pathlib.Path(__file__).resolve().parents[2] / "policy/airspace/policy/bundles/default.yaml"
SSN = "536-90-4399"


class EnginePolicy:
    """The policy port answered by the engine in-process; every check kept."""

    def __init__(self) -> None:
        self.engine = Engine(load_bundle(BUNDLE), b"reader-view-tests")
        self.checks: list[CheckInput] = []

    async def check(self, check: CheckInput, carrier=None) -> Decision:
        assert carrier is None, "a read has no write for its record to ride with"
        self.checks.append(check)
        return self.engine.decide(check)

    async def record_audit(self, event: AuditEvent) -> None:
        raise AssertionError("reads record nothing but their decisions")


class Unreachable(EnginePolicy):
    async def check(self, check: CheckInput, carrier=None) -> Decision:
        raise errors.Unavailable("policy is down")


@pytest.fixture
def reader():
    def bind(*roles: str) -> None:
        identity.bind(identity.Identity("user:rita", "acme", roles))

    yield bind
    identity.bind(None)


def a_run(text: str) -> run_pb2.Run:
    run = run_pb2.Run(run_id="r-1", tenant="acme", input=to_struct({"text": text}))
    run.output.update({"answer": text})
    return run


async def test_a_viewer_reads_pii_masked_and_the_stored_run_is_untouched(reader):
    reader("viewer")
    stored = a_run(f"ssn {SSN}")
    policy = EnginePolicy()
    shown = await ReaderView(Guard(policy)).run(stored)
    assert to_dict(shown.input) == {"text": "ssn [US_SSN]"}
    assert to_dict(shown.output) == {"answer": "ssn [US_SSN]"}
    assert SSN in to_dict(stored.input)["text"]
    [check] = policy.checks
    assert (check.checkpoint, check.subject.principal, check.resource.name) == (
        "run.read",
        "user:rita",
        "r-1",
    )


async def test_an_auditor_reads_the_same_run_in_clear(reader):
    reader("auditor")
    shown = await ReaderView(Guard(EnginePolicy())).run(a_run(f"ssn {SSN}"))
    assert SSN in to_dict(shown.input)["text"]


async def test_a_result_without_pii_is_returned_without_a_check(reader):
    reader("viewer")
    policy = EnginePolicy()
    view = ReaderView(Guard(policy))
    assert to_dict((await view.run(a_run("nothing personal"))).input) == {
        "text": "nothing personal"
    }
    started = run_pb2.RunEvent(run_id="r-1", step_started=run_pb2.StepStarted(step_name="s"))
    assert await view.event(started) is started
    assert policy.checks == []


async def test_every_event_with_content_is_masked_in_its_own_kind(reader):
    reader("viewer")
    output = agent_pb2.FinalOutput(data=to_struct({"ssn": SSN}))
    completed = run_pb2.RunEvent(
        run_id="r-1", sequence=4, step_completed=run_pb2.StepCompleted(step_name="s", output=output)
    )
    shown = await ReaderView(Guard(EnginePolicy())).event(completed)
    assert to_dict(shown.step_completed.output.data) == {"ssn": "[US_SSN]"}
    assert (shown.sequence, shown.step_completed.step_name) == (4, "s")


@pytest.mark.parametrize(
    "data",
    [
        {"login": {"user": "jane.doe", "domain": "@example.com"}},  # split across members
        {"labels": {"jane.doe@example.com": "vip"}},  # in a member name
        {"note": "c2lnbmVkIGJ5IGphbmUuZG9lQGV4YW1wbGUuY29t"},  # base64 of "signed by <email>"
    ],
)
async def test_pii_hidden_in_an_events_data_is_still_found_and_masked(reader, data):
    reader("viewer")
    output = agent_pb2.FinalOutput(data=to_struct(data))
    event = run_pb2.RunEvent(run_id="r-1", step_completed=run_pb2.StepCompleted(output=output))
    shown = await ReaderView(Guard(EnginePolicy())).event(event)
    assert "jane.doe" not in str(to_dict(shown.step_completed.output.data))
    assert "c2lnbmVk" not in str(to_dict(shown.step_completed.output.data))


async def test_a_routing_reason_quoting_an_approver_is_masked(reader):
    reader("viewer")
    decision = run_pb2.RoutingDecision(chosen="legal", reason=f"chosen by user:ada: ssn {SSN}")
    event = run_pb2.RunEvent(run_id="r-1", routing_decision=decision)
    shown = await ReaderView(Guard(EnginePolicy())).event(event)
    assert shown.routing_decision.reason == "chosen by user:ada: ssn [US_SSN]"


async def test_approvals_and_spans_are_masked_too(reader):
    reader("approver")
    view = ReaderView(Guard(EnginePolicy()))
    approval = approval_pb2.Approval(
        approval_id="a-1", run_id="r-1", summary=f"pay {SSN}", payload_hash="abc"
    )
    approval.payload.update({"ssn": SSN})
    [shown] = await view.approvals([approval])
    assert (shown.summary, to_dict(shown.payload)) == ("pay [US_SSN]", {"ssn": "[US_SSN]"})
    assert shown.payload_hash == "abc", "a decision stays bound to what is stored"
    span = trace_pb2.Span(name="invoke_agent clerk", attributes=to_struct({"note": SSN}))
    [masked] = await view.spans("r-1", [span])
    assert to_dict(masked.attributes) == {"note": "[US_SSN]"}


async def test_a_read_policy_cannot_decide_fails_closed_and_retryable(reader):
    reader("viewer")
    with pytest.raises(errors.Unavailable):
        await ReaderView(Guard(Unreachable())).run(a_run(f"ssn {SSN}"))


async def test_a_reader_without_the_permission_is_refused_rather_than_shown_anything(reader):
    reader("agent")
    with pytest.raises(errors.PermissionDenied):
        await ReaderView(Guard(EnginePolicy())).run(a_run(f"ssn {SSN}"))
