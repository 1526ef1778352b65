"""Client-side round-robin load balancing over the replicas of one service (the routers).

An endpoint setting names the replicas as one of:
- `host:port`, or `dns:///host:port`: every address the name resolves to (a Kubernetes
  headless Service, a Compose network alias shared by the replicas);
- a comma-separated list of IP addresses, `10.0.0.5:50060,10.0.0.6:50060`, which becomes
  gRPC's static `ipv4:`/`ipv6:` target. gRPC resolves no host names in such a list, so a
  list naming a host is refused rather than half-resolved.
"""

from __future__ import annotations

import ipaddress
import json

from airspace.mesh import errors

ROUND_ROBIN_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
CHANNEL_OPTIONS = (("grpc.service_config", ROUND_ROBIN_SERVICE_CONFIG),)


def target(endpoint: str) -> str:
    """The gRPC target that reaches every replica an endpoint setting names."""
    addresses = [part.strip() for part in endpoint.split(",") if part.strip()]
    if not addresses:
        raise errors.InvalidArgument("an endpoint needs at least one address", field="endpoint")
    if len(addresses) == 1:
        return addresses[0]
    families = {_ip_family(address) for address in addresses}
    if len(families) != 1 or "" in families:
        raise errors.InvalidArgument(
            f"{endpoint!r}: a list of replicas must be IP addresses of one family "
            "(for host names use one DNS name that resolves to every replica)",
            field="endpoint",
        )
    return f"{families.pop()}:{','.join(addresses)}"


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
