"""A failed run's error: a google.rpc.Status whose ErrorInfo names the catalogued reason.

The status code says what kind of failure it is to any gRPC client; the ErrorInfo
(domain airspace.dev) carries the reason, with the step and agent where it happened.
"""

from __future__ import annotations

from google.rpc import status_pb2

from airspace.mesh import errors
from airspace.mesh.reasons import Reason

# The kind of error each reason is; a reason not listed is ABORTED (the run gave up).
_ERRORS: dict[Reason, type[errors.MeshError]] = {
    Reason.POLICY_DENIED: errors.PermissionDenied,
    Reason.APPROVAL_REQUIRED: errors.PermissionDenied,
    Reason.RUN_TIMEOUT: errors.DeadlineExceeded,
    Reason.BUDGET_EXCEEDED: errors.ResourceExhausted,
    Reason.AGENT_NOT_REGISTERED: errors.FailedPrecondition,
    Reason.AGENT_VERSION_CHANGED: errors.FailedPrecondition,
    Reason.OUTPUT_INVALID: errors.FailedPrecondition,
}


def failure_status(
    reason: Reason, message: str, step_key: str = "", agent: str = ""
) -> status_pb2.Status:
    """The run's error, its message led by the reason (`REASON at step KEY: message`)."""
    where = f" at step {step_key}" if step_key else ""
    context = {name: value for name, value in (("step_key", step_key), ("agent", agent)) if value}
    error = _ERRORS.get(reason, errors.Aborted)(
        f"{reason}{where}: {message}", reason=reason, metadata=context
    )
    return error.to_status()
