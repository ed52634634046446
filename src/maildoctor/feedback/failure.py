"""DMARC failure reports (RFC 6591 AFRF, Feedback-Type: auth-failure), and the plain-text forensic
reports some MTAs send instead: which message failed, from where, and why. Pure."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass
from email.message import Message

from maildoctor.feedback.mimefields import transfer_decoded


@dataclass
class FailureReport:
    domain: str  # the domain whose policy failed
    source_ip: str
    arrival: float
    auth_failure: str  # dmarc, dkim, spf, ...
    delivery_result: str
    original_mail_from: str
    original_rcpt_to: str
    message_id: str
    subject: str  # of the failed message, when included
    header_from: str


_TEXT_FIELD = re.compile(
    r"^\s*(Sender Domain|Sender IP Address|Received date|Source IP|Reported Domain)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)


def _date(text: str) -> float:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        return parsed.timestamp() if parsed else 0.0
    except (TypeError, ValueError, IndexError):
        return 0.0


def _original(message: Message) -> Message | None:
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return email.message_from_string(payload)
    return None


def parse_failure(data: bytes) -> FailureReport | None:
    """The failure report in a message, or None when it is not one."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001
        return None
    feedback = next((p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None)
    original = _original(message)
    if feedback is not None:
        payload = feedback.get_payload()
        first = payload[0] if isinstance(payload, list) and payload else None
        fields: Message = transfer_decoded(feedback) or (
            first if isinstance(first, Message) else email.message_from_string(payload if isinstance(payload, str) else "")
        )
        if str(fields.get("Feedback-Type", "")).strip().lower() != "auth-failure":
            return None
        header_from = str((original or Message()).get("From", ""))
        domain = str(fields.get("Reported-Domain", "")).strip().lower() or _domain_of(header_from)
        return FailureReport(
            domain,
            str(fields.get("Source-IP", "")).strip(),
            _date(str(fields.get("Arrival-Date", ""))),
            str(fields.get("Auth-Failure", "")).strip().lower(),
            str(fields.get("Delivery-Result", "")).strip().lower(),
            str(fields.get("Original-Mail-From", "")).strip(),
            str(fields.get("Original-Rcpt-To", "")).strip(),
            str(fields.get("Message-ID", "") or (original or Message()).get("Message-ID", "")).strip(),
            str((original or Message()).get("Subject", "")),
            header_from,
        )
    subject = str(message.get("Subject", ""))
    if "dmarc" not in subject.lower() or not re.search(r"forensic|failure", subject, re.IGNORECASE):
        return None
    text = "\n".join(
        body.decode("utf-8", "replace")
        for p in message.walk()
        if p.get_content_type() == "text/plain" and isinstance(body := p.get_payload(decode=True), bytes)
    )
    said = {k.lower(): v for k, v in _TEXT_FIELD.findall(text)}
    domain = (said.get("sender domain") or said.get("reported domain") or "").lower()
    if not domain:
        return None
    copied = email.message_from_string(text.split("------", 1)[1].split("\n", 1)[-1].lstrip("\r\n")) if "------" in text else Message()
    return FailureReport(
        domain,
        said.get("sender ip address") or said.get("source ip") or "",
        _date(said.get("received date", "")),
        "dmarc",
        "",
        str(copied.get("Return-Path", "")),
        str(copied.get("To", "")),
        str(copied.get("Message-Id", "")),
        str(copied.get("Subject", "")),
        str(copied.get("From", "")),
    )


def _domain_of(header: str) -> str:
    address = email.utils.parseaddr(header)[1]
    return address.rpartition("@")[2].lower()
