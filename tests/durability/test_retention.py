"""Pruning finished runs' payloads through the public API and `airspace admin prune`."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import timestamp_pb2
from process_mesh import event_log, gateway_client, prepare_workflow, start_runs, wait_for_the_end

from airspace.cli import main as cli
from airspace.gateway.api_keys import ApiKeyStore
from airspace.mesh import errors
from airspace.v1 import admin_pb2, admin_pb2_grpc, run_pb2

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]


def prune_request(before: timestamp_pb2.Timestamp, dry_run: bool) -> admin_pb2.PruneRunsRequest:
    return admin_pb2.PruneRunsRequest(finished_before=before, validate_only=dry_run)


async def test_only_admins_prune_and_a_pruned_run_keeps_its_record(mesh, monkeypatch, capsys):
    client = gateway_client(mesh)  # the developer key: an admin
    admin = admin_pb2_grpc.AdminServiceStub(client.channel)
    operator_key = ApiKeyStore(mesh.home / "api_keys.json").create(
        "user:olga", "default", ("operator",)
    )
    operator = gateway_client(mesh, operator_key)
    try:
        await prepare_workflow(client, mesh.agent.address)
        run_ids = await start_runs(client, 3, "retention")
        runs = await wait_for_the_end(client, run_ids)
        ended = max(run.end_time.ToMicroseconds() for run in runs.values())
        before = timestamp_pb2.Timestamp()
        before.FromMicroseconds(ended + 1)

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await admin_pb2_grpc.AdminServiceStub(operator.channel).PruneRuns(
                prune_request(before, True), metadata=operator.metadata
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        future = timestamp_pb2.Timestamp(seconds=before.seconds + 86400)
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await admin.PruneRuns(prune_request(future, True), metadata=client.metadata)
        assert errors.from_rpc_error(invalid.value).violations[0][0] == "finished_before"

        counted = await admin.PruneRuns(prune_request(before, True), metadata=client.metadata)
        assert counted.pruned_runs >= 3 and counted.deleted_events >= 3 * 10
        assert len(await event_log(client, run_ids[0])) > 0  # a dry run deletes nothing

        monkeypatch.setenv("AIRSPACE_API_KEY", mesh.credentials["api_key"])
        argv = ["--gateway", mesh.gateway_address, "admin", "prune", "--json"]
        assert cli.main([*argv, "--finished-before", before.ToJsonString()]) == 0
        assert '"pruned_runs"' in capsys.readouterr().out

        run = (
            await client.runs.GetRun(
                run_pb2.GetRunRequest(run_id=run_ids[0]), metadata=client.metadata
            )
        ).run
        assert run.state == run_pb2.RUN_STATE_COMPLETED and run.end_time.seconds
        assert not run.HasField("output") and not run.HasField("input")
        with pytest.raises(grpc.aio.AioRpcError) as pruned:
            await event_log(client, run_ids[0])
        assert errors.from_rpc_error(pruned.value).reason == "RUN_PRUNED"
        again = await admin.PruneRuns(prune_request(before, True), metadata=client.metadata)
        assert again.pruned_runs == 0
    finally:
        await client.channel.close()
        await operator.channel.close()
