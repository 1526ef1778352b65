"""Human approvals a run waits on."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Collection

from google.protobuf import struct_pb2

from airspace.state.store.page import Page
from airspace.v1 import approval_pb2, run_pb2


@dataclasses.dataclass(frozen=True)
class Decision:
    outcome: run_pb2.ApprovalOutcome
    decided_by: str
    comment: str = ""
    edited_payload: struct_pb2.Struct | None = None


class ApprovalStore(ABC):
    @abstractmethod
    async def create_approval(self, approval: approval_pb2.Approval) -> approval_pb2.Approval:
        """Idempotent by (tenant, approval_id): a known id returns the stored approval."""

    @abstractmethod
    async def get_approval(self, tenant: str, approval_id: str) -> approval_pb2.Approval: ...

    @abstractmethod
    async def list_approvals(
        self,
        tenant: str,
        *,
        state: int,
        roles: Collection[str],
        run_id: str,
        page_size: int,
        page_token: str,
    ) -> Page[approval_pb2.Approval]:
        """Oldest first; state, roles (required_role among them) and run_id filter when set."""

    @abstractmethod
    async def list_due_approvals(
        self, due_before_us: int, limit: int
    ) -> list[approval_pb2.Approval]:
        """Pending approvals of every tenant whose deadline is before the time, oldest first."""

    @abstractmethod
    async def decide_approval(
        self, tenant: str, approval_id: str, decision: Decision
    ) -> approval_pb2.Approval: ...
