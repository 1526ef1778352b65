"""The state service's storage interfaces, one per aggregate, grouped by StateStore.

Implementations (SQLite in airspace.state.sqlite, PostgreSQL in airspace.state.postgres)
share these contracts: records are the protobuf messages themselves; a store stamps
times, versions and sequences, enforces tenancy (another tenant's record is NOT_FOUND)
and raises airspace.mesh.errors for every refusal. Each method is one transaction.
"""
