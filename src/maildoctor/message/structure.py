"""The headers and the structure of a message: what receivers' filters hold against it. Pure."""

from __future__ import annotations

import email.header
import email.utils
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.findings import Finding, catalog_finding, make_finding
from maildoctor.message.parse import ParsedMessage, address_domain, addresses

LARGE_MESSAGE = 10 * 1024 * 1024
LITTLE_TEXT = 200  # characters of visible text below which an image-heavy mail counts as image-only
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_URLISH = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:[/:?#]\S*)?$", re.IGNORECASE)
BULK_HEADERS = (
    "list-id",
    "list-unsubscribe",
    "feedback-id",
    "x-campaign",
    "x-mailchimp-campaign",
    "x-mc-user",
    "x-sg-eid",
    "x-mailgun-tag",
    "x-ses-outgoing",
    "x-csa-complaints",
    "x-campaignid",
)


@cache
def content_data() -> dict[str, list[str]]:
    return json.loads(resources.files("maildoctor.data").joinpath("message_content.json").read_text("utf-8"))


def looks_like_bulk(message: ParsedMessage) -> bool:
    names = {n.lower() for n, _ in message.headers}
    precedence = (message.first("Precedence") or "").lower()
    return bool(names & set(BULK_HEADERS)) or precedence in ("bulk", "list") or "unsubscribe" in (message.text + message.html_text).lower()


def is_excerpt(message: ParsedMessage) -> bool:
    """A few headers pasted without the rest: missing headers prove nothing then."""
    return not message.has_body and not message.all("Received")


def header_findings(message: ParsedMessage) -> list[Finding]:
    findings: list[Finding] = []
    excerpt = is_excerpt(message)
    message_ids = message.all("Message-ID")
    if message_ids and not _MESSAGE_ID.match(message_ids[0].strip()) or not message_ids and not excerpt:
        findings.append(
            make_finding(
                "msg.no_message_id",
                "The Message-ID is missing" if not message_ids else "The Message-ID is malformed",
                "RFC 5322 asks every message to carry a unique Message-ID like <unique@your.domain>; filters count a"
                " missing or malformed one as a sign of bulk or hand-made spam software."
                + (f" It is '{message_ids[0]}'." if message_ids else ""),
                evidence=[f"Message-ID: {m}" for m in message_ids],
                fix="Let the sending MTA add one (Postfix and Exim do for mail submitted without), or have the application"
                " generate <random@your.domain>.",
            )
        )
    dates = message.all("Date")
    date_ok = bool(dates)
    if dates:
        try:
            date_ok = email.utils.parsedate_to_datetime(dates[0]) is not None
        except (TypeError, ValueError, IndexError):
            date_ok = False
    if dates and not date_ok or not dates and not excerpt:
        findings.append(
            make_finding(
                "msg.no_date",
                "The Date header is missing" if not dates else "The Date header is malformed",
                "Every message must carry a Date in RFC 5322 format (e.g. 'Mon, 21 Oct 2013 15:10:29 +0200'); a missing"
                " or unreadable date is a classic spam marker." + (f" It is '{dates[0]}'." if dates else ""),
                evidence=[f"Date: {d}" for d in dates],
                fix="Let the MTA or the mail library set the Date header.",
            )
        )
    froms = message.all("From")
    parsed = addresses(froms[0]) if len(froms) == 1 else []
    problem = (
        "there is no From header"
        if not froms
        else f"there are {len(froms)} From headers"
        if len(froms) > 1
        else f"it holds {len(parsed)} addresses"
        if len(parsed) > 1
        else f"'{froms[0]}' is not a valid address"
        if not parsed or not address_domain(parsed[0][1])
        else ""
    )
    if problem and not (excerpt and not froms):
        findings.append(
            catalog_finding(
                "msg.bad_from",
                f"The From header must hold exactly one address with a domain: {problem}. DMARC cannot be evaluated"
                " without it, and Gmail rejects such mail.",
                evidence=[f"From: {f}" for f in froms],
                fix="Send with exactly one From: Name <local@your.domain>.",
            )
        )
    return findings


def unsubscribe_findings(message: ParsedMessage) -> list[Finding]:
    if not looks_like_bulk(message) and not message.all("List-Unsubscribe"):
        return []
    unsubscribe = message.first("List-Unsubscribe")
    if not unsubscribe:
        return [
            catalog_finding(
                "msg.no_unsubscribe",
                "This message looks like a newsletter or campaign (list or ESP headers, or an unsubscribe link), but"
                " has no List-Unsubscribe header. Since February 2024 Gmail and Yahoo require it, with one-click"
                " unsubscribe, from bulk senders; without it recipients press 'Report spam' instead.",
                fix="Add both headers:\n  List-Unsubscribe: <https://your.domain/unsubscribe?u=TOKEN>, <mailto:unsubscribe@your.domain?subject=TOKEN>\n"
                "  List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            )
        ]
    uris = re.findall(r"<([^>]+)>", unsubscribe)
    post = (message.first("List-Unsubscribe-Post") or "").replace(" ", "").lower()
    https = [u for u in uris if u.lower().startswith("https://")]
    if post == "list-unsubscribe=one-click" and https:
        return []
    missing = []
    if post != "list-unsubscribe=one-click":
        missing.append("there is no 'List-Unsubscribe-Post: List-Unsubscribe=One-Click' header")
    if not https:
        missing.append("List-Unsubscribe has no https URI to POST to")
    return [
        catalog_finding(
            "msg.no_one_click",
            f"{' and '.join(missing).capitalize()}. Gmail and Yahoo require one-click unsubscribe from bulk senders;"
            " without it their unsubscribe button cannot work and complaints rise.",
            evidence=[f"List-Unsubscribe: {unsubscribe}"] + [f"List-Unsubscribe-Post: {p}" for p in message.all("List-Unsubscribe-Post")],
            fix="Add an https URI that unsubscribes on a POST without further questions, and the header:\n"
            "  List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        )
    ]


def body_findings(message: ParsedMessage) -> list[Finding]:
    if not message.has_body:
        return []
    findings = []
    data = content_data()
    types = [p.content_type for p in message.parts]
    if message.html and not message.text.strip():
        findings.append(
            catalog_finding(
                "msg.html_only",
                "The message has an HTML part but no text/plain alternative. Spam filters score HTML-only mail higher,"
                " and text-only readers see nothing useful.",
                evidence=[f"MIME parts: {', '.join(types)}"],
                fix="Send multipart/alternative with a text/plain version of the content.",
            )
        )
    visible = len(message.html_text) if message.html else len(message.text)
    if message.images and visible < LITTLE_TEXT and not message.text.strip():
        findings.append(
            catalog_finding(
                "msg.image_only",
                f"The HTML shows {message.images} image(s) and only {visible} characters of text. Spammers hide"
                " their text in images, so filters distrust mail that does this.",
                evidence=[f"visible text: {message.html_text[:120]!r}"],
                fix="Put the message in real text; use images as illustration only.",
            )
        )
    if message.size > LARGE_MESSAGE:
        findings.append(
            make_finding(
                "msg.too_large",
                f"The message is {message.size / 1024 / 1024:.1f} MB",
                "Large messages are rejected by some receivers (many limit at 10–25 MB) and are slow to scan.",
                evidence=[f"{p.content_type} {p.filename} {p.size} bytes" for p in message.parts if p.size > 100_000],
                fix="Link to large files instead of attaching them.",
            )
        )
    risky = [p.filename for p in message.parts if p.filename and p.filename.rsplit(".", 1)[-1].lower() in data["risky_extensions"]]
    if risky:
        findings.append(
            make_finding(
                "msg.risky_attachment",
                f"Attachment types that filters block: {', '.join(risky)}",
                "Executables, scripts, disk images, macro documents and HTML/SVG attachments carry malware so often"
                " that Gmail and Microsoft block or quarantine them.",
                evidence=[f"attachment: {f}" for f in risky],
                fix="Share such files by link, or send a plain PDF.",
            )
        )
    links = message_links(message)
    mismatched = [f"'{link.text}' -> {link.href}" for link in links if link.shows_other_domain]
    shortened = [link.href for link in links if link.shortener]
    if mismatched:
        findings.append(
            catalog_finding(
                "msg.link_mismatch",
                "The visible text of a link names a domain, but the link goes elsewhere — the signature of phishing."
                " Click-tracking by your mailing service causes this too when the text is a URL.",
                evidence=mismatched[:10],
                fix="Use link texts that are words, not URLs, or make the URL shown the one linked.",
            )
        )
    if shortened:
        findings.append(
            catalog_finding(
                "msg.url_shortener",
                "Public shorteners hide the destination and are heavily used by spammers; blocklists such as SURBL"
                " and Spamhaus DBL list their domains when abused, and filters score them.",
                evidence=list(dict.fromkeys(shortened))[:10],
                fix="Link to the destination directly (or through your own tracking domain).",
            )
        )
    return findings


def subject_findings(message: ParsedMessage) -> list[Finding]:
    subject = message.first("Subject")
    if not subject:
        return []
    try:
        subject = str(email.header.make_header(email.header.decode_header(subject)))
    except Exception:  # noqa: BLE001  (undecodable encoded words: judge the raw text)
        pass
    letters = [c for c in subject if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    specials = sum(1 for c in subject if c in "!?$€£%*#@")
    reasons = []
    if len(letters) >= 8 and upper / len(letters) > 0.6:
        reasons.append(f"{upper} of its {len(letters)} letters are capitals")
    if re.search(r"[!?$€£%*]{3,}", subject) or specials >= 5:
        reasons.append("it is full of punctuation or currency signs")
    if not reasons:
        return []
    return [
        catalog_finding(
            "msg.subject_shouting",
            f"The subject '{subject}': {' and '.join(reasons)}. Filters score such subjects as spam.",
            evidence=[f"Subject: {subject}"],
            fix="Write the subject in sentence case, without runs of !, ? or $.",
        )
    ]


def phrase_findings(message: ParsedMessage) -> list[Finding]:
    text = " ".join([message.first("Subject") or "", message.text, message.html_text]).lower()
    found = [p for p in content_data()["spammy_phrases"] if p in text]
    if not found:
        return []
    return [
        make_finding(
            "content.spammy_phrases",
            f"Phrases typical of spam: {', '.join(found[:6])}",
            "Content filters (SpamAssassin, rspamd, Microsoft) weigh phrases like these; each alone is small, together"
            " they tip a message into spam.",
            evidence=[f"'{p}'" for p in found],
            fix="Rephrase plainly.",
        )
    ]


MAX_LINKS = 50


@dataclass(frozen=True)
class MessageLink:
    href: str
    domain: str  # the host the link goes to
    text: str  # what the reader sees (HTML anchors)
    shows_other_domain: bool  # the text names a domain other than the one the link goes to
    shortener: bool  # the link goes through a public URL shortener


def message_links(message: ParsedMessage) -> list[MessageLink]:
    """Every web link of the message (HTML anchors, then URLs in the text), once each: its domain,
    whether its visible text names another domain, whether it goes through a public shortener."""
    data = content_data()
    found: dict[str, MessageLink] = {}
    candidates = [(link.href, link.text) for link in message.links] + [
        (url, "") for url in re.findall(r"https?://[^\s<>\"')]+", message.text)
    ]
    for href, text in candidates:
        host = (urlsplit(href).hostname or "").lower() if href.lower().startswith(("http://", "https://")) else ""
        if not host or href in found:
            continue
        shown = _URLISH.match(text.strip())
        found[href] = MessageLink(
            href=href,
            domain=host,
            text=text.strip()[:200],
            shows_other_domain=bool(shown and organizational_domain(shown.group(1).lower()) != organizational_domain(host)),
            shortener=host.removeprefix("www.") in data["url_shorteners"],
        )
        if len(found) >= MAX_LINKS:
            break
    return list(found.values())


def structure_findings(message: ParsedMessage) -> list[Finding]:
    return (
        header_findings(message)
        + unsubscribe_findings(message)
        + body_findings(message)
        + subject_findings(message)
        + phrase_findings(message)
    )
