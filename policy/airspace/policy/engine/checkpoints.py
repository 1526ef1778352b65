"""The checkpoints the mesh asks about and the permission each one needs."""

from __future__ import annotations

PERMISSION_BY_CHECKPOINT: dict[str, str] = {
    "run.start": "runs.start",
    "run.read": "runs.read",
    "run.cancel": "runs.cancel",
    "workflow.write": "workflows.write",
    "workflow.read": "workflows.read",
    "agent.register": "agents.register",
    "agent.read": "agents.read",
    "step.input": "steps.execute",
    "step.output": "steps.execute",
    "agent.action": "actions.request",
    "approval.read": "approvals.read",
    "approval.decide": "approvals.decide",
    "audit.read": "audit.read",
    "memory.read": "memory.read",
    "memory.write": "memory.write",
    "retention.prune": "retention.prune",
    "token.resolve": "tokens.resolve",
}

CHECKPOINTS = frozenset(PERMISSION_BY_CHECKPOINT)
PERMISSIONS = frozenset(PERMISSION_BY_CHECKPOINT.values())
# "*" grants everything; "runs.*" grants every permission of one family.
WILDCARD = "*"


def permission_families() -> frozenset[str]:
    return frozenset(p.split(".", 1)[0] + ".*" for p in PERMISSIONS)


def is_known_grant(grant: str) -> bool:
    return grant == WILDCARD or grant in PERMISSIONS or grant in permission_families()


def grants(grant: str, permission: str) -> bool:
    if grant in (WILDCARD, permission):
        return True
    return grant.endswith(".*") and permission.startswith(grant[:-1])
