"""Schema version 1: the tables and indexes of the PostgreSQL state store.

The same records and columns as the SQLite schema: serialized protobuf (`data`, bytea)
next to the columns that queries filter or sort on; times are microseconds since the
epoch, taken from the store's clock. Keys compare bytewise (COLLATE "C"), as in SQLite,
so listings page in the same order on both.
"""

from __future__ import annotations

import psycopg

from airspace.state import records
from airspace.v1 import approval_pb2

# Inlined in SQL (not bound) so the partial index below can serve the query.
ACTIVE_STATES_SQL = ", ".join(str(state) for state in records.CLAIMABLE_RUN_STATES)
_PENDING = approval_pb2.APPROVAL_STATE_PENDING

_STATEMENTS = (
    """CREATE TABLE runs (
        run_id text COLLATE "C" PRIMARY KEY,
        tenant text COLLATE "C" NOT NULL,
        request_id text COLLATE "C" NOT NULL,
        workflow text COLLATE "C" NOT NULL,
        state integer NOT NULL,
        create_us bigint NOT NULL,
        last_sequence bigint NOT NULL,
        -- When the run ended, and when its payloads were pruned (NULL: not yet).
        end_us bigint,
        prune_us bigint,
        data bytea NOT NULL
    )""",
    # CreateRun idempotency, and ListRuns (newest first, keyset paging).
    "CREATE UNIQUE INDEX runs_request ON runs (tenant, request_id)",
    "CREATE INDEX runs_listing ON runs (tenant, create_us, run_id)",
    # ListClaimableRuns walks unfinished runs oldest first; the index holds only those.
    f"CREATE INDEX runs_active ON runs (create_us, run_id) WHERE state IN ({ACTIVE_STATES_SQL})",
    # PruneRuns finds ended, unpruned runs of a tenant by end time.
    "CREATE INDEX runs_prunable ON runs (tenant, end_us)"
    " WHERE end_us IS NOT NULL AND prune_us IS NULL",
    """CREATE TABLE events (
        run_id text COLLATE "C" NOT NULL,
        sequence bigint NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (run_id, sequence)
    )""",
    # id order is completion order: appends of one run are serialized by its row lock.
    """CREATE TABLE journal (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id text COLLATE "C" NOT NULL,
        step_key text COLLATE "C" NOT NULL,
        data bytea NOT NULL,
        UNIQUE (run_id, step_key)
    )""",
    """CREATE TABLE workflows (
        tenant text COLLATE "C",
        workflow text COLLATE "C",
        version integer,
        etag text NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        data bytea NOT NULL,
        PRIMARY KEY (tenant, workflow, version)
    )""",
    """CREATE TABLE agents (
        tenant text COLLATE "C",
        agent text COLLATE "C",
        data bytea NOT NULL,
        PRIMARY KEY (tenant, agent)
    )""",
    """CREATE TABLE approvals (
        tenant text COLLATE "C",
        approval_id text COLLATE "C",
        run_id text COLLATE "C" NOT NULL,
        state integer NOT NULL,
        required_role text COLLATE "C" NOT NULL,
        create_us bigint NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (tenant, approval_id)
    )""",
    # ListApprovals, oldest first; the router's sweep for overdue ones reads the pending.
    "CREATE INDEX approvals_listing ON approvals (tenant, create_us, approval_id)",
    f"CREATE INDEX approvals_pending ON approvals (create_us) WHERE state = {_PENDING}",
    """CREATE TABLE memory (
        tenant text COLLATE "C",
        namespace text COLLATE "C",
        key text COLLATE "C",
        version bigint NOT NULL,
        expire_us bigint,
        -- request_id of the last write, so its retry is recognized.
        request_id text COLLATE "C",
        data bytea NOT NULL,
        PRIMARY KEY (tenant, namespace, key)
    )""",
    """CREATE TABLE leases (
        run_id text COLLATE "C" PRIMARY KEY,
        owner text COLLATE "C" NOT NULL,
        expire_us bigint NOT NULL
    )""",
)


def create_tables(conn: psycopg.Connection) -> None:
    for statement in _STATEMENTS:
        conn.execute(statement)
