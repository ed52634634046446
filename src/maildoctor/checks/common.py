"""Helpers shared by the checks of every area."""

from __future__ import annotations

from maildoctor.dns.answer import Answer
from maildoctor.findings import Finding, make_finding


def lookup_failed(area: str, answer: Answer, what: str) -> Finding:
    """A temporary failure: the check could not tell, which is never the same as 'missing'."""
    return make_finding(
        f"{area}.lookup_failed",
        f"Could not look up {what}",
        f"The DNS question {answer.name} {answer.rdtype} got {answer.outcome.value.upper()}"
        f"{' (' + answer.detail + ')' if answer.detail else ''}. This is a temporary outcome: the check"
        " could not tell whether the record exists. Receivers that hit the same failure defer or"
        " treat the mail as unauthenticated.",
        evidence=[answer.describe()],
        fix="Check that every name server of the domain answers for this name (e.g. dig @each-ns NAME TYPE), then run the audit again.",
    )


def zone_line(name: str, ttl: int, rdtype: str, value: str) -> str:
    """A record in zone-file syntax, with an absolute owner so it can be pasted anywhere."""
    return f"{name.rstrip('.')}. {ttl} IN {rdtype} {value}"


def quote_txt(text: str) -> str:
    """TXT data as zone-file strings: split into 255-byte strings, quotes and backslashes escaped."""
    escaped = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"' for part in escaped)
