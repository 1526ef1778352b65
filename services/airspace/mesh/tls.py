"""TLS on every hop, and mutual TLS inside the mesh, from PEM files named by settings.

    AIRSPACE_TLS_CERT_FILE, AIRSPACE_TLS_KEY_FILE   this process's certificate and key
    AIRSPACE_TLS_CA_FILE                            the CA that signs the mesh's certificates
    AIRSPACE_TLS_CLIENT_AUTH (default on)           servers require a client certificate
    AIRSPACE_TLS_SERVER_NAME                        the name to expect in servers' certificates

(each also per service, e.g. AIRSPACE_GATEWAY_TLS_CLIENT_AUTH=0 for a public edge whose
clients authenticate with API keys). A server with a certificate and key serves TLS only,
so plaintext clients are refused; with a CA it also demands a client certificate that CA
signed. A channel trusts the CA's certificates and presents its own certificate, so a
client certificate from another CA is refused by the server.
"""

from __future__ import annotations

import dataclasses
import pathlib

import grpc

from airspace.mesh import errors


@dataclasses.dataclass
class TlsSettings:
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_ca_file: str = ""
    tls_client_auth: bool = True
    tls_server_name: str = ""

    def __post_init__(self):
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise errors.InvalidArgument(
                "tls_cert_file and tls_key_file go together: set both or neither",
                field="tls_key_file" if self.tls_cert_file else "tls_cert_file",
            )

    @property
    def serves_tls(self) -> bool:
        return bool(self.tls_cert_file)

    @property
    def dials_tls(self) -> bool:
        return bool(self.tls_ca_file)

    @property
    def verifies_clients(self) -> bool:
        """Whether a server demands client certificates its CA signed (mutual TLS)."""
        return self.serves_tls and bool(self.tls_ca_file) and self.tls_client_auth


def _read(path: str, field: str) -> bytes:
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise errors.InvalidArgument(
            f"{field}: cannot read {path}: {exc.strerror}", field=field
        ) from exc


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials | None:
    """What a server listens with (None: plaintext)."""
    if not tls.serves_tls:
        return None
    pair = (_read(tls.tls_key_file, "tls_key_file"), _read(tls.tls_cert_file, "tls_cert_file"))
    ca = _read(tls.tls_ca_file, "tls_ca_file") if tls.tls_ca_file else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=ca, require_client_auth=tls.verifies_clients
    )


def channel_credentials(tls: TlsSettings) -> grpc.ChannelCredentials | None:
    """What a channel dials with (None: plaintext): the CA's roots, and this process's own
    certificate for servers that ask for one."""
    if not tls.dials_tls:
        return None
    own = (
        (_read(tls.tls_key_file, "tls_key_file"), _read(tls.tls_cert_file, "tls_cert_file"))
        if tls.serves_tls
        else (None, None)
    )
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.tls_ca_file, "tls_ca_file"),
        private_key=own[0],
        certificate_chain=own[1],
    )


def channel_options(tls: TlsSettings) -> list[tuple[str, str]]:
    """Channel arguments for dialing a server whose certificate names another host."""
    if tls.dials_tls and tls.tls_server_name:
        return [("grpc.ssl_target_name_override", tls.tls_server_name)]
    return []
