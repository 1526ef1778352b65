"""The router's Prometheus metrics and the one-line functions that record them.

Labels are bounded: workflow and agent names (as registered), checkpoints from the
engine's fixed list, verdicts, states, outcomes and reasons from the catalogue; never
run ids, tenants or principals. Served by the mesh's metrics endpoint (settings.metrics_port).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from airspace.mesh.metrics import LATENCY_BUCKETS
from airspace.mesh.reasons import parse
from airspace.policy.engine.checkpoints import CHECKPOINTS
from airspace.v1 import run_pb2

# Whole runs last from milliseconds to many minutes.
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

RUNS_STARTED = Counter(
    "airspace_router_runs_started_total",
    "Runs accepted by StartRun/ExecuteRun, by workflow.",
    ("workflow",),
)
RUNS_FINISHED = Counter(
    "airspace_router_runs_finished_total",
    "Runs that ended, by workflow and final state (completed, failed, canceled).",
    ("workflow", "state"),
)
RUNS_FAILED = Counter(
    "airspace_router_runs_failed_total",
    "Runs that failed, by workflow and reason (the catalogue in docs/reasons.md; other: none).",
    ("workflow", "reason"),
)
RUN_DURATION = Histogram(
    "airspace_router_run_duration_seconds",
    "Time from a run's creation to its end, by workflow and final state.",
    ("workflow", "state"),
    buckets=RUN_BUCKETS,
)
RUNS_EXECUTING = Gauge(
    "airspace_router_runs_executing",
    "Runs this router holds the lease of and is executing now.",
)
RUNS_ADMITTED = Gauge(
    "airspace_router_runs_admitted",
    "Runs this router executes now (running) or holds waiting for a place (queued).",
    ("status",),
)
RUNS_REFUSED = Counter(
    "airspace_router_runs_refused_total",
    "New runs refused before they were created: a tenant at its quota of runs "
    "(RUN_QUOTA_EXCEEDED) or the router's queue full (OVERLOADED).",
    ("reason",),
)
AGENT_CALLS_IN_FLIGHT = Gauge(
    "airspace_router_agent_calls_in_flight",
    "Invoke calls this router has open to each agent endpoint.",
    ["endpoint"],
)
AGENT_CALLS_QUEUED = Gauge(
    "airspace_router_agent_calls_queued",
    "Invoke calls waiting for a free slot of an agent endpoint (its limit reached).",
    ["endpoint"],
)
BATCH_OPERATIONS = Histogram(
    "airspace_router_batch_operations",
    "Requests of concurrent callers sent in one batch call, by batch: run_writes "
    "(StateService/BatchWriteRuns), audit_records (PolicyService/RecordDecisions).",
    ("batch",),
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
STEP_ATTEMPT_DURATION = Histogram(
    "airspace_router_step_attempt_duration_seconds",
    "Time of one agent invocation (one step attempt), by agent and outcome.",
    ("agent", "outcome"),
    buckets=LATENCY_BUCKETS,
)
STEP_RETRIES = Counter(
    "airspace_router_step_retries_total",
    "Step attempts scheduled again after a retryable failure, by agent.",
    ("agent",),
)
GUARDRAIL_VERDICTS = Counter(
    "airspace_router_guardrail_verdicts_total",
    "Policy verdicts the router enforced, by checkpoint and verdict.",
    ("checkpoint", "verdict"),
)
HANDOFFS = Counter(
    "airspace_router_handoffs_total",
    "Handoff requests, by the agent asking and whether the workflow accepted them.",
    ("agent", "outcome"),
)
APPROVALS_REQUESTED = Counter(
    "airspace_router_approvals_requested_total",
    "Human approvals a run asked for. Waiting now, across routers: sum(requested) - sum(decided).",
)
APPROVALS_DECIDED = Counter(
    "airspace_router_approvals_decided_total",
    "Human approval decisions recorded, by outcome (approved, rejected, edited).",
    ("outcome",),
)

REGISTRY_LOOKUPS = Counter(
    "airspace_router_registry_cache_lookups_total",
    "Reads of workflows and agent registrations by the registry cache, by what was read "
    "(workflow, agents) and result: hit (no call), miss (read and kept), bypass (read, "
    "not kept: the registry watch is down, or the tenant has too many agents to keep).",
    ("kind", "result"),
)
REGISTRY_WATCH_LIVE = Gauge(
    "airspace_router_registry_watch_live",
    "1 while the registry watch from the state service is live (the cache is used), else 0.",
)

AUDIT_OUTBOX_DEPTH = Gauge(
    "airspace_router_audit_outbox_depth",
    "Audit records this router's writes stored in the state service's audit outbox (or it "
    "took over) and not yet relayed to the policy service's audit log.",
)
AUDIT_RELAYED = Counter(
    "airspace_router_audit_relayed_total",
    "Audit records moved from the audit outbox to the policy service's audit log.",
)
AUDIT_RELAY_BATCHES = Counter(
    "airspace_router_audit_relay_batches_total",
    "Batches the audit relay moved (each one audit log append and one outbox removal).",
)
AUDIT_RELAY_FAILURES = Counter(
    "airspace_router_audit_relay_failures_total",
    "Relay batches that failed and were tried again (the records stay in the outbox).",
)
AUDIT_TAKEN_OVER = Counter(
    "airspace_router_audit_taken_over_total",
    "Audit outbox records claimed at a takeover: a lapsed router's, or this router's own "
    "from before it restarted.",
)
AUDIT_OUTBOX_REJECTED = Counter(
    "airspace_router_audit_outbox_rejected_total",
    "Claimed audit outbox records whose seal did not hold (altered, or added, where the "
    "state service keeps them): each relayed as an audit.outbox_rejected entry instead.",
)


def _enum_label(enum_name: Callable[[int], str], value: int, prefix: str) -> str:
    try:
        return enum_name(value).removeprefix(prefix).lower()
    except ValueError:
        return "unknown"


def record_run_started(workflow: str) -> None:
    RUNS_STARTED.labels(workflow).inc()


def record_run_finished(
    workflow: str, state: int, seconds: float | None = None, reason: str = ""
) -> None:
    """`state` is the final run_pb2.RunState; `seconds` the run's age when known;
    `reason` why it failed, counted as "other" unless the catalogue has it."""
    label = _enum_label(run_pb2.RunState.Name, state, "RUN_STATE_")
    RUNS_FINISHED.labels(workflow, label).inc()
    if seconds is not None:
        RUN_DURATION.labels(workflow, label).observe(max(seconds, 0.0))
    if state == run_pb2.RUN_STATE_FAILED:
        RUNS_FAILED.labels(workflow, parse(reason) or "other").inc()


def track_executing(count: Callable[[], int]) -> None:
    """Reads the number of runs being executed when scraped (e.g. len(executor tasks))."""
    RUNS_EXECUTING.set_function(count)


def track_run_admission(running: Callable[[], int], queued: Callable[[], int]) -> None:
    """Reads the runs executing and waiting to execute when scraped."""
    RUNS_ADMITTED.labels("running").set_function(running)
    RUNS_ADMITTED.labels("queued").set_function(queued)


def record_run_refused(reason: str) -> None:
    RUNS_REFUSED.labels(reason).inc()


def record_batch(batch: str, items: int) -> None:
    BATCH_OPERATIONS.labels(batch).observe(items)


def record_step_attempt(agent: str, seconds: float, succeeded: bool) -> None:
    outcome = "succeeded" if succeeded else "failed"
    STEP_ATTEMPT_DURATION.labels(agent, outcome).observe(seconds)


def record_retry(agent: str) -> None:
    STEP_RETRIES.labels(agent).inc()


def record_guardrail_verdict(verdict: run_pb2.GuardrailVerdict) -> None:
    checkpoint = verdict.checkpoint if verdict.checkpoint in CHECKPOINTS else "other"
    label = _enum_label(run_pb2.Verdict.Name, verdict.verdict, "VERDICT_")
    GUARDRAIL_VERDICTS.labels(checkpoint, label).inc()


def record_handoff(agent: str, accepted: bool) -> None:
    HANDOFFS.labels(agent, "accepted" if accepted else "refused").inc()


def record_approval_requested() -> None:
    APPROVALS_REQUESTED.inc()


def record_approval_decided(outcome: int) -> None:
    """`outcome` is a run_pb2.ApprovalOutcome."""
    APPROVALS_DECIDED.labels(
        _enum_label(run_pb2.ApprovalOutcome.Name, outcome, "APPROVAL_OUTCOME_")
    ).inc()


def agent_calls_in_flight(endpoint: str, change: int) -> None:
    AGENT_CALLS_IN_FLIGHT.labels(endpoint).inc(change)


def agent_calls_queued(endpoint: str, change: int) -> None:
    AGENT_CALLS_QUEUED.labels(endpoint).inc(change)


def record_registry_lookup(kind: str, result: str) -> None:
    REGISTRY_LOOKUPS.labels(kind, result).inc()


def set_registry_watch_live(live: bool) -> None:
    REGISTRY_WATCH_LIVE.set(1 if live else 0)


def set_audit_outbox_depth(depth: int) -> None:
    AUDIT_OUTBOX_DEPTH.set(depth)


def record_audit_relayed(records: int) -> None:
    AUDIT_RELAYED.inc(records)
    AUDIT_RELAY_BATCHES.inc()


def record_audit_relay_failed() -> None:
    AUDIT_RELAY_FAILURES.inc()


def record_audit_taken_over(records: int) -> None:
    AUDIT_TAKEN_OVER.inc(records)


def record_audit_outbox_rejected(records: int) -> None:
    AUDIT_OUTBOX_REJECTED.inc(records)
