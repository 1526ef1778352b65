"""The rows of a grown state store, by table, as both stores' schemas name their columns:
the SQLite growth benchmark inserts them from here, and the PostgreSQL one has the server
make the same rows (bench/postgres_fill.py).

A store that has served for a while: runs of several tenants and workflows, almost all
finished (completed, some failed or canceled), each with its events, its journal and its
released lease, one in APPROVAL_EVERY with a decided approval; and the same few hundred
runs still active whatever the size (queued, running, or waiting with a pending
approval), leased by one live router, while retired routers' leases linger. Active runs
follow the load, not the history, so they are as many at 10k runs as at 1M.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

from airspace.state.v1 import state_pb2
from airspace.v1 import approval_pb2, run_pb2

TENANTS = 4
WORKFLOWS = 3
ACTIVE_RUNS = 300
EVENTS_PER_RUN = 3
JOURNAL_PER_RUN = 2
APPROVAL_EVERY = 20
RETIRED_ROUTERS = 20
# The router whose live lease holds every active run.
HOLDER = "router-bench"
BATCH = 20_000

ACTIVE_STATES = (
    run_pb2.RUN_STATE_QUEUED,
    run_pb2.RUN_STATE_RUNNING,
    run_pb2.RUN_STATE_WAITING_APPROVAL,
)
TERMINAL_STATES = (
    run_pb2.RUN_STATE_COMPLETED,
    run_pb2.RUN_STATE_FAILED,
    run_pb2.RUN_STATE_CANCELED,
)
PENDING, DECIDED = approval_pb2.APPROVAL_STATE_PENDING, approval_pb2.APPROVAL_STATE_DECIDED
# Placeholders in serialized templates, replaced per row without re-encoding (the blobs
# are only decoded, never searched): as long as the values, so nothing shifts.
ID = b"R" * 32
TENANT, WORKFLOW = "tenant-0", "flow-0"
_TIME_US = 1_700_000_000_000_000
# Pending approvals' deadlines: half passed long ago (the due scan finds them), half far ahead.
DEADLINES_US = (_TIME_US + 3_600_000_000, 4_100_000_000_000_000)

COLUMNS = {
    "runs": (
        "run_id",
        "tenant",
        "request_id",
        "workflow",
        "state",
        "create_us",
        "last_sequence",
        "end_us",
        "data",
    ),
    "events": ("run_id", "sequence", "data"),
    "journal": ("run_id", "step_key", "data"),
    "leases": ("run_id", "owner", "token"),
    "approvals": ("tenant", "approval_id", "run_id", "state", "required_role", "create_us", "data"),
    "router_leases": ("router_id", "epoch", "expire_us"),
}
Rows = dict[str, list[tuple]]


@dataclasses.dataclass
class Filled:
    # (tenant, run_id) of the active runs, and of a sample of all runs.
    active: list[tuple[str, str]]
    sample: list[tuple[str, str]]


def run_template(state: run_pb2.RunState) -> bytes:
    run = run_pb2.Run(
        run_id=ID.decode(),
        name=f"runs/{ID.decode()}",
        tenant=TENANT,
        request_id=ID.decode(),
        state=state,
        created_by="user:bench",
        trace_id="0" * 32,
    )
    run.workflow.name, run.workflow.version = WORKFLOW, 1
    run.input.update({"text": "a contract of a few lines, as runs usually carry"})
    run.create_time.FromMicroseconds(_TIME_US)
    return run.SerializeToString()


def event_template(sequence: int) -> bytes:
    event = run_pb2.RunEvent(
        run_id=ID.decode(), step_key=f"s{sequence:04d}-step", agent="agent", sequence=sequence
    )
    event.step_started.step_name = "step"
    event.time.FromMicroseconds(_TIME_US)
    return event.SerializeToString()


def journal_template(step: int) -> bytes:
    entry = state_pb2.JournalEntry(step_key=f"s{step:04d}-step", step_name="step", agent="agent")
    entry.output.data.update({"summary": "what the step found, in a sentence or two"})
    entry.complete_time.FromMicroseconds(_TIME_US)
    return entry.SerializeToString()


def approval_template(state: approval_pb2.ApprovalState, deadline_us: int) -> bytes:
    approval = approval_pb2.Approval(
        approval_id=ID.decode(),
        run_id=ID.decode(),
        tenant=TENANT,
        state=state,
        required_role="reviewer",
        summary="send the contract to the customer",
        requested_by="user:bench",
    )
    approval.create_time.FromMicroseconds(_TIME_US)
    approval.expire_time.FromMicroseconds(deadline_us)
    return approval.SerializeToString()


class _Templates:
    def __init__(self) -> None:
        self.runs = {s: run_template(s) for s in (*ACTIVE_STATES, *TERMINAL_STATES)}
        self.events = [event_template(n) for n in range(1, EVENTS_PER_RUN + 1)]
        self.journal = [journal_template(n) for n in range(1, JOURNAL_PER_RUN + 1)]
        self.pending = [approval_template(PENDING, deadline) for deadline in DEADLINES_US]
        self.decided = approval_template(DECIDED, DEADLINES_US[0])


def _with_id(template: bytes, run_id: str) -> bytes:
    return template.replace(ID, run_id.encode())


def _of_run(template: bytes, run_id: str, tenant: str, workflow: str = WORKFLOW) -> bytes:
    data = _with_id(template, run_id).replace(TENANT.encode(), tenant.encode())
    return data.replace(WORKFLOW.encode(), workflow.encode())


def terminal_state(index: int) -> run_pb2.RunState:
    """Most finished runs completed; one in ten failed, one in 25 was canceled."""
    if index % 25 == 2:
        return run_pb2.RUN_STATE_CANCELED
    return run_pb2.RUN_STATE_FAILED if index % 10 == 1 else run_pb2.RUN_STATE_COMPLETED


def batches(runs: int, now_us: int, filled: Filled, sample_size: int = 1000) -> Iterator[Rows]:
    """Every table's rows for `runs` runs, BATCH runs at a time, oldest first; records the
    active runs and a sample of all in `filled`. Ids in key order make the load append to
    the B-trees instead of splitting pages all over them; lookups cost the same either way."""
    templates = _Templates()
    every = max(1, runs // ACTIVE_RUNS)
    first_id = f"{random.getrandbits(63):016x}"
    sampled = set(random.sample(range(runs), min(sample_size, runs)))
    yield {"router_leases": router_leases(now_us)}
    for start in range(0, runs, BATCH):
        rows: Rows = {table: [] for table in COLUMNS if table != "router_leases"}
        for index in range(start, min(start + BATCH, runs)):
            run_id = f"{first_id}{index:016x}"
            tenant, workflow = f"tenant-{index % TENANTS}", f"flow-{index // TENANTS % WORKFLOWS}"
            active = index % every == 0
            state = (
                ACTIVE_STATES[index // every % len(ACTIVE_STATES)]
                if active
                else terminal_state(index)
            )
            created = now_us - (runs - index) * 1000
            data = _of_run(templates.runs[state], run_id, tenant, workflow)
            end = None if active else created + 500
            rows["runs"].append(
                (run_id, tenant, run_id, workflow, state, created, EVENTS_PER_RUN, end, data)
            )
            rows["events"].extend(
                (run_id, n, _with_id(t, run_id)) for n, t in enumerate(templates.events, start=1)
            )
            rows["journal"].extend(
                (run_id, f"s{n:04d}-step", _with_id(t, run_id))
                for n, t in enumerate(templates.journal, start=1)
            )
            rows["leases"].append((run_id, HOLDER if active else "", 1))
            waiting = state == run_pb2.RUN_STATE_WAITING_APPROVAL
            if waiting or (not active and index % APPROVAL_EVERY == 0):
                template = templates.pending[index // every % 2] if waiting else templates.decided
                rows["approvals"].append(
                    (
                        tenant,
                        run_id,
                        run_id,
                        PENDING if waiting else DECIDED,
                        "reviewer",
                        created,
                        _of_run(template, run_id, tenant),
                    )
                )
            if active:
                filled.active.append((tenant, run_id))
            if index in sampled:
                filled.sample.append((tenant, run_id))
        yield rows


def router_leases(now_us: int) -> list[tuple]:
    # Retired routers' leases are settled (expiry 0); the holder's is live for an hour.
    retired = [(f"router-{n:02d}", n, 0) for n in range(RETIRED_ROUTERS)]
    return [*retired, (HOLDER, 1, now_us + 3_600_000_000)]
