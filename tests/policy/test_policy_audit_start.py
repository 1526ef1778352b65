"""The policy service as a process: it refuses to start on a tampered audit log, exits
with its own code and says why, and starts once the incident is acknowledged."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import grpc
import pytest
from policy_helpers import HASH_KEY, MESH_KEY, ROUTER, as_, tamper
from policy_servers import policy_settings, start_policy

from airspace.policy.audit.witness import FileWitness
from airspace.policy.service.main import EXIT_AUDIT_INCIDENT
from airspace.policy.v1 import policy_pb2, policy_pb2_grpc

pytestmark = pytest.mark.process


def service_env(config, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRSPACE_DATA_DIR": config.data_dir,
        "AIRSPACE_MESH_KEY": MESH_KEY.decode(),
        "AIRSPACE_POLICY_HASH_KEY": HASH_KEY.decode(),
        "AIRSPACE_POLICY_BUNDLE_DIR": config.bundle_dir,
        "AIRSPACE_POLICY_PORT": "0",
        **extra,
    }


def policy_process(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "airspace.policy.service.main"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_wiped_log_stops_the_process_until_the_incident_is_acknowledged(tmp_path):
    config = policy_settings(tmp_path)
    running = await start_policy(config)
    request = policy_pb2.RecordAuditRequest(
        kind="approval.decided",
        subject=policy_pb2.Subject(principal="user:bo", tenant="acme"),
    )
    await running.policy().RecordAudit(request, metadata=as_(ROUTER))
    await running.stop()
    tamper(config.audit_database, "DELETE FROM audit_entries", "DELETE FROM audit_signed_heads")

    refused = policy_process(service_env(config))
    _, stderr = refused.communicate(timeout=60)
    assert refused.returncode == EXIT_AUDIT_INCIDENT
    assert "the audit log failed verification" in stderr and "entries were removed" in stderr
    incident = re.search(r"AIRSPACE_POLICY_AUDIT_ACKNOWLEDGE=(\w+)", stderr)
    assert incident is not None

    acknowledged = policy_process(
        service_env(
            config,
            AIRSPACE_POLICY_AUDIT_ACKNOWLEDGE=incident.group(1),
            AIRSPACE_POLICY_AUDIT_ACKNOWLEDGE_REASON="test of the acknowledgement",
        )
    )
    try:
        assert acknowledged.stdout is not None
        assert acknowledged.stdout.readline().startswith("READY policy ")
    finally:
        acknowledged.terminate()
        _, stderr = acknowledged.communicate(timeout=60)
    assert f"audit incident {incident.group(1)} acknowledged" in stderr


async def test_a_service_killed_before_publishing_its_heads_starts_again(tmp_path):
    """Entries signed after the witness's last head are no finding: the start verifies them
    from that head and publishes the log's end."""
    config = policy_settings(tmp_path)
    env = service_env(config, AIRSPACE_POLICY_AUDIT_WITNESS_INTERVAL="3600")
    first = policy_process(env)
    try:
        assert first.stdout is not None
        port = int(first.stdout.readline().split()[2])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = policy_pb2_grpc.PolicyServiceStub(channel)
            for n in range(3):
                request = policy_pb2.RecordAuditRequest(
                    kind="approval.decided",
                    subject=policy_pb2.Subject(principal=f"user:{n}", tenant="acme"),
                )
                await stub.RecordAudit(request, metadata=as_(ROUTER))
    finally:
        first.kill()
        first.communicate(timeout=60)
    witness = FileWitness(config.audit_witness)
    assert witness.heads() == []  # killed before its first publication

    again = policy_process(env)
    try:
        assert again.stdout is not None
        assert again.stdout.readline().startswith("READY policy ")
    finally:
        again.terminate()
        again.communicate(timeout=60)
    assert [head.size for head in witness.heads()] == [3]
