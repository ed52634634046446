"""DKIM key records (RFC 6376 §3.6.1, RFC 8463): tags, and the public key they carry."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from maildoctor.frozen import quick_init
from maildoctor.records.problems import Problem
from maildoctor.records.taglist import split_tags

KEY_TYPES = ("rsa", "ed25519")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_RSA_OID = bytes.fromhex("06092a864886f70d010101")  # rsaEncryption, inside a SubjectPublicKeyInfo


@quick_init
@dataclass(frozen=True)
class KeyInfo:
    kind: str  # "rsa" or "ed25519"
    bits: int
    encoding: str = "spki"  # how p= was encoded: SubjectPublicKeyInfo, PKCS#1, or raw (ed25519)


@dataclass
class DkimKeyRecord:
    text: str
    tags: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    key: KeyInfo | None = None

    @property
    def key_type(self) -> str:
        return self.tags.get("k", "rsa").strip().lower()

    @property
    def hashes(self) -> list[str]:
        value = self.tags.get("h")
        return [h.strip().lower() for h in value.split(":")] if value is not None else ["sha1", "sha256"]

    @property
    def flags(self) -> list[str]:
        return [f.strip().lower() for f in self.tags.get("t", "").split(":") if f.strip()]

    @property
    def public_key(self) -> str:
        return _without_whitespace(self.tags.get("p", ""))

    @property
    def revoked(self) -> bool:
        return "p" in self.tags and self.public_key == ""

    @property
    def escaped(self) -> bool:
        return any(p.check_id == "dkim.record_escaped" for p in self.problems)

    @property
    def damaged(self) -> bool:
        """Escaping or quotes broke the text: what the tags hold is not what was meant."""
        return self.escaped or '"' in self.text

    def cleaned(self) -> str:
        """The record as it was meant: literal backslashes and quotes removed, p= without spaces."""
        tags = []
        for part in self.text.replace("\\", "").replace('"', "").split(";"):
            if "=" not in part:
                continue
            name, value = part.split("=", 1)
            name, value = name.strip().lower(), value.strip()
            if name == "p":
                value = _without_whitespace(value)
            tags.append(f"{name}={value}")
        return "; ".join(tags)


def parse_dkim_key(text: str) -> DkimKeyRecord:
    record = DkimKeyRecord(text=text)
    if "\\" in text:
        record.problems.append(
            Problem(
                "dkim.record_escaped", "the record contains literal backslashes (escaped twice in the zone file)", text.index("\\"), "\\"
            )
        )
    if '"' in text:
        record.problems.append(
            Problem("dkim.record_malformed", "the record contains quote characters (quotes written inside the value)", text.index('"'), '"')
        )
    for tag in split_tags(text):
        if tag.problem:
            record.problems.append(Problem("dkim.record_malformed", tag.problem, tag.start, tag.raw))
            continue
        record.tags[tag.name] = tag.value
        if tag.name == "v" and (tag.index != 0 or tag.value != "DKIM1"):
            why = "v= must be the first tag" if tag.index != 0 else "v= must be exactly DKIM1"
            record.problems.append(Problem("dkim.record_malformed", why, tag.start, tag.raw))
    if "p" not in record.tags:
        record.problems.append(Problem("dkim.record_malformed", "no p= tag (the public key)", len(text), ""))
    elif record.key_type in KEY_TYPES and not record.revoked and not record.damaged:
        key, error = inspect_key(record.key_type, record.public_key)
        record.key = key
        if error:
            record.problems.append(Problem("dkim.bad_key", error, text.find("p="), "p=" + record.public_key[:20]))
    if record.key_type not in KEY_TYPES and not record.escaped:
        record.problems.append(
            Problem(
                "dkim.unknown_key_type",
                f"k={record.key_type} is not a key type receivers know (rsa, ed25519)",
                text.find("k="),
                "k=" + record.key_type,
            )
        )
    return record


def _without_whitespace(text: str) -> str:
    """The text with every whitespace character (str.isspace, as the regular expression \\s) taken out."""
    return "".join(text.split())


def inspect_key(kind: str, b64: str) -> tuple[KeyInfo | None, str]:
    """Decode p=: (the key's type and size, '') or (None, why it is not a usable key)."""
    try:  # the usual key: the base64 alphabet, padding only at its end, decoded in one pass
        if b64.endswith("==="):  # which strict decoding lets through after a whole quantum
            raise binascii.Error("padding")
        der = binascii.a2b_base64(b64, strict_mode=True)
    except (binascii.Error, ValueError):  # then what exactly is wrong, said as before
        if not _BASE64.match(b64):
            bad = next((c for c in b64 if not (c.isalnum() or c in "+/=")), "")
            return None, f"p= is not valid base64 (character {bad!r})"
        try:
            der = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            return None, f"p= is not valid base64 ({exc})"
    if kind == "ed25519":
        if len(der) == 32:
            ed25519.Ed25519PublicKey.from_public_bytes(der)
            return KeyInfo("ed25519", 256, "raw"), ""
        return None, f"an ed25519 key is 32 raw bytes (RFC 8463), this one is {len(der)}"
    try:  # SubjectPublicKeyInfo as RFC 6376 says, or the bare PKCS#1 key some publish (both load)
        loaded = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return None, "p= decodes, but is not a public key (truncated, or a private key or certificate?)"
    encoding = "spki" if _RSA_OID in der[:32] else "pkcs1"
    if not isinstance(loaded, rsa.RSAPublicKey):
        return None, f"p= holds a {type(loaded).__name__.replace('PublicKey', '').lstrip('_')} key, not RSA as k= says"
    return KeyInfo("rsa", loaded.key_size, encoding), ""
