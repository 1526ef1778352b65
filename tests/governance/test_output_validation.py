"""Output validation before a workflow advances: a step's output_schema (JSON Schema over its
data), output_rules (CEL that must hold) and max_output_bytes, checked on apply and at run
time. A violation fails the step with OUTPUT_INVALID naming what failed, never the data."""

from __future__ import annotations

import grpc
import pytest
from governance_support import deploy, ending, execute, of_kind
from mesh_support import apply, violations

from airspace.agents.kit import Agent, Reply
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

INVOICES = """
name: invoices
pattern: sequential
steps:
  - name: extract
    agent: emitter
    output_schema:
      type: object
      required: [total, currency]
      properties:
        total: {type: number, minimum: 0}
        currency: {type: string, enum: [EUR, USD]}
        contacts: {type: object, additionalProperties: {type: string}}
    output_rules:
      - {when: "output.data.total <= 1000.0", message: "a total over 1000 goes to the manual desk"}
    max_output_bytes: 2000
  - name: book
    agent: emitter
"""
SECRET = "jane.doe@example.com"


def emitter() -> Agent:
    """Returns the data it is asked to emit (the run input's `emit`); cleared for PII, so
    what it emits is what the run was given."""
    agent = Agent(
        name="emitter", version="1.0.0", description="emits what it is told", clearances=("PII",)
    )

    @agent.handler
    async def emit(task):
        return Reply(text="done", data=task.data.get("emit", {}))

    return agent


@pytest.fixture
async def invoices(mesh):
    client = mesh.client()
    await deploy(mesh, client, INVOICES, emitter())
    return client


async def run_emitting(client, emitted: dict) -> list:
    return await execute(client, "invoices", {"text": "go", "emit": emitted})


async def test_valid_output_advances(invoices):
    events = await run_emitting(invoices, {"total": 120.5, "currency": "EUR"})
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert [c.step_name for c in of_kind(events, "step_completed")] == ["extract", "book"]


@pytest.mark.parametrize(
    ("emitted", "named"),
    [
        (
            {"total": "lots", "currency": "GBP"},
            ["output_schema at /total: type \"number\"", 'output_schema at /currency: enum ["EUR", "USD"]'],
        ),
        ({}, ["output_schema at /: required 'total', 'currency' missing"]),
        ({"total": 5000, "currency": "EUR"}, ["output_rules[0]: a total over 1000 goes to the manual desk"]),
        ({"total": 1, "currency": "EUR", "note": "x" * 3000}, ["over max_output_bytes (2000)"]),
        (
            {"total": 1, "currency": "EUR", "contacts": {SECRET: 42}},
            ["output_schema at /contacts/[EMAIL]: type \"string\""],
        ),
    ],
    ids=["schema-types", "schema-required", "rule", "size", "pii-in-a-member-name"],
)  # fmt: skip
async def test_invalid_output_fails_the_step_naming_what_failed(invoices, emitted, named):
    events = await run_emitting(invoices, emitted)
    final = ending(events)
    assert final.to == run_pb2.RUN_STATE_FAILED
    assert final.error.message.startswith("OUTPUT_INVALID at step s0001-extract:")
    for problem in named:
        assert problem in final.error.message, final.error.message
    [failed] = of_kind(events, "step_failed")
    assert failed.error.message.startswith("OUTPUT_INVALID: ") and not failed.will_retry
    assert [s.step_name for s in of_kind(events, "step_started")] == ["extract"]
    assert SECRET not in str(events)


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ("{name: b, agent: emitter, output_schema: {type: strin}}", "steps[1].output_schema"),
        ("{name: b, agent: emitter, output_schema: [1]}", "steps[1].output_schema"),
        (
            "{name: b, agent: emitter, output_rules: [{when: 'output.data.x >', message: m}]}",
            "steps[1].output_rules[0].when",
        ),
        (
            "{name: b, agent: emitter, output_rules: [{when: 'input.x', message: m}]}",
            "steps[1].output_rules[0].when",
        ),
        ("{name: b, agent: emitter, output_rules: [{when: 'true'}]}", "steps[1].output_rules[0].message"),
        ("{name: b, agent: emitter, max_output_bytes: 0}", "steps[1].max_output_bytes"),
    ],
    ids=["unknown-type", "not-a-schema", "cel-syntax", "cel-unknown-variable", "no-message", "size"],
)  # fmt: skip
async def test_a_bad_output_contract_is_refused_on_apply_with_its_path(invoices, step, field):
    source = (
        f"name: bad\npattern: sequential\nsteps:\n  - {{name: a, agent: emitter}}\n  - {step}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await apply(invoices, source)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(failure.value), violations(failure.value)


CORRECTED = """
name: corrected
pattern: sequential
steps:
  - name: total
    agent: learner
    retry: {{max_attempts: 3}}
    retry_invalid_output: {retry}
    output_rules:
      - {{when: "output.data.total <= 1000.0", message: "a total over 1000 goes to the manual desk"}}
"""


def learner(told: list) -> Agent:
    """Answers 5000 until the mesh tells it what was wrong, then 900."""
    agent = Agent(name="learner", version="1.0.0", description="fixes what it is told")

    @agent.handler
    async def answer(task):
        notices = [m.text for m in task.context if m.role == "SYSTEM"]
        told.append(notices)
        return Reply(text="total", data={"total": 900 if notices else 5000})

    return agent


@pytest.mark.parametrize("retry", [True, False], ids=["asked-again", "off-by-default"])
async def test_an_invalid_output_is_asked_again_with_what_was_wrong_only_when_the_step_says(
    mesh, retry
):
    told: list = []
    client = mesh.client()
    source = CORRECTED.format(retry="true" if retry else "false")
    await deploy(mesh, client, source, learner(told))
    events = await execute(client, "corrected", {"text": "go"})
    failed = of_kind(events, "step_failed")
    assert [f.will_retry for f in failed] == [retry]
    if not retry:
        assert ending(events).to == run_pb2.RUN_STATE_FAILED and len(told) == 1
        return
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert told[1] == [
        "Your previous output was invalid: output_rules[0]: a total over 1000 goes to the "
        "manual desk. Answer again, fixing that."
    ]
    assert [e.step_key for e in events if e.HasField("step_started")] == [
        "s0001-total",
        "s0001-total-fix1",
    ]
    assert of_kind(events, "run_output")[-1].output["data"]["total"] == 900
