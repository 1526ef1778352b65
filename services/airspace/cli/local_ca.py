"""A certificate authority of the local mesh's own, for `airspace up --tls`.

Under $AIRSPACE_HOME/tls: the CA (ca.pem, and its key ca-key.pem, 0600) and one
certificate per service (<service>.pem, <service>-key.pem, 0600) naming it the way
airspace.mesh.peer_certificates reads it (spiffe://airspace/service/<service> and
<service>.airspace), valid for 127.0.0.1 and localhost, for serving and for dialing
(mutual TLS). Made once and kept; a certificate is issued again a month before it
expires. Give an agent of your own a certificate this CA signed (`issue_leaf`) to join a
mesh that demands one.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import pathlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from airspace.mesh import peer_certificates

# Every process of the local mesh proves itself with the certificate of its service; the
# trace collector's process is "tracing", its service "collector".
SERVICES = ("gateway", "router", "state", "policy", "collector", "agents")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)

Key = ec.EllipticCurvePrivateKey


@dataclasses.dataclass(frozen=True)
class MeshCertificates:
    """One process's certificate and key, and the CA it trusts."""

    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path

    def env(self) -> dict[str, str]:
        """The settings that make a process serve and dial with these (airspace.mesh.tls)."""
        return {
            "AIRSPACE_TLS_CA_FILE": str(self.ca),
            "AIRSPACE_TLS_CERT_FILE": str(self.cert),
            "AIRSPACE_TLS_KEY_FILE": str(self.key),
        }


@dataclasses.dataclass(frozen=True)
class LocalCa:
    """The local CA's certificate and the folder holding each service's certificate."""

    ca: pathlib.Path
    folder: pathlib.Path

    @property
    def ca_key(self) -> pathlib.Path:
        return self.folder / "ca-key.pem"

    def service(self, name: str) -> MeshCertificates:
        if name not in SERVICES:
            raise ValueError(f"no certificate for {name!r}: the local CA issues {SERVICES}")
        return MeshCertificates(
            self.ca, self.folder / f"{name}.pem", self.folder / f"{name}-key.pem"
        )

    def authority(self) -> tuple[Key, x509.Certificate]:
        """The CA's key and certificate, to issue certificates with (issue_leaf)."""
        loaded = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.ca_key} is not the local CA's EC key")
        return loaded, x509.load_pem_x509_certificate(self.ca.read_bytes())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Airspace local mesh"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def issue_ca(common_name: str = "Airspace local CA") -> tuple[Key, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _subject_names(hosts: Sequence[str], service: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    if service:
        names.append(x509.UniformResourceIdentifier(peer_certificates.spiffe_id(service)))
        names.append(x509.DNSName(peer_certificates.dns_name(service)))
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue_leaf(
    ca_key: Key,
    ca_cert: x509.Certificate,
    common_name: str,
    hosts: Sequence[str] = LOCAL_HOSTS,
    *,
    service: str = "",
) -> tuple[Key, x509.Certificate]:
    """A certificate the CA signed, for serving as `hosts` and for client authentication;
    with `service`, it names that mesh service too."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName(_subject_names(hosts, service)), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_key(path: pathlib.Path, key: Key) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # before the key is in it
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def write_cert(path: pathlib.Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _fresh(path: pathlib.Path) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc - RENEW_BEFORE > _now()


def ensure(folder: pathlib.Path) -> LocalCa:
    """The local CA and each service's certificate under `folder`, made when missing or due."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    local = LocalCa(folder / "ca.pem", folder)
    renewed_ca = not (_fresh(local.ca) and local.ca_key.exists())
    if renewed_ca:
        ca_key, ca_cert = issue_ca()
        write_key(local.ca_key, ca_key)
        write_cert(local.ca, ca_cert)
    # A new CA's certificates are all due: the old ones are signed by the old CA.
    due = [name for name in SERVICES if renewed_ca or not _fresh(local.service(name).cert)]
    if due:
        ca_key, ca_cert = local.authority()
        for name in due:
            files = local.service(name)
            key, cert = issue_leaf(ca_key, ca_cert, peer_certificates.dns_name(name), service=name)
            write_key(files.key, key)
            write_cert(files.cert, cert)
    return local
