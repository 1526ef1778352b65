"""The router's repositories: typed access to the data it keeps in other services."""

from airspace.router.repositories.ports import (
    AgentRepository,
    Appended,
    ApprovalRepository,
    Decision,
    LeaseRepository,
    MemoryRepository,
    MemoryWrite,
    Page,
    PageRequest,
    PolicyDecisions,
    Pruned,
    Repositories,
    RunChange,
    RunRepository,
    TraceQueries,
    WorkflowRepository,
)

__all__ = [
    "AgentRepository",
    "Appended",
    "ApprovalRepository",
    "Decision",
    "LeaseRepository",
    "MemoryRepository",
    "MemoryWrite",
    "Page",
    "PageRequest",
    "PolicyDecisions",
    "Pruned",
    "Repositories",
    "RunChange",
    "RunRepository",
    "TraceQueries",
    "WorkflowRepository",
]
