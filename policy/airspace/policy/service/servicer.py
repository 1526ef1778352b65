"""airspace.policy.v1.PolicyService: internal, mesh callers only; proto <-> domain only."""

from __future__ import annotations

from airspace.mesh import errors, identity
from airspace.policy.engine import BundleError
from airspace.policy.service import convert
from airspace.policy.service.core import PolicyCore
from airspace.policy.service.keepalive import with_keepalives
from airspace.policy.v1 import policy_pb2, policy_pb2_grpc

KEEPALIVE = policy_pb2.WatchBundleResponse(keepalive=True)


class PolicyServicer(policy_pb2_grpc.PolicyServiceServicer):
    def __init__(self, core: PolicyCore, *, keepalive_seconds: float):
        """`keepalive_seconds`: how often a bundle stream says it is alive while quiet."""
        self._core = core
        self._keepalive_seconds = keepalive_seconds

    async def Check(self, request, context):
        identity.require_mesh()
        decision = await self._core.check(convert.check_input(request))
        return convert.check_response(decision)

    async def RecordAudit(self, request, context):
        identity.require_mesh()
        entry = await self._core.record(*convert.audit_event(request))
        return policy_pb2.RecordAuditResponse(sequence=entry.sequence)

    async def RecordDecisions(self, request, context):
        identity.require_mesh()
        entries = await self._core.record_decided(convert.decided(request), request.request_id)
        return policy_pb2.RecordDecisionsResponse(sequences=[e.sequence for e in entries])

    async def WatchBundle(self, request, context):
        identity.require_mesh()
        async for active in with_keepalives(self._core.bundles(), self._keepalive_seconds):
            if active is None:
                yield KEEPALIVE
            else:
                yield convert.watched_bundle(active.bundle, active.document, self._core.hash_key_id)

    async def GetBundle(self, request, context):
        identity.require_mesh()
        return convert.bundle_info(self._core.bundle)

    async def ResolveToken(self, request, context):
        identity.require_mesh()
        entity, value, decision = await self._core.resolve_token(*convert.token_request(request))
        return policy_pb2.ResolveTokenResponse(
            value=value, entity=entity, decision_id=decision.decision_id
        )

    async def ReloadBundle(self, request, context):
        caller = identity.require_mesh()
        try:
            bundle = await self._core.reload(convert.caller_subject(caller))
        except BundleError as exc:
            raise errors.InvalidArgument(
                str(exc),
                violations=[(f"{exc.source}:{exc.path}" if exc.path else exc.source, exc.problem)],
                reason="INVALID_BUNDLE",
                metadata={"file": exc.source, "path": exc.path},
            ) from exc
        return policy_pb2.ReloadBundleResponse(bundle=convert.bundle_info(bundle))
