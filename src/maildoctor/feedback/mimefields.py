"""The fields of a machine-readable report part (message/feedback-report, message/delivery-status)
that a sender wrote with a Content-Transfer-Encoding. The email package parses such a part's
body as header fields without decoding it first, so base64 or quoted-printable fields read as
nothing (a DMARC failure report then looked like an abuse complaint)."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import quopri
import re
from email.message import Message


def transfer_decoded(part: Message) -> Message | None:
    """The part's fields decoded and parsed, or None when the part is not transfer-encoded."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding not in ("base64", "quoted-printable"):
        return None
    payload = part.get_payload()
    if isinstance(payload, list):  # parsed already as (meaningless) fields: take the text back
        body = "".join(p.as_string() if isinstance(p, Message) else str(p) for p in payload)
    else:
        body = payload if isinstance(payload, str) else ""
    try:
        data = base64.b64decode(re.sub(r"\s+", "", body)) if encoding == "base64" else quopri.decodestring(body.encode("ascii", "replace"))
    except (binascii.Error, ValueError):
        return None
    return email.message_from_bytes(data.lstrip(b"\r\n"), policy=email.policy.compat32)
