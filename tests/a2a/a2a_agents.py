"""A2A agents built with the a2a-sdk package's own gRPC server, for the adapter's tests."""

from __future__ import annotations

import asyncio

import grpc
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler, GrpcHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import a2a_pb2, a2a_pb2_grpc

GLOSSARY = {
    "indemnity": "a promise to cover another party's losses",
    "force majeure": "events beyond the parties' control that excuse performance",
}


class GlossaryExecutor(AgentExecutor):
    """Defines contract terms found in the message. Asks back when it finds none, refuses
    messages about anything but contracts, and records what it was sent and what was
    canceled."""

    def __init__(self):
        self.received: list[a2a_pb2.Message] = []
        self.canceled: list[str] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.received.append(context.message)
        if context.current_task is None:
            await event_queue.enqueue_event(
                a2a_pb2.Task(
                    id=context.task_id,
                    context_id=context.context_id,
                    status=a2a_pb2.TaskStatus(state=a2a_pb2.TASK_STATE_SUBMITTED),
                    history=[context.message],
                )
            )
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        text = context.get_user_input().lower()
        await updater.start_work(updater.new_agent_message([a2a_pb2.Part(text="looking terms up")]))
        if "football" in text:
            await updater.reject(
                updater.new_agent_message([a2a_pb2.Part(text="I only know contract terms")])
            )
            return
        found = {term: meaning for term, meaning in GLOSSARY.items() if term in text}
        if not found:
            await updater.requires_input(
                updater.new_agent_message([a2a_pb2.Part(text="which term?")])
            )
            return
        definitions = a2a_pb2.Part(media_type="application/json")
        definitions.data.struct_value.update({"definitions": found})
        lines = a2a_pb2.Part(text="\n".join(f"{t}: {m}" for t, m in found.items()))
        await updater.add_artifact([lines, definitions], name="definitions")
        await updater.complete(updater.new_agent_message([a2a_pb2.Part(text="done")]))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.canceled.append(context.task_id)
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def glossary_card(*, streaming: bool = True, extended: bool = True) -> a2a_pb2.AgentCard:
    return a2a_pb2.AgentCard(
        name="Glossary Agent",
        description="Explains contract terms.",
        version="2.1.0",
        provider=a2a_pb2.AgentProvider(organization="Lexicon Inc", url="https://lexicon.example"),
        supported_interfaces=[
            a2a_pb2.AgentInterface(url="127.0.0.1", protocol_binding="GRPC", protocol_version="1.0")
        ],
        capabilities=a2a_pb2.AgentCapabilities(streaming=streaming, extended_agent_card=extended),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            a2a_pb2.AgentSkill(
                id="define",
                name="Define a term",
                description="Defines legal terms found in a text.",
                tags=["legal", "glossary"],
                examples=["What does indemnity mean?"],
            )
        ],
    )


async def serve_a2a(
    executor: AgentExecutor, card: a2a_pb2.AgentCard
) -> tuple[str, grpc.aio.Server]:
    """An a2a-sdk gRPC server for `executor` on 127.0.0.1, port 0."""
    handler = DefaultRequestHandler(
        agent_executor=executor,
        task_store=InMemoryTaskStore(),
        agent_card=card,
        extended_agent_card=card if card.capabilities.extended_agent_card else None,
    )
    server = grpc.aio.server()
    a2a_pb2_grpc.add_A2AServiceServicer_to_server(GrpcHandler(handler), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return f"127.0.0.1:{port}", server


async def wait_for(condition, timeout: float = 5.0) -> None:
    """Waits until `condition()` holds (work the server finishes after answering)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
