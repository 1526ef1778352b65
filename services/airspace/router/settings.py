"""Router settings (environment prefix AIRSPACE_ROUTER_)."""

import dataclasses
import os
import socket

from airspace.mesh import errors
from airspace.mesh.settings import ServerSettings
from airspace.policy import keys


@dataclasses.dataclass
class RouterSettings(ServerSettings):
    state_endpoint: str = "127.0.0.1:50061"
    policy_endpoint: str = "127.0.0.1:50062"
    trace_endpoint: str = "127.0.0.1:50063"
    # Identifies this replica in leases; unique among the routers sharing the state.
    router_id: str = dataclasses.field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}"
    )
    # The router lease, under which this replica holds every run it executes: another
    # router takes its runs over once it went this long without renewing it.
    lease_seconds: float = 2.0
    # How often the router lease is renewed (one write for all the runs it holds);
    # a renewal also tells whether another router's runs wait to be taken over.
    heartbeat_seconds: float = 0.5
    # How often runs nobody leased (their creator died before taking them) and due
    # approvals are looked for.
    recovery_interval_seconds: float = 5.0
    default_step_timeout_seconds: float = 60.0
    # Invoke calls open to one agent endpoint at a time; more wait their turn. Below the
    # agent kit's own server limit (max_concurrent_rpcs), so parked runs queue, not fail.
    max_calls_per_agent: int = 256
    # Runs executed at once; more wait their turn, shared between tenants (run_admission.py),
    # and new runs past max_queued_runs waiting are refused with RetryInfo.
    max_running_runs: int = 1000
    max_queued_runs: int = 10000
    # Per-tenant quotas (airspace.mesh.quotas): runs active on this router per tenant.
    quotas_file: str = ""
    default_run_timeout_seconds: float = 3600.0
    # Internal calls (state, policy) that carry no deadline of their own.
    internal_call_timeout_seconds: float = 10.0
    # Key of the PII hash of the embedded policy engine: it must be the policy service's
    # (AIRSPACE_HASH_KEY sets both); derived from the mesh key when empty, as there.
    hash_key: bytes = b""
    # How long steps are still decided with the bundle in force once nothing was heard on
    # the bundle stream from the policy service (it broke, or fell silent past its
    # keepalives); past it they are denied (BUNDLE_STALE).
    policy_staleness_seconds: float = 30.0
    # How long a check waits for the first bundle after the router starts.
    policy_first_bundle_seconds: float = 5.0
    # How long the audit relay gathers records stored in the audit outbox before it moves
    # them to the policy service's audit log in one batch (audit_relay.py): the delay
    # before `airspace audit list` shows a run's records.
    audit_relay_seconds: float = 0.5
    # A watcher of a run executing here hears of it from this router (local_events.py);
    # after this long without an event it follows the state service instead, which also
    # holds what other writers appended (a cancel made through another replica).
    watch_quiet_seconds: float = 5.0
    # Workflow versions, workflows' latest versions and tenants' agent registrations the
    # router keeps each (the least recently used dropped first); 0 reads every one from
    # the state service.
    registry_cache_size: int = 1024

    def pii_hash_key(self) -> bytes:
        return keys.pii_hash_key(self.hash_key, self.mesh_key, "AIRSPACE_ROUTER_HASH_KEY")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.heartbeat_seconds < self.lease_seconds:
            raise errors.InvalidArgument(
                f"heartbeat_seconds ({self.heartbeat_seconds:g}) must be positive and shorter"
                f" than lease_seconds ({self.lease_seconds:g})",
                field="heartbeat_seconds",
            )
        if self.watch_quiet_seconds <= 0:
            raise errors.InvalidArgument(
                f"watch_quiet_seconds ({self.watch_quiet_seconds:g}) must be positive",
                field="watch_quiet_seconds",
            )
        if self.registry_cache_size < 0:
            raise errors.InvalidArgument(
                "registry_cache_size must not be negative", field="registry_cache_size"
            )
