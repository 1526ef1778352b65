"""Checks of what an agent says about itself: health and its AgentCard."""

from __future__ import annotations

import grpc

from airspace.conformance import contract, describe
from airspace.conformance.context import CheckContext, check
from airspace.conformance.model import CheckResult, Exchange, judge

AGENT_SERVICE = "airspace.agent.v1.AgentService"


@check(
    "health",
    "serves the standard gRPC health service",
    expected='grpc.health.v1.Health/Check answers SERVING for "" and for airspace.agent.v1.AgentService',
    fix="add the grpc.health.v1 Health service (grpcio-health-checking, grpc-health-check for "
    'Node, …) and set "" and airspace.agent.v1.AgentService to SERVING',
)
async def health(ctx: CheckContext, result: CheckResult) -> None:
    for service, required in (("", True), (AGENT_SERVICE, False)):
        exchange = Exchange("Health/Check", [f"service={service!r}"])
        result.exchanges.append(exchange)
        try:
            status = await ctx.probe.health(service)
        except grpc.aio.AioRpcError as exc:
            exchange.received.append(describe.status(exc.code().name, exc.details() or "", []))
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                ctx.unreachable = True  # the other checks would only wait for it too
                judge(result, [f"nothing answers at {ctx.probe.target} ({exc.code().name})"])
                result.hint = "start the agent, and check the host and port it listens on"
                return
            problem = f"Health/Check for {service!r} failed with {exc.code().name}"
            judge(result, [problem] if required else [], [] if required else [problem])
            continue
        exchange.received.append(f"status {status}")
        if status != "SERVING":
            problem = f"the agent reports {status} for {service!r}"
            judge(result, [problem] if required else [], [] if required else [problem])


@check(
    "card",
    "GetAgentCard returns a valid card",
    expected="a card with a registrable name, a version, skills with ids and names, media-type "
    "input/output modes and known clearances",
    fix="fill in the AgentCard fields named above; the registry refuses cards without a valid "
    "name and version",
)
async def card(ctx: CheckContext, result: CheckResult) -> None:
    exchange = Exchange("GetAgentCard")
    result.exchanges.append(exchange)
    try:
        ctx.card = await ctx.probe.card()
    except grpc.aio.AioRpcError as exc:
        exchange.received.append(describe.status(exc.code().name, exc.details() or "", []))
        judge(result, [f"GetAgentCard failed with {exc.code().name}"])
        return
    found = ctx.card
    capabilities = [
        name
        for name in ("streaming", "actions", "handoff", "idempotent")
        if getattr(found.capabilities, name)
    ]
    exchange.received.append(
        f"card name={found.name!r} version={found.version!r} runtime={found.runtime!r} "
        f"skills={[s.id for s in found.skills]} capabilities={capabilities}"
    )
    judge(result, *contract.card_problems(found))
