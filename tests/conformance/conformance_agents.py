"""Agents under test: one that keeps the contract, and two that break it in known ways."""

from __future__ import annotations

import grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.agents.kit import Agent, AgentFailure, Handoff, Reply, Skill


def triage_agent() -> Agent:
    """Keeps the contract, including handoffs ("escalate") and actions ("refund")."""
    agent = Agent(
        name="triage",
        version="1.0.0",
        description="Answers routine requests, escalates the rest, refunds when allowed.",
        skills=[Skill(id="triage", name="Triage", examples=["Where is my parcel?"])],
        streaming=True,
        actions=True,
        handoff=True,
    )

    @agent.handler
    async def triage(task):
        if not task.text:
            raise AgentFailure("INVALID_INPUT", "the request has no text")
        await task.progress("reading", 0.5)
        if "escalate" in task.text and task.allowed_handoffs:
            return Handoff(
                target=task.allowed_handoffs[0], reason="needs a specialist", text=task.text
            )
        if "refund" in task.text and "payments.refund" in task.allowed_actions:
            decision = await task.request_action(
                "payments.refund", {"amount": 10}, "customer asked"
            )
            return Reply(
                text=f"refund {decision.verdict.lower()}", data={"refunded": decision.allowed}
            )
        return Reply(text="handled", data={"handled": True}, confidence=0.8)

    return agent


def reckless_agent() -> Agent:
    """Hands off to a target of its own choosing, offered or not."""
    agent = Agent(
        name="reckless",
        version="1.0.0",
        description="Always hands off.",
        skills=[Skill(id="pass", name="Pass it on")],
        handoff=True,
    )

    @agent.handler
    async def hand_off(task):
        return Handoff(target="somebody-else", reason="")

    return agent


class SloppyAgent(agent_pb2_grpc.AgentServiceServicer):
    """A hand-written agent that gets the contract wrong: a bad card, events numbered from
    0, two terminal events, INTERNAL for missing fields, and no health service."""

    async def GetAgentCard(self, request, context):
        card = agent_pb2.AgentCard(
            name="Sloppy Agent", input_modes=["text"], output_modes=["text/plain"]
        )
        return agent_pb2.GetAgentCardResponse(card=card)

    async def Invoke(self, request_iterator, context):
        first = await anext(aiter(request_iterator))
        if first.WhichOneof("kind") == "start" and not first.start.idempotency_key:
            await context.abort(grpc.StatusCode.INTERNAL, "KeyError: idempotency_key")
        text = agent_pb2.Part(text="done")
        yield agent_pb2.InvokeEvent(sequence=0, progress=agent_pb2.Progress(message="working"))
        yield agent_pb2.InvokeEvent(
            sequence=1, final=agent_pb2.FinalOutput(message=agent_pb2.Message(parts=[text]))
        )
        yield agent_pb2.InvokeEvent(
            sequence=2, final=agent_pb2.FinalOutput(message=agent_pb2.Message(parts=[text]))
        )
