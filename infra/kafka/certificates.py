"""A local certificate authority for the broker's TLS listener in tests and the demo: one CA, one server
certificate for the broker's address, PEM files the broker (PEM key store) and librdkafka read directly."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Short-lived on purpose: these certificates are for local tests and demos, never for a real deployment.
_VALIDITY = datetime.timedelta(days=30)


@dataclass(frozen=True)
class ServerCertificate:
    ca_pem: Path
    server_pem: Path  # the server's private key (PKCS#8) followed by its certificate chain


class LocalCertificateAuthority:
    def __init__(self, directory: Path, host: str) -> None:
        self.directory = directory
        self.host = host
        self.ca_pem = directory / "ca.pem"
        self.server_pem = directory / "server.pem"

    def ensure(self) -> ServerCertificate:
        """Create the CA and the server certificate once; later calls reuse them."""
        if not (self.ca_pem.exists() and self.server_pem.exists()):
            self._create()
        return ServerCertificate(self.ca_pem, self.server_pem)

    def _create(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ActionStream local CA")])
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.host)]))
            .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + _VALIDITY)
            .add_extension(x509.SubjectAlternativeName(self._alternative_names()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        key_pem = server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        self.server_pem.touch(mode=0o600)
        self.server_pem.write_bytes(key_pem + server.public_bytes(serialization.Encoding.PEM)
                                    + ca.public_bytes(serialization.Encoding.PEM))

    def _alternative_names(self) -> list[x509.GeneralName]:
        try:
            return [x509.IPAddress(ipaddress.ip_address(self.host)), x509.DNSName("localhost")]
        except ValueError:
            return [x509.DNSName(self.host)]
