"""Workflows: named, with immutable numbered versions."""

from __future__ import annotations

from abc import ABC, abstractmethod

from airspace.state.store.page import Page
from airspace.v1 import workflow_pb2


class WorkflowStore(ABC):
    @abstractmethod
    async def put_workflow(
        self, workflow: workflow_pb2.Workflow
    ) -> tuple[workflow_pb2.Workflow, bool]:
        """Stores the next version, or returns the latest (and False) when its etag matches."""

    @abstractmethod
    async def get_workflow(self, tenant: str, name: str, version: int) -> workflow_pb2.Workflow:
        """Version 0 means the latest not deleted."""

    @abstractmethod
    async def list_workflows(
        self, tenant: str, *, page_size: int, page_token: str
    ) -> Page[workflow_pb2.Workflow]:
        """The latest version of each workflow not deleted, by name."""

    @abstractmethod
    async def delete_workflow(self, tenant: str, name: str) -> None:
        """Hides the workflow; its versions stay readable by number."""
