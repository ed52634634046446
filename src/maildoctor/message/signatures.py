"""DKIM signatures and the ARC chain of a message, verified with dkimpy; keys are fetched through
the project's resolver first (dkimpy asks a synchronous function, which then reads them from
memory), so --nameserver, --zone and the test server work, and each cause of failure is told apart."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache

import dkim

from maildoctor.dns.answer import Answer, Resolver, ask_all
from maildoctor.records.dkim import parse_dkim_key
from maildoctor.records.taglist import split_tags

SIGNATURE_HEADERS = ("dkim-signature", "arc-message-signature", "arc-seal")


@dataclass
class SignatureCheck:
    index: int
    domain: str
    selector: str
    algorithm: str
    signed_headers: list[str]
    result: str = "fail"  # pass, fail, unverified (no body), temperror, permerror
    cause: str = ""  # key_missing, key_malformed, key_revoked, body_changed, headers_changed, expired, sha1, malformed
    detail: str = ""
    body_length: str = ""  # the l= tag
    key_answer: Answer | None = None
    key_text: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def from_signed(self) -> bool:
        return "from" in self.signed_headers

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "d": self.domain,
            "s": self.selector,
            "a": self.algorithm,
            "h": self.signed_headers,
            "l": self.body_length or None,
            "result": self.result,
            "cause": self.cause,
            "detail": self.detail,
            "key": self.key_name,
        }


@lru_cache(maxsize=4096)
def _signature_tags(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        {
            t.name: re.sub(r"\s+", "", t.value) if t.name in ("b", "bh", "h") else t.value.strip() for t in split_tags(value) if t.name
        }.items()
    )


def signature_tags(value: str) -> dict[str, str]:
    """The tags of a DKIM-Signature or ARC header (b, bh and h without folding whitespace)."""
    return dict(_signature_tags(value))


def _key_text(answer: Answer) -> str:
    texts = answer.texts() if answer.ok else []
    keys = [t for t in texts if "p=" in t or t.lower().lstrip().startswith("v=dkim1")]
    return keys[0] if keys else ""


async def fetch_keys(resolver: Resolver, headers: list[tuple[str, str]]) -> dict[str, Answer]:
    """The TXT answers at s._domainkey.d for every DKIM/ARC signature of the message."""
    names = []
    for name, value in headers:
        if name.lower() in SIGNATURE_HEADERS:
            tags = signature_tags(value)
            if tags.get("s") and tags.get("d"):
                names.append(f"{tags['s']}._domainkey.{tags['d']}".lower().rstrip("."))
    names = list(dict.fromkeys(names))
    answers = await ask_all(resolver, [(n, "TXT") for n in names])
    return dict(zip(names, answers))


def _dnsfunc(keys: dict[str, Answer]):  # noqa: ANN202
    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        answer = keys.get(name.decode("ascii", "replace").rstrip(".").lower())
        text = _key_text(answer) if answer is not None else ""
        return text.encode("utf-8", "surrogateescape") if text else None

    return lookup


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.messages.append(record.getMessage())


def _logger() -> tuple[logging.Logger, _Collect]:
    logger = logging.Logger("maildoctor.dkim")
    handler = _Collect()
    logger.addHandler(handler)
    return logger, handler


def check_signatures(raw: bytes, headers: list[tuple[str, str]], keys: dict[str, Answer], has_body: bool) -> list[SignatureCheck]:
    signatures = [v for n, v in headers if n.lower() == "dkim-signature"]
    checks = []
    for index, value in enumerate(signatures):
        tags = signature_tags(value)
        check = SignatureCheck(
            index=index,
            domain=tags.get("d", "").lower().rstrip("."),
            selector=tags.get("s", "").lower(),
            algorithm=tags.get("a", "").lower(),
            signed_headers=[h.strip().lower() for h in tags.get("h", "").split(":") if h.strip()],
            body_length=tags.get("l", ""),
            tags=tags,
        )
        checks.append(check)
        missing = [t for t in ("v", "a", "b", "bh", "d", "h", "s") if t not in tags]
        if missing:
            check.result, check.cause = "permerror", "malformed"
            check.detail = f"the signature lacks {', '.join(t + '=' for t in missing)} (RFC 6376 §3.5)"
            continue
        answer = keys.get(check.key_name)
        check.key_answer = answer
        if answer is None or answer.outcome.is_temporary:
            check.result, check.cause = "temperror", "key_unavailable"
            check.detail = f"the key at {check.key_name} could not be fetched ({answer.outcome.value if answer else 'not asked'})"
            continue
        check.key_text = _key_text(answer)
        if not check.key_text:
            check.result, check.cause = "permerror", "key_missing"
            check.detail = (
                f"there is no key at {check.key_name} ("
                + (answer.outcome.value.upper() if not answer.ok else "TXT records, none of them a DKIM key")
                + ")"
            )
            continue
        record = parse_dkim_key(check.key_text)
        if record.revoked:
            check.result, check.cause = "permerror", "key_revoked"
            check.detail = f"the key at {check.key_name} is revoked (empty p=)"
            continue
        if record.problems and any(
            p.check_id in ("dkim.record_escaped", "dkim.record_malformed", "dkim.bad_key", "dkim.unknown_key_type") for p in record.problems
        ):
            check.result, check.cause = "permerror", "key_malformed"
            check.detail = f"the key record at {check.key_name} does not parse: " + "; ".join(p.describe() for p in record.problems[:3])
            continue
        expiry = tags.get("x", "")
        if expiry.isdigit() and int(expiry) < time.time():
            check.result, check.cause = "fail", "expired"
            check.detail = f"the signature expired (x={expiry}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(int(expiry)))})"
            continue
        if check.algorithm == "rsa-sha1":
            check.result, check.cause = "fail", "sha1"
            check.detail = "the signature uses rsa-sha1, which verifiers must no longer accept (RFC 8301)"
            continue
        if not has_body:
            check.result, check.cause = "unverified", "no_body"
            check.detail = (
                "only the headers were given: the key and the signature's tags were checked, but the"
                " signature itself covers the body and cannot be verified without it"
            )
            continue
        _verify(raw, index, keys, check)
    return checks


def _verify(raw: bytes, index: int, keys: dict[str, Answer], check: SignatureCheck) -> None:
    logger, collected = _logger()
    try:
        verifier = dkim.DKIM(raw, logger=logger, minkey=1024)
        valid = verifier.verify(idx=index, dnsfunc=_dnsfunc(keys))
    except dkim.ValidationError as exc:
        text = str(exc)
        if "body hash mismatch" in text:
            check.result, check.cause = "fail", "body_changed"
            check.detail = (
                "the body hash does not match: the body was changed after signing (a footer or"
                " disclaimer added, a mailing list or forwarder rewrote it, line endings or encoding changed)"
            )
        elif "x= value is past" in text:
            check.result, check.cause, check.detail = "fail", "expired", "the signature expired (x= is past)"
        else:
            check.result, check.cause, check.detail = "permerror", "malformed", f"the signature does not validate: {text}"
        return
    except dkim.KeyFormatError as exc:
        check.result, check.cause, check.detail = "permerror", "key_malformed", f"the key is not usable: {exc}"
        return
    except (dkim.DKIMException, ValueError, IndexError, TypeError) as exc:
        check.result, check.cause, check.detail = "permerror", "malformed", f"the message or signature cannot be read: {exc}"
        return
    if valid:
        check.result, check.cause, check.detail = "pass", "", "the signature verifies"
    elif collected.messages:
        check.result, check.cause = "permerror", "key_malformed"
        check.detail = f"the key is not usable: {collected.messages[0]}"
    else:
        check.result, check.cause = "fail", "headers_changed"
        check.detail = (
            "the body is intact but the signature over the headers does not verify: a signed header"
            f" ({', '.join(check.signed_headers)}) was changed after signing, or the key does not belong to the signer"
        )


@dataclass
class ArcCheck:
    present: bool
    result: str  # pass, fail, none
    reason: str = ""
    instances: int = 0

    def to_json(self) -> dict[str, object]:
        return {"present": self.present, "result": self.result, "reason": self.reason, "instances": self.instances}


def check_arc(raw: bytes, headers: list[tuple[str, str]], keys: dict[str, Answer], has_body: bool) -> ArcCheck:
    seals = [v for n, v in headers if n.lower() == "arc-seal"]
    if not seals:
        return ArcCheck(False, "none")
    if not has_body:
        return ArcCheck(True, "none", "only headers were given: the ARC chain covers the body", len(seals))
    logger, collected = _logger()
    try:
        result, _, reason = dkim.arc_verify(raw, logger=logger, dnsfunc=_dnsfunc(keys))
    except Exception as exc:  # noqa: BLE001  (dkimpy on hostile input)
        return ArcCheck(True, "fail", f"the chain cannot be read: {exc}", len(seals))
    word = result.decode() if isinstance(result, bytes) else str(result)
    text = reason.decode() if isinstance(reason, bytes) else str(reason)
    return ArcCheck(True, word.lower(), text or "; ".join(collected.messages), len(seals))
