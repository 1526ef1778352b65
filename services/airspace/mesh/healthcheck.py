"""Container health check: asks a server's grpc.health.v1 service whether it is SERVING.

    python -m airspace.mesh.healthcheck [HOST:PORT] [--service NAME] [--timeout SECONDS]

Exits 0 when it is, 1 when it answers otherwise or not at all. Without an address it
checks 127.0.0.1 on $AIRSPACE_PORT (50051), the port every service listens on in the
container image, so one HEALTHCHECK serves every service. It dials TLS with the
process's own certificate when AIRSPACE_TLS_* name one (see airspace.mesh.tls), as the
service it checks expects.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from airspace.mesh import settings, tls

DEFAULT_PORT = "50051"


def default_address() -> str:
    return f"127.0.0.1:{os.environ.get('AIRSPACE_PORT', DEFAULT_PORT)}"


def _channel(address: str, env: Mapping[str, str] | None) -> grpc.Channel:
    mesh_tls = settings.load(tls.TlsSettings, "", environ=env)
    credentials = tls.channel_credentials(mesh_tls)
    if credentials is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, credentials, options=tls.channel_options(mesh_tls))


def check(
    address: str,
    service: str = "",
    timeout: float = 3.0,
    env: Mapping[str, str] | None = None,
) -> str:
    """The serving status the server reports, or why it reported none; dialed with the
    TLS settings (AIRSPACE_TLS_*) of `env`, this process's environment by default."""
    with _channel(address, env) as channel:
        try:
            # types-grpcio-health-checking declares HealthStub without its methods.
            reply = health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError as error:
            return f"{error.code().name}: {error.details()}"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airspace.mesh.healthcheck", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("address", nargs="?", help="HOST:PORT (default 127.0.0.1:$AIRSPACE_PORT)")
    parser.add_argument("--service", default="", help="a service name (default: the server)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    address = args.address or default_address()
    status = check(address, args.service, args.timeout)
    print(f"{address} {args.service or '(server)'}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
