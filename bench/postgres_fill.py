"""The rows of bench/growth_rows.py in a PostgreSQL state schema, made by the server.

One set-based statement (generate_series feeding one INSERT per table) writes every row
into the tables the store's own migrations created, indexes in place: the serialized
records are the Python templates with their placeholders overlaid in SQL, so no row
crosses the wire. The same rules as growth_rows.batches pick each run's tenant, workflow
and state (tests/bench compare the two).
"""

from __future__ import annotations

import random
import time

import psycopg

from airspace.state import records
from airspace.state.postgres import migrations
from airspace.v1 import run_pb2
from bench import growth_rows as rows
from bench.growth_rows import Filled

_CANCELED, _FAILED = run_pb2.RUN_STATE_CANCELED, run_pb2.RUN_STATE_FAILED
_COMPLETED, _WAITING = run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_WAITING_APPROVAL
_ACTIVE_SQL = ", ".join(str(state) for state in rows.ACTIVE_STATES)
# Every run state in value order, so SQL picks a run's template by its state.
_STATES = sorted((*rows.ACTIVE_STATES, *rows.TERMINAL_STATES))
assert list(range(1, len(_STATES) + 1)) == _STATES


def _offsets(templates: list[bytes], placeholder: bytes) -> list[int]:
    """Where the placeholder sits (1-based, as SQL counts), the same in every template."""
    found = []
    for template in templates:
        at, start = [], template.find(placeholder)
        while start >= 0:
            at.append(start + 1)
            start = template.find(placeholder, start + len(placeholder))
        found.append(at)
    if any(at != found[0] for at in found):
        raise ValueError("the templates place their fields differently")
    return found[0]


def _overlaid(templates: list[bytes], template_sql: str, fields: dict[bytes, str]) -> str:
    """SQL for a template (chosen by template_sql among `templates`) with each
    placeholder overlaid by the SQL text expression given for it."""
    expression = template_sql
    for placeholder, value in fields.items():
        for offset in _offsets(templates, placeholder):
            expression = (
                f"overlay({expression} placing convert_to({value}, 'UTF8')"
                f" from {offset} for {len(placeholder)})"
            )
    return expression


def _statement() -> tuple[str, dict[str, object]]:
    """The statement, and the templates it takes as parameters."""
    templates: dict[str, object] = {
        "runs_t": [rows.run_template(state) for state in _STATES],
        "events_t": [rows.event_template(n) for n in range(1, rows.EVENTS_PER_RUN + 1)],
        "journal_t": [rows.journal_template(n) for n in range(1, rows.JOURNAL_PER_RUN + 1)],
        # The pending ones by deadline, then the decided one.
        "approvals_t": [
            *(rows.approval_template(rows.PENDING, due) for due in rows.DEADLINES_US),
            rows.approval_template(rows.DECIDED, rows.DEADLINES_US[0]),
        ],
    }

    def blob(name: str, index_sql: str, fields: dict[bytes, str]) -> str:
        chosen = templates[name]
        assert isinstance(chosen, list)
        return _overlaid(chosen, f"(%({name})s::bytea[])[{index_sql}]", fields)

    of_run = {rows.ID: "id", rows.TENANT.encode(): "tenant", rows.WORKFLOW.encode(): "workflow"}
    by_id = {rows.ID: "s.id"}
    run_data = blob("runs_t", "state", of_run)
    event_data = blob("events_t", "n", by_id)
    journal_data = blob("journal_t", "n", by_id)
    approval_data = blob(
        "approvals_t",
        f"CASE WHEN state = {_WAITING} THEN mod(i / %(every)s, 2) + 1 ELSE 3 END",
        of_run,
    )
    cycle = len(rows.ACTIVE_STATES)
    statement = f"""
    WITH s AS MATERIALIZED (
        SELECT i, %(first_id)s || lpad(to_hex(i), 16, '0') AS id,
            'tenant-' || mod(i, {rows.TENANTS}) AS tenant,
            'flow-' || mod(i / {rows.TENANTS}, {rows.WORKFLOWS}) AS workflow,
            mod(i, %(every)s) = 0 AS active,
            CASE WHEN mod(i, %(every)s) = 0
                THEN (ARRAY[{_ACTIVE_SQL}])[mod(i / %(every)s, {cycle}) + 1]
                WHEN mod(i, 25) = 2 THEN {_CANCELED} WHEN mod(i, 10) = 1 THEN {_FAILED}
                ELSE {_COMPLETED} END AS state,
            %(now)s - (%(runs)s - i) * 1000 AS created
        FROM generate_series(0::bigint, %(runs)s - 1) AS i
    ), new_runs AS (
        INSERT INTO runs (run_id, tenant, request_id, workflow, state, create_us,
            last_sequence, end_us, data)
        SELECT id, tenant, id, workflow, state, created, {rows.EVENTS_PER_RUN},
            CASE WHEN active THEN NULL ELSE created + 500 END, {run_data}
        FROM s
    ), new_events AS (
        INSERT INTO events (run_id, sequence, data)
        SELECT s.id, n, {event_data} FROM s, generate_series(1, {rows.EVENTS_PER_RUN}) AS n
    ), new_journal AS (
        INSERT INTO journal (run_id, step_key, data)
        SELECT s.id, 's' || lpad(n::text, 4, '0') || '-step', {journal_data}
        FROM s, generate_series(1, {rows.JOURNAL_PER_RUN}) AS n
    ), new_leases AS (
        INSERT INTO leases (run_id, owner, token)
        SELECT id, CASE WHEN active THEN %(holder)s ELSE '' END, 1 FROM s
    )
    INSERT INTO approvals (tenant, approval_id, run_id, state, required_role, create_us, data)
    SELECT tenant, id, id,
        CASE WHEN state = {_WAITING} THEN {rows.PENDING} ELSE {rows.DECIDED} END,
        'reviewer', created, {approval_data}
    FROM s WHERE state = {_WAITING} OR (NOT active AND mod(i, {rows.APPROVAL_EVERY}) = 0)
    """
    return statement, {**templates, "holder": rows.HOLDER}


def fill(url: str, runs: int, sample_size: int = 1000) -> Filled:
    """Migrates the schema the URL names, fills it, and refreshes the planner's
    statistics and the visibility map, as autovacuum would after such a load."""
    migrations.apply_migrations(url)
    statement, templates = _statement()
    now = records.micros(time.time())
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(
            statement,
            {
                **templates,
                "first_id": f"{random.getrandbits(63):016x}",
                "every": max(1, runs // rows.ACTIVE_RUNS),
                "now": now,
                "runs": runs,
            },
        )
        conn.cursor().executemany(
            "INSERT INTO router_leases (router_id, epoch, expire_us) VALUES (%s, %s, %s)",
            rows.router_leases(now),
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        active = conn.execute(
            f"SELECT tenant, run_id FROM runs WHERE state IN ({_ACTIVE_SQL})"
        ).fetchall()
        sample = conn.execute(
            "SELECT tenant, run_id FROM runs ORDER BY random() LIMIT %s", (sample_size,)
        ).fetchall()
    return Filled([tuple(row) for row in active], [tuple(row) for row in sample])
