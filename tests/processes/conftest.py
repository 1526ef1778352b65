"""Fixtures of the process tests: PostgreSQL schemas on the shared server, and clusters of
a test's own for tests that restart the server."""

from private_postgres import postgres_cluster_fixture  # noqa: F401 (a fixture)

from tests.state.postgres_schemas import postgres_schema  # noqa: F401 (a fixture)
