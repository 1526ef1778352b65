"""airspace.v1.AuditService: the audit log for callers holding audit.read, scoped to their tenant."""

from __future__ import annotations

from airspace.mesh import errors, identity
from airspace.policy.engine import Resource
from airspace.policy.engine.model import ANY_TENANT
from airspace.policy.service import convert, paging
from airspace.policy.service.core import PolicyCore
from airspace.v1 import observability_pb2, observability_pb2_grpc


class AuditServicer(observability_pb2_grpc.AuditServiceServicer):
    def __init__(self, core: PolicyCore):
        self._core = core

    async def ListAuditEntries(self, request, context):
        caller = await self._authorize()
        limit = paging.page_size(request.page_size)
        after = paging.decode(request.page_token)
        # Only a mesh service acting for every tenant sees every tenant.
        every_tenant = caller.kind == "mesh" and caller.tenant == ANY_TENANT
        entries = await self._core.audit.list(
            tenant=None if every_tenant else caller.tenant,
            run_id=request.run_id,
            principal=request.principal,
            after=after,
            limit=limit + 1,
        )
        more = len(entries) > limit
        entries = entries[:limit]
        return observability_pb2.ListAuditEntriesResponse(
            entries=[convert.audit_entry(entry) for entry in entries],
            next_page_token=paging.encode(entries[-1].sequence) if more else "",
        )

    async def VerifyAuditLog(self, request, context):
        await self._authorize()
        return convert.verify_response(await self._core.audit.verify())

    async def ResolveToken(self, request, context):
        if not request.token:
            raise errors.InvalidArgument("token is required", field="token")
        caller = identity.require()
        entity, value, decision = await self._core.resolve_token(
            convert.caller_subject(caller), request.token, request.run_id
        )
        return observability_pb2.ResolveTokenResponse(
            value=value, entity=entity, decision_id=decision.decision_id
        )

    async def _authorize(self) -> identity.Identity:
        caller = identity.require()
        await self._core.authorize(
            convert.caller_subject(caller),
            "audit.read",
            Resource(kind="audit", name="audit-log", tenant=caller.tenant),
        )
        return caller
