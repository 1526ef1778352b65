"""Client-side round-robin load balancing over the replicas of one service (the routers).

An endpoint setting names the replicas as one of:
- `dns:///host:port`: every address the name resolves to (a Kubernetes headless Service,
  a Compose network alias that the replicas share);
- a comma-separated list of IP addresses, `10.0.0.5:50060,10.0.0.6:50060`, which becomes
  gRPC's static `ipv4:`/`ipv6:` target. gRPC resolves no host names in such a list, so a
  list naming a host is refused rather than half-resolved.
A plain `host:port` keeps gRPC's default, one connection made when a call needs it: a
single replica that restarts is used again by the next call, where round robin would fail
calls fast until its reconnection backoff ends.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json

from airspace.mesh import errors

ROUND_ROBIN = (
    ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})),
    # A replica back from a restart gets calls again within seconds, not gRPC's 2 minutes.
    ("grpc.max_reconnect_backoff_ms", 2000),
)


@dataclasses.dataclass(frozen=True)
class Upstream:
    """The gRPC target of an endpoint setting and the channel options it needs."""

    target: str
    options: tuple[tuple[str, str | int], ...] = ()


def upstream(endpoint: str) -> Upstream:
    """The channel target that reaches every replica an endpoint setting names."""
    addresses = [part.strip() for part in endpoint.split(",") if part.strip()]
    if not addresses:
        raise errors.InvalidArgument("an endpoint needs at least one address", field="endpoint")
    if len(addresses) == 1:
        single = addresses[0]
        return Upstream(single, ROUND_ROBIN if single.startswith("dns:") else ())
    families = {_ip_family(address) for address in addresses}
    if len(families) != 1 or "" in families:
        raise errors.InvalidArgument(
            f"{endpoint!r}: a list of replicas must be IP addresses of one family "
            "(for host names use dns:///NAME:PORT, a name that resolves to every replica)",
            field="endpoint",
        )
    return Upstream(f"{families.pop()}:{','.join(addresses)}", ROUND_ROBIN)


def _ip_family(address: str) -> str:
    """The IP family ("ipv4", "ipv6") of an IP:port address; "" for a host name."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return ""
    try:
        ip = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return ""
    if ip.version == 6 and not host.startswith("["):
        return ""  # an IPv6 address with a port is written [addr]:port
    return f"ipv{ip.version}"
