"""The servers of the bare gRPC floor: the gRPC work of a durable three-step run and
nothing else (no identity, policy, state or tracing).

    python -m bench.floor_server agent --port P
    python -m bench.floor_server orchestrator --port P --agents HOST:PORT,HOST:PORT,HOST:PORT
    python -m bench.floor_server relay --port P --upstream HOST:PORT

A run is a unary Run call to the relay (the gateway's place), which makes a unary Run
call to the orchestrator (the router's place), which invokes the agents one after the
other over bidi AgentService/Invoke streams, each step's output the next one's input.
Each prints "READY <role> <port>" once serving, like a mesh service.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc

from airspace.agent.v1 import agent_pb2, agent_pb2_grpc
from airspace.mesh import lifeline

RUN_SERVICE = "bench.floor.Floor"
RUN_METHOD = f"/{RUN_SERVICE}/Run"
# Requests and replies of Run are the contract's own Message: a realistic payload.
Message = agent_pb2.Message
DEFAULT_TIMEOUT_SECONDS = 30.0


def run_stub(channel: grpc.aio.Channel) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        RUN_METHOD,
        request_serializer=Message.SerializeToString,
        response_deserializer=Message.FromString,
    )


def _run_handler(run) -> grpc.GenericRpcHandler:
    method = grpc.unary_unary_rpc_method_handler(
        run, request_deserializer=Message.FromString, response_serializer=Message.SerializeToString
    )
    return grpc.method_handlers_generic_handler(RUN_SERVICE, {"Run": method})


def _time_left(context: grpc.aio.ServicerContext) -> float:
    # Python does not pass deadlines on by itself.
    return context.time_remaining() or DEFAULT_TIMEOUT_SECONDS


class EchoAgent(agent_pb2_grpc.AgentServiceServicer):
    """Answers a task with its input as the final output."""

    async def Invoke(
        self, request_iterator: AsyncIterator[agent_pb2.InvokeRequest], context
    ) -> AsyncIterator[agent_pb2.InvokeEvent]:
        async for request in request_iterator:
            if request.HasField("start"):
                event = agent_pb2.InvokeEvent(sequence=1)
                event.final.message.CopyFrom(request.start.input)
                yield event
                return


async def invoke(
    agent: agent_pb2_grpc.AgentServiceStub, step: int, message: Message, timeout: float
) -> Message:
    """One step: the task on an Invoke stream whose request side stays open until the
    final output (the agent may ask for an action there), then read to its end."""
    start = agent_pb2.InvokeStart(step_key=f"step-{step}", attempt=1, input=message)
    call = agent.Invoke(timeout=timeout)
    await call.write(agent_pb2.InvokeRequest(start=start))
    final: Message | None = None
    async for event in call:
        if event.HasField("final"):
            final = event.final.message
            await call.done_writing()
    if final is None:
        raise RuntimeError(f"step {step} ended without a final output")
    return final


def orchestrator(agents: Sequence[str]):
    """Run: the three steps, one agent each, each output the next step's input."""
    stubs = [agent_pb2_grpc.AgentServiceStub(grpc.aio.insecure_channel(a)) for a in agents]

    async def orchestrate(message: Message, context: grpc.aio.ServicerContext) -> Message:
        for step, stub in enumerate(stubs, start=1):
            message = await invoke(stub, step, message, _time_left(context))
        return message

    return orchestrate


def relay(upstream: str):
    """Run: passed on to the upstream's Run."""
    forward = run_stub(grpc.aio.insecure_channel(upstream))

    async def pass_on(message: Message, context: grpc.aio.ServicerContext) -> Message:
        return await forward(message, timeout=_time_left(context))

    return pass_on


async def serve(role: str, port: int, upstream: str, agents: Sequence[str]) -> None:
    lifeline.hold()  # ends with the benchmark, like a mesh child
    server = grpc.aio.server()  # channels are opened below, inside the running loop
    if role == "agent":
        agent_pb2_grpc.add_AgentServiceServicer_to_server(EchoAgent(), server)
    else:
        run = orchestrator(agents) if role == "orchestrator" else relay(upstream)
        server.add_generic_rpc_handlers((_run_handler(run),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"READY floor-{role} {bound}", flush=True)
    await server.wait_for_termination()  # SIGTERM's default action ends the process


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server")
    parser.add_argument("role", choices=("agent", "orchestrator", "relay"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", default="", help="the relay's orchestrator")
    parser.add_argument("--agents", default="", help="the orchestrator's agents, comma-separated")
    args = parser.parse_args(argv)
    agents = [address for address in args.agents.split(",") if address]
    asyncio.run(serve(args.role, args.port, args.upstream, agents))


if __name__ == "__main__":
    main()
