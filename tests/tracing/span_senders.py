"""The test collectors' mesh key, and the OTLP headers of senders it credits."""

from airspace.mesh import telemetry_credentials

MESH_KEY = b"tracing-test-mesh-key-0123456789abcdef"


def credential_headers(sender: telemetry_credentials.Sender) -> dict[str, str]:
    return telemetry_credentials.export_headers(telemetry_credentials.issue(MESH_KEY, sender))
