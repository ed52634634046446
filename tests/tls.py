"""Certificates made in the tests: a test CA and server certificates, valid or broken on purpose."""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from tests.keys import rsa_key

NOW = datetime.datetime.now(datetime.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class TestCA:
    __test__ = False
    cert: x509.Certificate
    directory: Path

    @property
    def cafile(self) -> str:
        return str(self.directory / "ca.pem")

    def issue(self, names: list[str], expired: bool = False, self_signed: bool = False) -> ssl.SSLContext:
        """A server SSL context with a certificate for names (expired, or signed by itself, on request)."""
        key = rsa_key(2048)
        start, end = (
            (NOW - datetime.timedelta(days=60), NOW - datetime.timedelta(days=1))
            if expired
            else (NOW - datetime.timedelta(days=1), NOW + datetime.timedelta(days=30))
        )
        issuer = _name(names[0]) if self_signed else self.cert.subject
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key if self_signed else ca_key(), hashes.SHA256())
        )
        tag = f"{names[0]}-{int(expired)}{int(self_signed)}"
        cert_path, key_path = self.directory / f"{tag}.pem", self.directory / f"{tag}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        return context


def ca_key():  # noqa: ANN201
    return rsa_key(3072)


def make_ca(directory: Path) -> TestCA:
    key = ca_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("maildoctor test CA"))
        .issuer_name(_name("maildoctor test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TestCA(cert, directory)
