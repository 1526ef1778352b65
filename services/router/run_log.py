"""Writes a run's events (and journal entries) to the state service."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from airspace.state.v1 import state_pb2
from airspace.v1 import run_pb2
from services.router.clients import MeshClients, call


class RunLog:
    def __init__(self, clients: MeshClients, tenant: str, run_id: str, lease_owner: str = ""):
        self._clients = clients
        self.tenant = tenant
        self.run_id = run_id
        self.lease_owner = lease_owner

    async def append(
        self,
        *events: run_pb2.RunEvent,
        journal: list[state_pb2.JournalEntry] | None = None,
    ) -> int:
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        for event in events:
            event.run_id = self.run_id
            if not event.HasField("time"):
                event.time.CopyFrom(now)
        response = await call(
            self._clients.state.AppendEvents,
            state_pb2.AppendEventsRequest(
                tenant=self.tenant,
                run_id=self.run_id,
                events=events,
                journal_entries=journal or [],
                lease_owner=self.lease_owner,
            ),
        )
        return response.last_sequence


def event(step_key: str = "", agent: str = "", **kind) -> run_pb2.RunEvent:
    """A RunEvent with one kind set, e.g. event("s0001-extract", "extractor", step_started=...)."""
    return run_pb2.RunEvent(step_key=step_key, agent=agent, **kind)
