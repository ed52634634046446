"""Messages signed in the tests with dkimpy, keys made here and served by the test DNS server."""

from __future__ import annotations

import base64
from email.utils import formatdate

import dkim
from cryptography.hazmat.primitives import serialization

from tests.keys import ed25519_key, rsa_key

HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID"]


def rsa_pem() -> bytes:
    return rsa_key(2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def ed25519_seed() -> bytes:
    raw = ed25519_key().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw)


def message(
    from_addr: str = "alice@signed.test", subject: str = "Our meeting", body: str = "Hello Bob,\r\n\r\nsee you at ten.\r\n", extra: str = ""
) -> bytes:
    return (
        f"From: Alice <{from_addr}>\r\nTo: bob@example.net\r\nSubject: {subject}\r\nDate: {formatdate()}\r\n"
        f"Message-ID: <{abs(hash(subject + from_addr))}@{from_addr.split('@')[1]}>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def sign(raw: bytes, domain: str = "signed.test", selector: str = "rsa", ed25519: bool = False, **options: object) -> bytes:
    key = ed25519_seed() if ed25519 else rsa_pem()
    algorithm = b"ed25519-sha256" if ed25519 else b"rsa-sha256"
    header = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        key,
        include_headers=options.pop("include_headers", HEADERS),  # type: ignore[arg-type]
        signature_algorithm=algorithm,
        canonicalize=(b"relaxed", b"relaxed"),
        **options,
    )  # type: ignore[arg-type]
    return header + raw


def arc_forward(
    raw: bytes, forwarder: str = "forwarder.test", selector: str = "arc", dkim_result: str = "pass", signed_domain: str = "signed.test"
) -> bytes:
    """What a mailing list does: record the authentication it saw, change the body, then ARC-seal."""
    results = (
        f"Authentication-Results: {forwarder}; dkim={dkim_result} header.d={signed_domain}; spf=pass smtp.mailfrom={signed_domain}\r\n"
    )
    changed = results.encode() + raw.rstrip(b"\r\n") + b"\r\n-- \r\nSent through the list\r\n"
    headers = dkim.arc_sign(changed, selector.encode(), forwarder.encode(), rsa_pem(), forwarder.encode())
    return b"".join(headers) + changed
