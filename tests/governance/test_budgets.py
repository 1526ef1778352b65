"""Budgets of reported usage: a run whose agents report more tokens or cost than its budget
ends with BUDGET_EXCEEDED, and no further step runs. Agents are told what is left."""

from __future__ import annotations

import pytest
from governance_support import decide, deploy, ending, execute, of_kind, start, watch
from mesh_support import wait_for_approvals

from airspace.agents.kit import Agent, Reply
from airspace.v1 import run_pb2

pytestmark = pytest.mark.mesh

SPENDY = """
name: spendy
pattern: sequential
budget: {{{budget}}}
steps:
  - {{name: one, agent: spender}}
  - {{name: two, agent: spender}}
  - {{name: three, agent: spender}}
"""


def spender(seen: list) -> Agent:
    """Reports 600 tokens and 0.25 units of cost per step; records the budget it was told."""
    agent = Agent(name="spender", version="1.0.0", description="uses a model")

    @agent.handler
    async def spend(task):
        budget = task.start.budget
        seen.append((task.step_name, budget.tokens_left, budget.cost_micros_left))
        await task.report_usage(input_tokens=400, output_tokens=200, cost_micros=250_000)
        return Reply(text="spent")

    return agent


@pytest.mark.parametrize(
    ("budget", "told", "message"),
    [
        (
            "max_tokens: 1000",
            [("one", 1000, 0), ("two", 400, 0)],
            "the run's agents reported 1200 tokens, over its budget of 1000 (budget.max_tokens)",
        ),
        (
            "max_cost_micros: 500000",
            [("one", 0, 500000), ("two", 0, 250000)],
            "the run's agents reported 500000 micro-units of cost, all of its budget of 500000"
            " (budget.max_cost_micros)",
        ),
    ],
    ids=["tokens", "cost"],
)
async def test_a_run_over_its_budget_ends_with_budget_exceeded(mesh, budget, told, message):
    client, seen = mesh.client(), []
    await deploy(mesh, client, SPENDY.format(budget=budget), spender(seen))
    events = await execute(client, "spendy")
    final = ending(events)
    assert final.to == run_pb2.RUN_STATE_FAILED
    assert final.error.code == 8  # RESOURCE_EXHAUSTED
    assert final.error.message.startswith("BUDGET_EXCEEDED at step ")
    assert message in final.error.message
    assert seen == told, "no step runs once the budget is spent"
    assert [c.step_name for c in of_kind(events, "step_completed")] == ["one", "two"]


async def test_a_run_within_its_budget_completes(mesh):
    client, seen = mesh.client(), []
    await deploy(mesh, client, SPENDY.format(budget="max_tokens: 1800"), spender(seen))
    events = await execute(client, "spendy")
    assert ending(events).to == run_pb2.RUN_STATE_COMPLETED
    assert [tokens_left for _, tokens_left, _ in seen] == [1800, 1200, 600]


async def test_usage_before_a_pause_still_counts_after_it(mesh):
    """The run pauses for a person after step one and resumes from its journal: the tokens
    step one reported are metered again, so step two already passes the budget."""
    client, seen = mesh.client(), []
    reviewed = SPENDY.format(budget="max_tokens: 1000").replace(
        "{name: one, agent: spender}",
        "{name: one, agent: spender, approval: {after: true}}",
    )
    await deploy(mesh, client, reviewed, spender(seen))
    run = await start(client, "spendy")
    approver = mesh.client("user:ada", "acme", ("approver",))
    [pending] = await wait_for_approvals(approver)
    await decide(approver, pending, run_pb2.APPROVAL_OUTCOME_APPROVED)
    final = ending(await watch(client, run.run_id))
    assert final.to == run_pb2.RUN_STATE_FAILED
    assert final.error.message.startswith("BUDGET_EXCEEDED at step s0002-two")
    assert [step for step, _, _ in seen] == ["one", "two"]
