"""How a run's end ends the calls that follow it (ExecuteRun, WatchRun, RunWorkflow).

A COMPLETED run ends them OK. A FAILED run ends them with ABORTED and a CANCELED one
with CANCELLED, whatever the code of the run's own error, so that any gRPC client (a
load generator like ghz, say) counts a run that failed as a call that failed; the
ErrorInfo carries the run's reason and, in its metadata, the run's name ("run") and
state ("state": FAILED, CANCELED, or where a run that goes on stands) besides the step
and agent where it failed.
"""

from __future__ import annotations

from google.rpc import error_details_pb2, status_pb2

from airspace.mesh import errors
from airspace.mesh.reasons import Reason, reason_of
from airspace.v1 import run_pb2

# The error each unsuccessful end is, and its reason when the run's error names none.
_ENDINGS: dict[int, tuple[type[errors.MeshError], Reason | None]] = {
    run_pb2.RUN_STATE_FAILED: (errors.Aborted, None),
    run_pb2.RUN_STATE_CANCELED: (errors.Cancelled, Reason.RUN_CANCELED),
}


def ended_by(run_event: run_pb2.RunEvent) -> run_pb2.RunStateChanged | None:
    """The state change of an event that ends its run, else None."""
    if run_event.WhichOneof("kind") != "run_state_changed":
        return None
    changed = run_event.run_state_changed
    ending = changed.to in _ENDINGS or changed.to == run_pb2.RUN_STATE_COMPLETED
    return changed if ending else None


def failure(run_name: str, state: int, error: status_pb2.Status) -> errors.MeshError | None:
    """The error that ends the call when the run ended in `state` with `error`; None
    when it completed or has not ended."""
    if state not in _ENDINGS:
        return None
    kind, fallback = _ENDINGS[state]
    ended = state_name(state)
    why = f": {error.message}" if error.message else ""
    return kind(
        f"{run_name} {ended}{why}",
        reason=reason_of(error) or fallback,
        metadata={**_error_metadata(error), "run": run_name, "state": ended},
    )


def still_running(run_name: str, state: int) -> errors.MeshError:
    """The error of a RunWorkflow whose deadline came before its run ended."""
    return errors.DeadlineExceeded(
        f"{run_name} has not ended by the call's deadline and goes on;"
        " follow it with WatchRun or GetRun",
        reason=Reason.RUN_STILL_RUNNING,
        metadata={"run": run_name, "state": state_name(state)},
    )


def state_name(state: int) -> str:
    return run_pb2.RunState.Name(state).removeprefix("RUN_STATE_")


def _error_metadata(error: status_pb2.Status) -> dict[str, str]:
    """Where the run failed (step_key, agent), from its error's ErrorInfo."""
    for detail in error.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return dict(info.metadata)
    return {}
