"""fsyncs per audit entry: the policy service's audit commits and witness publications per
entry appended through RecordAudit over gRPC, from one caller at a time and from many
at once (where group commit shares a commit between waiting entries).

    python -m bench.audit_fsyncs [--entries 500] [--width 64]

Run by hand, not by `make bench` or the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import grpc
from prometheus_client import REGISTRY

from airspace.mesh import channels, identity
from airspace.policy.service.main import build_server
from airspace.policy.service.settings import PolicySettings
from airspace.policy.v1 import policy_pb2, policy_pb2_grpc

MESH_KEY = b"bench-audit-fsyncs-mesh-key-0123456789"
COMMITS = "airspace_audit_commits_total"
ENTRIES = "airspace_audit_entries_committed_total"
PUBLICATIONS = "airspace_audit_witness_publications_total"


def counters() -> dict[str, float]:
    return {
        name: REGISTRY.get_sample_value(name) or 0.0 for name in (COMMITS, ENTRIES, PUBLICATIONS)
    }


def request(n: int) -> policy_pb2.RecordAuditRequest:
    subject = policy_pb2.Subject(principal=f"user:{n}", tenant="acme")
    return policy_pb2.RecordAuditRequest(kind="approval.decided", subject=subject)


async def measure(entries: int, width: int) -> None:
    router = channels.mesh_identity("router")
    metadata = ((identity.METADATA_KEY, identity.sign(router, MESH_KEY)),)
    with tempfile.TemporaryDirectory() as data:
        config = PolicySettings(data_dir=data, mesh_key=MESH_KEY, hash_key=b"bench-hash-key")
        srv = build_server(config)
        port = await srv.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = policy_pb2_grpc.PolicyServiceStub(channel)
            for label, callers in (("one caller", 1), (f"{width} callers", width)):
                before, start = counters(), time.perf_counter()
                for _ in range(max(1, entries // callers)):
                    await asyncio.gather(
                        *(stub.RecordAudit(request(n), metadata=metadata) for n in range(callers))
                    )
                took = time.perf_counter() - start
                moved = {name: value - before[name] for name, value in counters().items()}
                appended = moved[ENTRIES]
                print(
                    f"{label:12s} {appended:6.0f} entries  "
                    f"fsyncs/entry {(moved[COMMITS] + moved[PUBLICATIONS]) / appended:.3f} "
                    f"(commits {moved[COMMITS] / appended:.3f}, "
                    f"witness {moved[PUBLICATIONS] / appended:.4f})  "
                    f"{appended / took:.0f} entries/s"
                )
        await srv.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--width", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(measure(args.entries, args.width))


if __name__ == "__main__":
    main()
