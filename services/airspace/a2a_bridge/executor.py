"""Runs the workflow for an A2A task and tells the task what the run does."""

from __future__ import annotations

import grpc
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import a2a_pb2
from a2a.utils.errors import TaskNotCancelableError

from airspace.a2a_bridge.callers import authorization_of
from airspace.a2a_bridge.gateway import GatewayClient
from airspace.a2a_bridge.translate import output_parts, run_request, update_for

# How the gateway's refusals end the A2A task: a missing or bad credential asks the
# caller to authenticate; a refusal is a rejection; anything else is a failure.
_REFUSALS = {
    grpc.StatusCode.UNAUTHENTICATED: a2a_pb2.TASK_STATE_AUTH_REQUIRED,
    grpc.StatusCode.PERMISSION_DENIED: a2a_pb2.TASK_STATE_REJECTED,
    grpc.StatusCode.INVALID_ARGUMENT: a2a_pb2.TASK_STATE_REJECTED,
}


class WorkflowExecutor(AgentExecutor):
    def __init__(self, gateway: GatewayClient, workflow: str):
        self._gateway = gateway
        self._workflow = workflow
        # The run behind each unfinished A2A task, for cancellation.
        self._runs: dict[str, str] = {}

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = _task_of(context)
        if context.message is None:
            raise ValueError("the A2A request carries no message")
        if context.current_task is None:
            await event_queue.enqueue_event(
                a2a_pb2.Task(
                    id=task_id,
                    context_id=context_id,
                    status=a2a_pb2.TaskStatus(state=a2a_pb2.TASK_STATE_SUBMITTED),
                    history=[context.message],
                )
            )
        updater = TaskUpdater(event_queue, task_id, context_id)
        request = run_request(context.message, self._workflow, task_id)
        ended = False
        try:
            async for event in self._gateway.execute(
                request, authorization_of(context.call_context)
            ):
                self._runs.setdefault(task_id, event.run_id)
                update = update_for(event)
                if update.output is not None:
                    await updater.add_artifact(output_parts(update.output), name="output")
                if update.state == a2a_pb2.TASK_STATE_UNSPECIFIED:
                    continue
                message = (
                    updater.new_agent_message([a2a_pb2.Part(text=update.text)])
                    if update.text
                    else None
                )
                await updater.update_status(
                    update.state, message=message, metadata={"airspace_run_id": event.run_id}
                )
                ended = update.state != a2a_pb2.TASK_STATE_WORKING
        except grpc.aio.AioRpcError as exc:
            # A run that failed or was canceled ends its stream with an error after its
            # last event, which already ended the task.
            if not ended:
                said = updater.new_agent_message(
                    [a2a_pb2.Part(text=f"{exc.code().name}: {exc.details()}")]
                )
                await updater.update_status(
                    _REFUSALS.get(exc.code(), a2a_pb2.TASK_STATE_FAILED), message=said
                )
                ended = True
        if not ended:
            said = updater.new_agent_message(
                [a2a_pb2.Part(text="the run's event stream ended early")]
            )
            await updater.failed(said)
        self._runs.pop(task_id, None)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = _task_of(context)
        run_id = self._runs.pop(task_id, None)
        if run_id:
            try:
                await self._gateway.cancel(
                    run_id, "canceled by the A2A client", authorization_of(context.call_context)
                )
            except grpc.aio.AioRpcError as exc:
                raise TaskNotCancelableError(
                    message=f"run {run_id} could not be canceled: {exc.code().name}: {exc.details()}"
                ) from exc
        await TaskUpdater(event_queue, task_id, context_id).cancel()


def _task_of(context: RequestContext) -> tuple[str, str]:
    """The task and context ids, which the request handler sets before an executor runs."""
    if context.task_id is None or context.context_id is None:
        raise ValueError("the A2A request context names no task")
    return context.task_id, context.context_id
