"""Bounces and complaints: delivery status notifications (RFC 3464), what real MTAs send instead,
and ARF complaint reports (RFC 5965), each turned into recipient, status, reason and hard/soft.
Pure; never raises on a message."""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from maildoctor.feedback.bounce_reason import Answer, answers_rcpt, category_reason, kind_of, reason_of
from maildoctor.feedback.mimefields import transfer_decoded

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
_ADDRESS = re.compile(r"<?([A-Za-z0-9._%+=/'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_QUOTED_LOCAL = re.compile(r'^"([^"\\\s()<>,;:@\[\]]+)"@')


def _decode_word(match: re.Match[str]) -> str:
    try:
        return "".join(
            part.decode(charset or "ascii", "replace") if isinstance(part, bytes) else part
            for part, charset in email.header.decode_header(match.group(0))
        )
    except (email.errors.HeaderParseError, LookupError, ValueError):
        return match.group(0)


def normal_address(text: str) -> str:
    """An address as a suppression list must hold it: RFC 2047 encoded words decoded (some MTAs
    write the recipient so), an address type (rfc822;) and angle brackets taken off, a quoted
    local part that needs no quotes unquoted ("john.doe"@x is john.doe@x), lower case."""
    address = text.strip()
    if _ENCODED_WORD.search(address):
        address = _ENCODED_WORD.sub(_decode_word, address)
    if ";" in address.split("@", 1)[0]:
        address = address.split(";", 1)[1]
    address = address.strip().strip("<>").strip()
    match = _QUOTED_LOCAL.match(address)
    if match and not match.group(1).startswith(".") and ".." not in match.group(1) and not match.group(1).endswith("."):
        address = match.group(1) + address[match.end() - 1 :]
    return address.lower()


@dataclass
class Bounce:
    recipient: str
    reason: str  # Sisimai's reason names: userunknown, mailboxfull, blocked, ..., feedback, vacation, delivered
    kind: str  # hard, soft, n/a
    status: str = ""  # enhanced status code
    reply_code: str = ""
    diagnostic: str = ""
    feedback_type: str = ""  # for ARF complaints: abuse, fraud, ...

    def __post_init__(self) -> None:
        self.recipient = normal_address(self.recipient)

    def to_json(self) -> dict[str, str]:
        return {
            "recipient": self.recipient,
            "reason": self.reason,
            "kind": self.kind,
            "status": self.status,
            "reply_code": self.reply_code,
            "diagnostic": self.diagnostic,
            "feedback_type": self.feedback_type,
        }


_COMMANDS = {
    "RCPT TO": "RCPT",
    "RCPT": "RCPT",
    "MAIL FROM": "MAIL",
    "MAIL": "MAIL",
    "DATA": "DATA",
    "END OF DATA": "DATA",
    "HELO": "HELO",
    "EHLO": "EHLO",
}
_COMMAND_SAID = [
    (re.compile(p, re.IGNORECASE | re.MULTILINE), command)
    for p, command in (
        (r"in reply to (?:the )?(rcpt to|mail from|end of data|data|helo|ehlo)\b", ""),
        (r"after (?:pipelined )?(rcpt to|mail from|end of data|data|ehlo|helo|rcpt|mail)\b", ""),
        (r"\bsmtp:(rcpt|mail|data)\b", ""),
        (r"in reply to (?:the )?initial greeting|after initial connection|(?:while|when) connecting|on connect\b", "CONN"),
        (r"does not like recipient|recipient (?:was )?rejected after rcpt", "RCPT"),
        (r"sender was rejected|didn'?t like (?:the )?sender", "MAIL"),
        (
            r"failed on data command|failed after i sent the message|(?:after|in response to) (?:the )?message (?:body|content)|"
            r"body of message generated response",
            "DATA",
        ),
        (r"smtp command[\s:-]*(rcpt to|rcpt|mail from|mail|data|ehlo|helo)\b", ""),
        (r"in response to (?:the )?(rcpt to|mail from|data)\b", ""),
    )
]
_TRANSCRIPT = re.compile(r"^\s*>>> ?(rcpt to|mail from|data|ehlo|helo)\b|^\s*<<< ?[45]\d\d\b", re.IGNORECASE | re.MULTILINE)


def smtp_command(text: str) -> str:
    """The SMTP command the refusal answered, where the bounce says it: CONN EHLO HELO MAIL RCPT DATA, or ""."""
    flat = " ".join(text.split())  # MTAs wrap their lines anywhere
    for pattern, command in _COMMAND_SAID:
        found = pattern.search(flat)
        if found:
            return command or _COMMANDS[" ".join(found.group(1).upper().split())]
    last = ""
    for line in _TRANSCRIPT.finditer(text):  # a session transcript: the command sent just before the first refusal
        if line.group(1) is None:
            return last
        last = _COMMANDS[" ".join(line.group(1).upper().split())]
    return last


_HOST_SAID = re.compile(r"\bhost:? ([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\b", re.IGNORECASE)


def remote_host(remote_mta: str, text: str) -> str:
    """The receiving server's name: the DSN's Remote-MTA, or 'host NAME' in the words of the bounce."""
    name = remote_mta.partition(";")[2].strip() if ";" in remote_mta else remote_mta.strip()
    if name and not name.startswith("["):
        return name.lower()
    said = _HOST_SAID.search(text)
    return said.group(1).lower() if said else ""


def _status_of(diagnostic: str, field: str) -> str:
    """The DSN's Status, unless the server's answer carries a more precise code (5.1.1, not 5.0.0)."""
    said = next((m for m in _STATUS.finditer(diagnostic) if m.group(1) != "2"), None)  # not a transcript's 250 2.1.0 Ok
    given = _STATUS.search(field)
    if said and (given is None or given.group(0)[1:] == ".0.0" or (said.group(2) != "0" and said.group(3) != "0")):
        return said.group(0)
    return given.group(0) if given else ""


def _fields(part: Message) -> list[Message]:
    payload = part.get_payload()
    decoded = transfer_decoded(part)
    if decoded is not None:
        blocks = [decoded]
    elif isinstance(payload, list):
        blocks = [p for p in payload if isinstance(p, Message)]
    else:
        text = payload if isinstance(payload, str) else ""
        blocks = [email.message_from_string(block) for block in re.split(r"\r?\n\r?\n", text) if block.strip()]
    return [group for block in blocks for group in _per_recipient(block)]


def _per_recipient(block: Message) -> list[Message]:
    """A block split where a second recipient starts: some MTAs omit the blank line between recipients."""
    groups: list[Message] = [Message()]
    for name, value in block.items():
        if name.lower() in ("final-recipient", "original-recipient") and groups[-1].get(name) is not None:
            groups.append(Message())
        groups[-1][name] = value
    return groups


def _value(block: Message, name: str) -> str:
    value = block.get(name, "") or ""
    return " ".join(str(value).split())


def _decoded(payload: bytes, charset: str | None) -> str:
    try:
        return payload.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):  # a charset name nobody knows (or with a NUL in it)
        return payload.decode("utf-8", "replace")


def _text_of(message: Message) -> str:
    whole = message.get_payload()
    if message.get_content_maintype() == "multipart" and isinstance(whole, str):  # no usable boundary
        return whole
    texts: list[str] = []
    for part in message.walk():
        nested = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(nested, str):  # a nested part with no usable boundary
            texts.append(nested)
        elif part.get_content_type() in ("text/plain", "text/html") and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(_decoded(payload, part.get_content_charset()))
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
    if _is_auto_reply(message, parts):
        sender = _ADDRESS.search(_value(message, "From"))
        return [Bounce(sender.group(1).lower(), "vacation", "n/a", diagnostic=" ".join(_text_of(message).split())[:300])] if sender else []
    status_part = next((p for p in parts if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")), None)
    text = _text_of(message)
    inline = _INLINE_DSN.search(text) if status_part is None else None
    if inline is not None:  # the delivery status written into the text of a message whose MIME parts are broken
        status_part = Message()
        status_part.set_payload(text[inline.start() :])
    headers = {name.lower(): str(value) for name, value in message.items()}
    rcpt = "RCPT" if answers_rcpt(headers) else ""
    if status_part is not None:
        found = _from_dsn(
            status_part,
            text,
            rcpt,
            category_reason(headers.get("x-powermta-bouncecategory", "")),
            lambda: _failed_addresses(message, text, text),
        )
        if found:
            return found
    if text.lstrip().startswith("{"):
        return from_ses_notification(text)
    return _from_text(message, text, rcpt)


_SERVER_SAID = re.compile(r"(?<![\d.])[45]\d\d[- ][^\n]{8}")  # a remote server's answer, quoted in a bounce
_INLINE_DSN = re.compile(r"^(?:Reporting-MTA|Final-Recipient):", re.IGNORECASE | re.MULTILINE)
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|respons|antwort)|out of (?:the )?office|away\b|abwesen|absence|"
    r"vacation|on leave)",
    re.IGNORECASE,
)


def _is_auto_reply(message: Message, parts: list[Message]) -> bool:
    """An automatic answer (RFC 3834) from a person's mailbox: out of office, away, vacation."""
    submitted = _value(message, "Auto-Submitted").lower()
    sender, subject_text = _value(message, "From").lower(), _value(message, "Subject").lower()
    if (
        submitted.startswith("auto-generated")
        or any(p.get_content_type().endswith("delivery-status") for p in parts)
        or any(w in sender for w in ("mailer-daemon", "postmaster"))
        or any(w in subject_text for w in ("undeliver", "delivery", "failure", "returned mail", "not delivered"))
    ):
        return False  # bounces are automatic answers too
    try:
        subject = str(email.header.make_header(email.header.decode_header(_value(message, "Subject"))))
    except (LookupError, ValueError, UnicodeError, email.errors.MessageError):  # an encoded word in a charset nobody knows
        subject = _value(message, "Subject")
    return (
        submitted.startswith("auto-replied")
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or _value(message, "Precedence").lower() == "auto_reply"
        or bool(_AUTO_SUBJECT.match(subject))
    )


def from_ses_notification(text: str) -> list[Bounce]:
    """Amazon SES notifications (bounce, complaint, delivery), as mailed by SNS or sent bare."""
    decoder = json.JSONDecoder(strict=False)
    try:
        notification, _ = decoder.raw_decode(text.lstrip())  # SNS appends an unsubscribe footer
        if isinstance(notification.get("Message"), str):  # the SNS envelope
            notification, _ = decoder.raw_decode(notification["Message"])
    except (ValueError, AttributeError):
        return []
    if not isinstance(notification, dict):
        return []
    kind = str(notification.get("notificationType") or notification.get("eventType") or "").lower()
    given = notification.get(kind)
    details: dict[str, Any] = given if isinstance(given, dict) else {}
    found = []
    if kind == "bounce":
        for entry in details.get("bouncedRecipients") or []:
            diagnostic = str(entry.get("diagnosticCode") or "")
            _, _, diagnostic = diagnostic.partition(";") if ";" in diagnostic[:20] else ("", "", diagnostic)
            status = _status_of(diagnostic, str(entry.get("status") or ""))
            reply = _REPLY.search(diagnostic)
            reason = reason_of(
                Answer(
                    diagnostic.strip(),
                    status,
                    smtp_command(diagnostic),
                    reply.group(1) if reply else "",
                    str(entry.get("action") or "failed"),
                )
            )
            found.append(
                Bounce(
                    str(entry.get("emailAddress", "")).lower(),
                    reason,
                    kind_of(reason, status),
                    status,
                    reply.group(1) if reply else "",
                    diagnostic.strip()[:500],
                )
            )
    elif kind == "complaint":
        for entry in details.get("complainedRecipients") or []:
            found.append(
                Bounce(
                    str(entry.get("emailAddress", "")).lower(),
                    "feedback",
                    "n/a",
                    feedback_type=str(details.get("complaintFeedbackType") or "abuse"),
                )
            )
    elif kind == "delivery":
        for address in details.get("recipients") or []:
            found.append(Bounce(str(address).lower(), "delivered", "n/a", "2.0.0", diagnostic=str(details.get("smtpResponse", ""))[:500]))
    return [b for b in found if b.recipient]


def _looks_like_complaint(message: Message, parts: list[Message]) -> bool:
    subject, sender = _value(message, "Subject").lower(), _value(message, "From").lower()
    attached = any(p.get_content_type() == "message/rfc822" for p in parts)
    return attached and ("complaint" in subject or sender.startswith(("abuse@", "<abuse@")) or "abuse report" in subject)


def _complaint(message: Message, feedback: Message, parts: list[Message]) -> list[Bounce]:
    blocks = _fields(feedback) if feedback.get_payload() else []
    fields = blocks[0] if blocks else Message()
    kind = _value(fields, "Feedback-Type").lower() or "abuse"
    recipient = _value(fields, "Original-Rcpt-To")
    if not recipient:
        original = next((p for p in parts if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None)
        if original is not None:
            inner = original.get_payload()
            inner_msg = (
                inner[0] if isinstance(inner, list) and inner else (email.message_from_string(inner) if isinstance(inner, str) else None)
            )
            if isinstance(inner_msg, Message):
                recipient = _value(inner_msg, "To")
    named = [a.lower() for value in (fields.get_all("Original-Rcpt-To") or []) for a in _ADDRESS.findall(str(value))]
    if not named:  # RFC 5965 §3.2: one Original-Rcpt-To per recipient; without them, the returned message's To
        match = _ADDRESS.search(recipient)
        named = [match.group(1).lower() if match else ""]
    return [Bounce(address, "feedback", "n/a", feedback_type=kind) for address in dict.fromkeys(named)]


def _usable(address: str) -> str:
    """The mailbox in a recipient field: an obsolete source route (@relay:user@host, RFC 5321 §4.1.2)
    dropped, and an address found inside what is not one (a pipe command that names it); "" for none."""
    if address.startswith("@") and ":" in address:
        address = address.rpartition(":")[2]
    if re.fullmatch(r"[^@\s|/]+@[^@\s]+", address):
        return address
    inside = _ADDRESS.search(address)
    return inside.group(1).lower() if inside else ""


def _from_dsn(
    status_part: Message, text: str, default_command: str = "", category: str = "", fallback: Callable[[], list[str]] = list
) -> list[Bounce]:
    found = []
    for block in _fields(status_part):  # the per-message block has no recipient and is passed over
        recipient = _value(block, "Final-Recipient") or _value(block, "Original-Recipient")
        if not recipient:
            continue
        address = _usable(normal_address(recipient))  # before anything lowers it: encoded words are case-sensitive
        original = _usable(normal_address(_value(block, "Original-Recipient")))
        if original and normal_address(recipient).startswith("@"):  # a source route: the address as the sender wrote it
            address = original
        if not address:  # a recipient field without a mailbox in it (@host, a pipe to a program...)
            address = original or next(iter(fallback()), "")
            if not address:
                continue
        action = _value(block, "Action").lower()
        status = _value(block, "Status")
        diagnostic_field = _value(block, "Diagnostic-Code")
        kind, _, diagnostic = diagnostic_field.partition(";") if ";" in diagnostic_field[:20] else ("smtp", "", diagnostic_field)
        diagnostic = diagnostic.strip()
        near = _window(text, address.lower(), [], 600)
        stage = _window(text, address.lower(), [], 1500) or text
        status = _status_of(diagnostic or near, status)
        reply = _REPLY.search(diagnostic or near)
        if action in ("delivered", "relayed", "expanded"):
            reason = "delivered"
        elif category_of_block := category or category_reason(_value(block, "X-PowerMTA-BounceCategory")):
            reason = category_of_block  # the sending MTA classified it already
        else:
            reason = reason_of(
                Answer(
                    diagnostic or near or text,
                    status,
                    smtp_command(stage) or default_command,
                    reply.group(1) if reply else "",
                    action,
                    kind.strip().lower() in ("smtp", "") or _SERVER_SAID.search(diagnostic) is not None,
                    remote_host(_value(block, "Remote-MTA"), stage),
                )
            )
        found.append(
            Bounce(
                address,
                reason,
                kind_of(reason, status),
                status,
                reply.group(1) if reply else "",
                (diagnostic or " ".join(near.split()))[:500],
            )
        )
    return found


_SAYS_UNDELIVERED = re.compile(
    r"could not be delivered|couldn.t be delivered|undeliverable|delivery (?:has )?failed|"
    r"not be delivered|was not delivered|delivery status notification",
    re.IGNORECASE,
)
_RETURNED_COPY = re.compile(
    r"^[\s>-]*(?:-+ ?)?(?:the )?(?:header of the )?original message|below this line is a copy|"
    r"this is a copy of|^(?:received|return-path): ",
    re.IGNORECASE | re.MULTILINE,
)
_ROLE = re.compile(r"^(?:postmaster|mailer-daemon|abuse|support|help|noreply|no-reply)@", re.IGNORECASE)
_RETURNED_TO = re.compile(r"^To: *(.+)$", re.MULTILINE)
_RCPT_TO = re.compile(r"^[\s>]*RCPT TO: *<?([A-Za-z0-9._%+=/'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?", re.IGNORECASE | re.MULTILINE)
_REPLY_AT_START = re.compile(r"^[45]\d\d[- ](?:[45]\.\d{1,3}\.\d{1,3} )?")


def _failed_addresses(message: Message, report: str, text: str) -> list[str]:
    """The recipients a human-readable bounce is about: X-Failed-Recipients, or the addresses its
    report names first on a line (the layout of Exim, qmail, Zoho, GMX...), or else its first address."""
    failed = [a.lower() for a in _ADDRESS.findall(_value(message, "X-Failed-Recipients"))]
    if failed:
        return list(dict.fromkeys(failed))
    transcript = [a.lower() for a in _RCPT_TO.findall(report)]  # a quoted session: the recipients it named
    if transcript:
        return list(dict.fromkeys(transcript))
    own = {a.lower() for a in _ADDRESS.findall(_value(message, "To") + " " + _value(message, "From"))}
    everyone = [a.lower() for a in dict.fromkeys(_ADDRESS.findall(report))]
    named = [a for a in everyone if a not in own and not _ROLE.match(a)] or [a for a in everyone if a not in own] or everyone
    # an address that starts a line, after a reply code too (Sendmail: "554 <a@b>... Host unknown")
    line_starts = {_REPLY_AT_START.sub("", line.lstrip(" \t")).lstrip(" \t\"'<(").lower()[:80] for line in report.splitlines()}
    leading = [a for a in named if any(start.startswith(a) for start in line_starts)]
    if len(leading) > 1:
        return leading
    if named:
        return named[:1]
    returned = _RETURNED_TO.search(text)  # only the returned message says whom it was for
    if returned is None:
        return [a.lower() for a in _ADDRESS.findall(_returned_to(message))][:1]
    return [a.lower() for a in _ADDRESS.findall(returned.group(1))][:1]


def _returned_to(message: Message) -> str:
    """The To: of the message returned with the bounce (as a message/rfc822 or headers part)."""
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return _value(inner[0], "To")
            if isinstance(inner, str):
                return _value(email.message_from_string(inner), "To")
    return ""


def _window(text: str, address: str, others: list[str], size: int) -> str:
    """The line of the address and what follows, up to the next recipient's part ("Unknown user:
    a@b" says it before the address, "a@b: 550 ..." after it)."""
    lowered = text.lower()
    start = lowered.find(address)
    if start < 0:
        return ""
    line_start = lowered.rfind("\n", 0, start) + 1
    if start - line_start <= 120:
        start = line_start
    end = start + size
    for other in others:
        position = lowered.find(other, start + len(address))
        if other != address and position >= 0:
            end = min(end, position)
    return text[start:end]


def _from_text(message: Message, text: str, default_command: str = "") -> list[Bounce]:
    subject = _value(message, "Subject").lower()
    if (
        not any(
            w in subject
            for w in ("undeliver", "deliver", "failure", "returned", "bounce", "not delivered", "rejected", "mail system error", "error")
        )
        and "mailer-daemon" not in _value(message, "From").lower()
        and "postmaster" not in _value(message, "From").lower()
        and not _SAYS_UNDELIVERED.search(text[:2000])
        and not (_RCPT_TO.search(text[:4000]) and _SERVER_SAID.search(text[:4000]))
    ):  # a quoted session and its refusal
        return []
    copy = _RETURNED_COPY.search(text)
    report = text[: copy.start()] if copy and copy.start() > 0 else text
    addresses = _failed_addresses(message, report, text)
    found = []
    for address in addresses:
        if address.endswith("@googlegroups.com"):  # Google Groups refuses posts in any language: the sender may not post
            found.append(Bounce(address, "rejected", "soft", "", "", " ".join(text.split())[:300]))
            continue
        around = _window(report, address, addresses, 600) or _window(text, address, addresses, 600) or report
        status = _status_of(around, "") or _status_of(report, "")
        reply = _REPLY.search(around)
        stage = _window(report, address, addresses, 1500) or report
        reason = reason_of(
            Answer(around, status, smtp_command(stage) or default_command, reply.group(1) if reply else "", host=remote_host("", stage))
        )
        if reason in ("onhold", "undefined") and around is not report:  # the words are elsewhere in the report
            reason = reason_of(Answer(report[:3000], status, smtp_command(report), reply.group(1) if reply else ""))
        said = _SERVER_SAID.search(around)  # the server's own answer, when the bounce quotes it
        found.append(
            Bounce(
                address,
                reason,
                kind_of(reason, status),
                status,
                reply.group(1) if reply else "",
                " ".join(around[said.start() :].split() if said else around.split())[:500],
            )
        )
    return found
