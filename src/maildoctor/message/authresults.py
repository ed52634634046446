"""Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 §9.1) as receivers write them,
and what each result means in plain words. Pure; tolerant of the variations real receivers use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class MethodResult:
    method: str  # spf, dkim, dmarc, arc, iprev, auth, compauth, ...
    result: str  # pass, fail, softfail, neutral, none, temperror, permerror, policy, ...
    comment: str = ""  # the text in parentheses after the result
    reason: str = ""
    properties: dict[str, str] = field(default_factory=dict)  # "smtp.mailfrom" -> value


@dataclass
class AuthResults:
    header: str  # "Authentication-Results" or "Received-SPF"
    authserv_id: str
    results: list[MethodResult] = field(default_factory=list)
    raw: str = ""


def _split_top(text: str, separator: str) -> list[str]:
    """Split on separator outside quotes and parentheses (comments may nest)."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == '"' and depth == 0:
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")" and depth:
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _comments(text: str) -> tuple[str, list[str]]:
    """The text without its (comments), and the comments."""
    out, comments, depth, current = [], [], 0, []
    for char in text:
        if char == "(":
            if depth:
                current.append(char)
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth:
                current.append(char)
            else:
                comments.append("".join(current).strip())
                current = []
        elif depth:
            current.append(char)
        else:
            out.append(char)
    if current:
        comments.append("".join(current).strip())
    return "".join(out), comments


_PAIR = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


def parse_authentication_results(value: str) -> AuthResults:
    segments = _split_top(value, ";")
    head, _ = _comments(segments[0])
    words = head.split()
    if words and "=" in words[0]:  # Microsoft writes no authserv-id: the first segment is already a result
        words, results = [], segments
    else:
        results = segments[1:]
    parsed = AuthResults("Authentication-Results", words[0].lower() if words else "", raw=value)
    for segment in results:
        bare, comments = _comments(segment)
        pairs = [(k, v.strip('"')) for k, v in _PAIR.findall(bare)]
        if not pairs or pairs[0][0].lower() in ("reason",) or "." in pairs[0][0]:
            continue
        method, result = pairs[0][0].lower().split("/")[0], pairs[0][1].lower()
        entry = MethodResult(method, result, comment="; ".join(comments))
        for key, val in pairs[1:]:
            if key.lower() == "reason":
                entry.reason = val
            else:
                entry.properties[key.lower()] = val
        parsed.results.append(entry)
    return parsed


def parse_received_spf(value: str) -> AuthResults:
    bare, comments = _comments(value)
    words = bare.split()
    result = words[0].lower().rstrip(";") if words else ""
    pairs = {k.lower(): v.strip('"').rstrip(";") for k, v in _PAIR.findall(bare)}
    entry = MethodResult("spf", result, comment="; ".join(comments), properties=pairs)
    receiver = pairs.get("receiver", "")
    if not receiver and comments:
        receiver = comments[0].split(":")[0].strip() if ":" in comments[0] else ""
    return AuthResults("Received-SPF", receiver.lower(), [entry], raw=value)


SPF_WORDS = {
    "pass": "SPF passed: the sending server's address is authorized by the envelope sender's domain.",
    "fail": "SPF failed: the envelope sender's domain says this server may not send its mail (-all).",
    "softfail": "SPF soft-failed: the domain says this server is probably not allowed (~all); many receivers send such mail to spam.",
    "neutral": "SPF neutral: the domain's record neither authorizes nor forbids this server (?all) — receivers treat it as no SPF at all.",
    "none": "SPF none: the envelope sender's domain publishes no SPF record, so nothing authorizes the server.",
    "temperror": "SPF temporary error: the receiver could not read the SPF record (DNS timeout or failure).",
    "permerror": "SPF permanent error: the SPF record is broken (syntax, or more than 10 DNS lookups) and counts as no SPF.",
    "policy": "SPF policy: the receiver ignored the result by its own policy.",
}
DKIM_WORDS = {
    "pass": "DKIM passed: the signature matches the message and the key published by the signing domain.",
    "fail": "DKIM failed: the signature does not match (the message changed after signing, or the key does not fit).",
    "neutral": "DKIM neutral: the signature could not be checked — usually a signature or key that does not parse.",
    "none": "DKIM none: the message is not signed.",
    "temperror": "DKIM temporary error: the key could not be fetched (DNS failure).",
    "permerror": "DKIM permanent error: the signature or the key record is broken, or the key is missing.",
    "policy": "DKIM policy: the signature is valid but the receiver does not accept it (e.g. rsa-sha1 or a short key).",
}
DMARC_WORDS = {
    "pass": "DMARC passed: SPF or DKIM passed for a domain aligned with the From address.",
    "fail": "DMARC failed: neither SPF nor DKIM passed for a domain aligned with the From address.",
    "none": "DMARC none: the From domain publishes no DMARC policy.",
    "bestguesspass": "DMARC best-guess pass: no policy is published, but the mail would pass one.",
    "temperror": "DMARC temporary error: the policy could not be fetched.",
    "permerror": "DMARC permanent error: the policy record is broken.",
}


def explain(entry: MethodResult) -> str:
    """One result in plain words, with the receiver's own comment interpreted where it says more."""
    words = {"spf": SPF_WORDS, "dkim": DKIM_WORDS, "dmarc": DMARC_WORDS}.get(entry.method, {})
    text = words.get(entry.result) or f"{entry.method} = {entry.result}."
    comment = entry.comment.lower()
    if entry.method == "spf" and "best guess" in comment:
        text = (
            f"SPF {entry.result} from a 'best guess': the domain publishes no SPF record of its own, so the receiver"
            " (Google) guessed one from the domain's A and MX records"
            + (", and this server is not in it. A guessed result counts as no SPF." if entry.result != "pass" else ".")
        )
    if entry.method == "dkim" and "bad format" in comment:
        text += " The receiver said 'bad format': the signature or the key record does not parse (a malformed or missing key)."
    if entry.method == "dkim" and "body hash" in comment:
        text += " The body hash did not verify: the body changed after signing (a footer, a forwarder, a mailing list)."
    if entry.method == "dmarc":
        policy = re.search(r"\bp=(\w+)", entry.comment, re.IGNORECASE)
        disposition = re.search(r"\bdis=(\w+)", entry.comment, re.IGNORECASE)
        if policy:
            text += f" The domain's policy is p={policy.group(1).lower()}"
            text += f", and the receiver applied: {disposition.group(1).lower()}." if disposition else "."
    if entry.method == "compauth":
        text = (
            f"Microsoft composite authentication: {entry.result}"
            + (f" (reason {entry.reason})" if entry.reason else "")
            + ". Microsoft's own verdict from SPF, DKIM,"
            " DMARC and sender reputation; 'fail' or 'softfail' sends mail to Junk."
        )
    if entry.method == "arc":
        text = f"ARC {entry.result}: the chain of forwarders' authentication records " + (
            "verifies." if entry.result == "pass" else "does not verify or is absent."
        )
    return text


_IP_IN_TEXT = re.compile(r"\b((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})\b")


def ip_in_comment(comment: str) -> str:
    """The client address receivers put in their SPF comment ('... designates 192.0.2.1 as ...')."""
    import ipaddress

    for match in _IP_IN_TEXT.finditer(comment):
        try:
            return str(ipaddress.ip_address(match.group(1)))
        except ValueError:
            continue
    return ""
