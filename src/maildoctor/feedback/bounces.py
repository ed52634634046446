"""Bounces and complaints: delivery status notifications (RFC 3464), what real MTAs send instead,
and ARF complaint reports (RFC 5965), each turned into recipient, status, reason and hard/soft.
Pure; never raises on a message."""
from __future__ import annotations

import email
import email.policy
import json
import re
from dataclasses import dataclass
from email.message import Message
from functools import cache
from importlib import resources

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
_ADDRESS = re.compile(r"<?([A-Za-z0-9._%+=/'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")


@dataclass
class Bounce:
    recipient: str
    reason: str  # Sisimai's reason names: userunknown, mailboxfull, blocked, ..., feedback, vacation, delivered
    kind: str  # hard, soft, n/a
    status: str = ""  # enhanced status code
    reply_code: str = ""
    diagnostic: str = ""
    feedback_type: str = ""  # for ARF complaints: abuse, fraud, ...

    def to_json(self) -> dict[str, str]:
        return {"recipient": self.recipient, "reason": self.reason, "kind": self.kind, "status": self.status,
                "reply_code": self.reply_code, "diagnostic": self.diagnostic, "feedback_type": self.feedback_type}


@cache
def _rules() -> tuple[list[tuple[str, list[re.Pattern[str]]]], dict[str, str], set[str]]:
    data = json.loads(resources.files("maildoctor.data").joinpath("bounce_reasons.json").read_text("utf-8"))
    text = [(reason, [re.compile(p, re.IGNORECASE) for p in patterns]) for reason, patterns in data["text"]]
    return text, data["status"], set(data["hard"])


_AFTER_DATA = re.compile(r"(in reply to|after) (end of )?data|after end of data|data command|^>>> ?data\b",
                         re.IGNORECASE | re.MULTILINE)
_PIPELINED_RCPT = re.compile(r"503[ -].*(rcpt|recipient)", re.IGNORECASE)  # the 550 answered RCPT, sent ahead of DATA
_AFTER_MAIL_FROM = re.compile(r"(in reply to|after) mail from", re.IGNORECASE)


def reason_for(text: str, status: str, context: str = "") -> str:
    """The reason the text names; an unknown recipient refused only after DATA counts as 'filtered'
    (a content filter refused it), a refusal at MAIL FROM as 'rejected' (the sender was refused)."""
    rules, by_status, _ = _rules()
    for reason, patterns in rules:
        if any(p.search(text) for p in patterns):
            stage = text + "\n" + context  # the SMTP stage is often said beside the answer, not in it
            if reason == "userunknown" and _AFTER_DATA.search(stage) and not _PIPELINED_RCPT.search(stage):
                return "filtered"
            if reason in ("userunknown", "hostunknown") and _AFTER_MAIL_FROM.search(stage):
                return "rejected"
            return reason
    if _AFTER_MAIL_FROM.search(text + "\n" + context):
        return "rejected"  # refused at MAIL FROM, for no reason given: the sender was refused
    if status:
        _, subject, detail = status.split(".")
        return by_status.get(f"x.{subject}.{detail}", "undefined")
    return "undefined"


def kind_of(reason: str, status: str) -> str:
    if reason in ("feedback", "vacation", "delivered"):
        return "n/a"
    return "hard" if reason in _rules()[2] else "soft"


def _fields(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(block) for block in re.split(r"\r?\n\r?\n", text) if block.strip()]


def _value(block: Message, name: str) -> str:
    value = block.get(name, "") or ""
    return " ".join(str(value).split())


def _text_of(message: Message) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html") and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break  # the returned message: its text is not the error
    return "\n".join(texts)


def classify(data: bytes) -> list[Bounce]:
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001
        return []
    parts = list(message.walk())
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if feedback is not None:
        return _complaint(message, feedback, parts)
    if _looks_like_complaint(message, parts):  # older complaint formats (Hotmail JMRP, abuse desks) without ARF
        return _complaint(message, Message(), parts)
    status_part = next((p for p in parts if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")), None)
    text = _text_of(message)
    if status_part is not None:
        found = _from_dsn(status_part, text)
        if found:
            return found
    return _from_text(message, text)


def _looks_like_complaint(message: Message, parts: list[Message]) -> bool:
    subject, sender = _value(message, "Subject").lower(), _value(message, "From").lower()
    attached = any(p.get_content_type() == "message/rfc822" for p in parts)
    return attached and ("complaint" in subject or sender.startswith(("abuse@", "<abuse@")) or "abuse report" in subject)


def _complaint(message: Message, feedback: Message, parts: list[Message]) -> list[Bounce]:
    blocks = _fields(feedback) if feedback.get_payload() else []
    fields = blocks[0] if blocks else Message()
    kind = _value(fields, "Feedback-Type").lower() or "abuse"
    if kind == "auth-failure":
        return []  # a DMARC failure report (feedback.failure): nobody complained
    recipient = _value(fields, "Original-Rcpt-To")
    if not recipient:
        original = next((p for p in parts if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None)
        if original is not None:
            inner = original.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else (
                email.message_from_string(inner) if isinstance(inner, str) else None)
            if isinstance(inner_msg, Message):
                recipient = _value(inner_msg, "To")
    match = _ADDRESS.search(recipient)
    return [Bounce(match.group(1).lower() if match else "", "feedback", "n/a", feedback_type=kind)]


def _from_dsn(status_part: Message, text: str) -> list[Bounce]:
    found = []
    for block in _fields(status_part):  # the per-message block has no recipient and is passed over
        recipient = _value(block, "Final-Recipient") or _value(block, "Original-Recipient")
        if not recipient:
            continue
        address = recipient.split(";", 1)[-1].strip().strip("<>")
        action = _value(block, "Action").lower()
        status = _value(block, "Status")
        diagnostic = _value(block, "Diagnostic-Code").split(";", 1)[-1].strip()
        status_match = _STATUS.search(diagnostic) or _STATUS.search(status)
        status = status_match.group(0) if status_match else status
        reply = _REPLY.search(diagnostic)
        if action in ("delivered", "relayed", "expanded"):
            reason = "delivered"
        else:
            near = _near(text, address)
            stage = _near(text, address, 1500)
            reason = reason_for(diagnostic or near or text, status, stage)
            if reason == "undefined" and diagnostic:
                reason = reason_for(near or text, status, stage)
            if reason == "undefined" and action == "delayed":
                reason = "expired"
        found.append(Bounce(address.lower(), reason, kind_of(reason, status), status, reply.group(1) if reply else "",
                            diagnostic[:500]))
    return found


def _near(text: str, address: str, size: int = 600) -> str:
    """The lines of a human-readable bounce after the address: where MTAs put the server's answer."""
    position = text.lower().find(address.lower())
    return text[position:position + size] if position >= 0 else ""


def _from_text(message: Message, text: str) -> list[Bounce]:
    subject = _value(message, "Subject").lower()
    if not any(w in subject for w in ("undeliver", "deliver", "failure", "returned", "bounce", "not delivered", "rejected",
                                      "mail system error", "out of office", "auto", "abwesen", "vacation", "error")) \
            and "mailer-daemon" not in _value(message, "From").lower() and "postmaster" not in _value(message, "From").lower():
        return []
    failed = _value(message, "X-Failed-Recipients")
    addresses = [a.lower() for a in _ADDRESS.findall(failed)] or []
    if not addresses:
        own = {a.lower() for a in _ADDRESS.findall(_value(message, "To") + " " + _value(message, "From"))}
        addresses = [a.lower() for a in dict.fromkeys(_ADDRESS.findall(text)) if a.lower() not in own][:1]
    found = []
    for address in addresses:
        if address.endswith("@googlegroups.com"):  # Google Groups refuses posts in any language: the sender may not post
            found.append(Bounce(address, "rejected", "soft", "", "", " ".join(text.split())[:300]))
            continue
        around = _near(text, address) or text
        status_match = _STATUS.search(around) or _STATUS.search(text)
        reply = _REPLY.search(around)
        status = status_match.group(0) if status_match else ""
        stage = _near(text, address, 1500) or text
        reason = reason_for(around + "\n" + subject, status, stage)
        if reason == "undefined" and around is not text:
            reason = reason_for(text, status, stage)
        found.append(Bounce(address, reason, kind_of(reason, ""), status_match.group(0) if status_match else "",
                            reply.group(1) if reply else "", " ".join(around.split())[:500]))
    return found
