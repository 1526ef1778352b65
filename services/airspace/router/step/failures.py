"""How a failed attempt is told in the run log."""

from __future__ import annotations

from google.rpc import code_pb2

from airspace.router import convert
from airspace.router.attempt import Attempt
from airspace.router.run_log import event
from airspace.router.step.call import StepCall
from airspace.v1 import run_pb2


def record_failure(call: StepCall, number: int, attempt: Attempt, *, will_retry: bool) -> None:
    """Records that attempt `number` of the step failed, and whether another follows."""
    failed = run_pb2.StepFailed(
        step_name=call.step.name,
        branch=call.step.branch,
        attempt=number,
        will_retry=will_retry,
        duration=convert.to_duration(attempt.duration),
    )
    failed.error.code = code_pb2.UNKNOWN  # the agent's own failure, described in the message
    failed.error.message = f"{attempt.failure_code}: {attempt.failure}"
    call.ctx.log.record(event(str(call.key), call.agent, step_failed=failed))
