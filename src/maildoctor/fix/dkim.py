"""A DKIM key pair for a domain and selector: the private key (PEM), the public key record split
into 255-byte strings, the lines OpenDKIM, rspamd and Postfix need to sign with it, and, when the
domain already publishes keys, the plan to rotate to the new one."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

KEY_TYPES = ("rsa", "ed25519")
MIN_RSA_BITS = 2048  # RFC 8301 allows 1024; receivers (Gmail, Yahoo) ask for 2048


@dataclass
class DkimKeyPair:
    domain: str
    selector: str
    key_type: str
    bits: int
    private_pem: bytes
    public: str  # p=, base64

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def record(self) -> str:
        return f"v=DKIM1; k={self.key_type}; p={self.public}"

    def opendkim(self, key_path: str) -> list[str]:
        """KeyTable and SigningTable lines (opendkim.conf: KeyTable file:/etc/opendkim/KeyTable,
        SigningTable refile:/etc/opendkim/SigningTable)."""
        return [
            f"KeyTable:     {self.record_name} {self.domain}:{self.selector}:{key_path}",
            f"SigningTable: *@{self.domain} {self.record_name}",
        ]

    def rspamd(self, key_path: str) -> str:
        return (
            "# /etc/rspamd/local.d/dkim_signing.conf\n"
            "domain {\n"
            f"  {self.domain} {{\n"
            f'    selectors [ {{ path: "{key_path}"; selector: "{self.selector}"; }} ];\n'
            "  }\n"
            "}\n"
        )


POSTFIX_MILTER = [
    "smtpd_milters = inet:127.0.0.1:8891",
    "non_smtpd_milters = $smtpd_milters",
    "milter_default_action = accept",
]


def generate(domain: str, selector: str, key_type: str = "rsa", bits: int = MIN_RSA_BITS) -> DkimKeyPair:
    if key_type not in KEY_TYPES:
        raise ValueError(f"--type is one of {', '.join(KEY_TYPES)}")
    if not selector or not all(part.replace("-", "").isalnum() for part in selector.split(".")):
        raise ValueError(f"{selector!r} is not a selector: letters, digits and hyphens, in dot-separated labels")
    pkcs8 = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if key_type == "rsa":
        if bits < MIN_RSA_BITS or bits > 4096:
            raise ValueError(f"--bits {bits}: give {MIN_RSA_BITS} to 4096 (receivers refuse shorter keys; longer ones do not fit DNS well)")
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return DkimKeyPair(domain, selector, "rsa", bits, key.private_bytes(*pkcs8), base64.b64encode(der).decode())
    seed = ed25519.Ed25519PrivateKey.generate()
    raw = seed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return DkimKeyPair(domain, selector, "ed25519", 256, seed.private_bytes(*pkcs8), base64.b64encode(raw).decode())


@dataclass
class RotationStep:
    when: datetime.date
    what: str


@dataclass
class Rotation:
    old_selectors: list[str]
    steps: list[RotationStep] = field(default_factory=list)


def rotation_plan(pair: DkimKeyPair, published: list[str], start: datetime.date, ttl: int = 3600) -> Rotation | None:
    """From the keys the domain publishes to the new one, without a message failing on the way:
    the new key is in DNS before anything is signed with it; the old ones stay until mail
    signed with them has been delivered and read."""
    old = [s for s in published if s != pair.selector]
    if not old:
        return None
    wait = max(2, (2 * ttl) // 86400 + 1)
    names = ", ".join(old)
    return Rotation(
        old,
        [
            RotationStep(start, f"publish {pair.record_name} (the record above); keep signing with {names}"),
            RotationStep(
                start + datetime.timedelta(days=wait),
                f"check that the new key is seen (maildoctor dkim {pair.domain} -s {pair.selector}), then sign with {pair.selector}",
            ),
            RotationStep(
                start + datetime.timedelta(days=wait + 7),
                f"revoke the old key{'s' if len(old) > 1 else ''} ({names}): publish {'them' if len(old) > 1 else 'it'} with an empty p=",
            ),
            RotationStep(
                start + datetime.timedelta(days=wait + 30), f"remove the old record{'s' if len(old) > 1 else ''} ({names}) from DNS"
            ),
        ],
    )
