"""RecordDecisions appends a batch once, over real gRPC: the same request sent again (a
retry after a lost reply) gets the original sequences and appends nothing, the audit log
still verifies, and a request id reused for other records is refused. Records with a
record_id (relayed from the audit outbox) are appended once each, whatever batch carries
them again."""

from __future__ import annotations

import grpc
import pytest
from policy_helpers import MESH_KEY, ROUTER, as_

from airspace.mesh import channels, errors, identity
from airspace.mesh.settings import ServerSettings
from airspace.policy.v1 import policy_pb2, policy_pb2_grpc
from airspace.router.local_policy.audit_batcher import AuditBatcher
from airspace.router.repositories.grpc_repositories import GrpcAuditSink
from airspace.v1 import observability_pb2

pytestmark = pytest.mark.mesh

AUDITOR = identity.Identity("user:aud", "acme", ("auditor",), "user")


def record(n: int, run_id: str = "r-1") -> policy_pb2.AuditRecord:
    message = policy_pb2.AuditRecord(
        kind="policy.decision",
        tenant="acme",
        principal="agent:writer",
        run_id=run_id,
        decision_id=f"d-{n}",
    )
    message.details.update({"checkpoint": "step.input", "verdict": "ALLOW"})
    return message


async def decision_ids(policy_server, run_id: str = "r-1") -> list[str]:
    listed = await policy_server.audit().ListAuditEntries(
        observability_pb2.ListAuditEntriesRequest(run_id=run_id), metadata=as_(AUDITOR)
    )
    return [entry.decision_id for entry in listed.entries]


async def verified(policy_server) -> bool:
    report = await policy_server.audit().VerifyAuditLog(
        observability_pb2.VerifyAuditLogRequest(), metadata=as_(AUDITOR)
    )
    return report.ok


async def test_the_same_request_twice_appends_one_set_of_records(policy_server):
    stub = policy_server.policy()
    request = policy_pb2.RecordDecisionsRequest(records=[record(1), record(2)], request_id="b-1")
    first = await stub.RecordDecisions(request, metadata=as_(ROUTER))
    again = await stub.RecordDecisions(request, metadata=as_(ROUTER))
    assert list(again.sequences) == list(first.sequences)
    assert await decision_ids(policy_server) == ["d-1", "d-2"]
    assert await verified(policy_server)


def relayed(n: int) -> policy_pb2.AuditRecord:
    message = record(n)
    message.record_id = f"entry-{n}"
    return message


async def test_relayed_records_are_appended_once_whatever_batch_carries_them(policy_server):
    stub = policy_server.policy()
    first = await stub.RecordDecisions(
        policy_pb2.RecordDecisionsRequest(records=[relayed(1), relayed(2)]), metadata=as_(ROUTER)
    )
    # A relay that crashed before removing them sends them again, beside a new one.
    again = await stub.RecordDecisions(
        policy_pb2.RecordDecisionsRequest(records=[relayed(2), relayed(3), relayed(1)]),
        metadata=as_(ROUTER),
    )
    assert await decision_ids(policy_server) == ["d-1", "d-2", "d-3"]
    assert [again.sequences[2], again.sequences[0]] == list(first.sequences)
    assert await verified(policy_server)


async def test_records_with_and_without_a_record_id_do_not_share_a_batch(policy_server):
    request = policy_pb2.RecordDecisionsRequest(records=[relayed(1), record(2)])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await policy_server.policy().RecordDecisions(request, metadata=as_(ROUTER))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "record_id" in (refused.value.details() or "")


async def test_a_request_id_reused_for_other_records_is_refused(policy_server):
    stub = policy_server.policy()
    await stub.RecordDecisions(
        policy_pb2.RecordDecisionsRequest(records=[record(1)], request_id="b-1"),
        metadata=as_(ROUTER),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.RecordDecisions(
            policy_pb2.RecordDecisionsRequest(records=[record(2)], request_id="b-1"),
            metadata=as_(ROUTER),
        )
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    [info] = [d for d in errors.status_details(refused.value) if d.DESCRIPTOR.name == "ErrorInfo"]
    assert info.reason == "REQUEST_ID_REUSED"
    assert await decision_ids(policy_server) == ["d-1"]


async def test_a_request_id_too_long_is_refused_naming_the_field(policy_server):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await policy_server.policy().RecordDecisions(
            policy_pb2.RecordDecisionsRequest(records=[record(1)], request_id="x" * 65),
            metadata=as_(ROUTER),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in refused.value.details() and "x" * 65 not in refused.value.details()


class LosingFirstReply:
    """The policy service's stub, but the reply to the first RecordDecisions is lost on
    its way back, after the service appended the batch."""

    def __init__(self, stub: policy_pb2_grpc.PolicyServiceStub):
        self._stub = stub
        self.calls = 0

    async def RecordDecisions(self, request, timeout=None):
        self.calls += 1
        reply = await self._stub.RecordDecisions(request, timeout=timeout)
        if self.calls == 1:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="connection reset",
            )
        return reply


async def test_the_routers_retry_after_a_lost_reply_appends_nothing_twice(policy_server):
    address = f"127.0.0.1:{policy_server.server.port}"
    settings = ServerSettings(mesh_key=MESH_KEY)
    async with channels.open_channel(address, settings, as_identity=ROUTER) as channel:
        losing = LosingFirstReply(policy_pb2_grpc.PolicyServiceStub(channel))
        batcher = AuditBatcher(GrpcAuditSink(losing))  # type: ignore[arg-type]
        await batcher.durable(record(1))
        await batcher.close()
    assert losing.calls == 2  # the batch was sent again, under the same request id
    assert await decision_ids(policy_server) == ["d-1"]
    assert await verified(policy_server)
