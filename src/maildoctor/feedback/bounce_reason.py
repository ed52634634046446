"""The reason a bounce gives, decided from what the receiving server answered: its text, the
enhanced status code, the SMTP command it answered and the reply code. Pure.

Reason names and the order of the decision follow Sisimai, the classifier most tools and the
labelled corpus use, so that our answers can be compared with it: the status code and the
command weigh as much as the words. "User unknown" said in answer to RCPT is an unknown user; the
same words after DATA come from a content filter ("filtered"); at MAIL FROM it is the sender
that was refused ("rejected")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

REASONS = frozenset(
    {
        "blocked",
        "contenterror",
        "delivered",
        "exceedlimit",
        "expired",
        "feedback",
        "filtered",
        "hasmoved",
        "hostunknown",
        "mailboxfull",
        "mailererror",
        "mesgtoobig",
        "networkerror",
        "norelaying",
        "notaccept",
        "onhold",
        "policyviolation",
        "rejected",
        "securityerror",
        "spamdetected",
        "suspend",
        "syntaxerror",
        "systemerror",
        "systemfull",
        "toomanyconn",
        "undefined",
        "userunknown",
        "vacation",
        "virusdetected",
    }
)
_ADDRESSES = re.compile(r"\S+@\S+")  # a "diagnostic" that only repeats the recipient says nothing
BEFORE_MAIL = ("CONN", "EHLO", "HELO")
BEFORE_DATA = (*BEFORE_MAIL, "MAIL", "RCPT")
# What the status code or a first look may say, but the words can still overrule.
WEAK = {"undefined", "onhold", "systemerror", "securityerror", "networkerror", "hostunknown", "userunknown"}
# Reasons tried on the words alone, in order, when the first pass found nothing.
BY_WORDS = (
    "mailboxfull",
    "spamdetected",
    "policyviolation",
    "virusdetected",
    "norelaying",
    "securityerror",
    "systemerror",
    "networkerror",
    "suspend",
    "expired",
    "contenterror",
    "systemfull",
    "notaccept",
    "mailererror",
    "hostunknown",
    "userunknown",
)


@dataclass(frozen=True)
class Answer:
    diagnostic: str
    status: str = ""  # enhanced status code, 5.1.1
    command: str = ""  # the SMTP command answered: CONN EHLO HELO MAIL RCPT DATA, or "" when unknown
    reply: str = ""  # SMTP reply code, 550
    action: str = ""  # the DSN's Action: failed, delayed, ...
    smtp: bool = True  # the diagnostic is a remote server's answer (not a local MTA's own words)
    host: str = ""  # the remote server's name, when the bounce gives it


@cache
def _file() -> dict[str, Any]:
    return json.loads(resources.files("maildoctor.data").joinpath("bounce_reasons.json").read_text("utf-8"))


@cache
def _data() -> tuple[dict[str, re.Pattern[str]], dict[str, str], frozenset[str], list[tuple[re.Pattern[str], str]]]:
    data = _file()
    # patterns are lower case and meet lower-cased text: faster than re.IGNORECASE
    phrases = {reason: re.compile("|".join(f"(?:{p})" for p, _source in entries)) for reason, entries in data["phrases"].items()}
    fixed = [(re.compile(pattern), reason) for pattern, reason in data["fixed"]["rules"]]
    return phrases, data["status"], frozenset(data["hard"]), fixed


def says(reason: str, text: str) -> bool:
    """Whether text (lower case) has the words receivers use for reason."""
    pattern = _data()[0].get(reason)
    return bool(pattern and pattern.search(text))


def status_reason(status: str) -> str:
    return _data()[1].get(status, "")


@cache
def _mtas() -> tuple[dict[str, str], list[tuple[str, re.Pattern[str]]]]:
    data = _file()["mtas"]
    return data["categories"], [(header, re.compile(pattern, re.IGNORECASE)) for header, pattern in data["answers_rcpt"]]


@dataclass(frozen=True)
class Provider:
    name: str
    host: re.Pattern[str]
    said: tuple[tuple[str, re.Pattern[str], str], ...]
    code: re.Pattern[str] | None
    codes: dict[str, str]
    stage: dict[str, str]


@cache
def _providers() -> tuple[Provider, ...]:
    data = _file()["providers"]["list"]
    return tuple(
        Provider(
            entry["name"],
            re.compile(entry["host"]),
            tuple((status, re.compile(words), reason) for status, words, reason in entry.get("said", [])),
            re.compile(entry["codes"]["pattern"]) if "codes" in entry else None,
            entry.get("codes", {}).get("meaning", {}),
            entry.get("stage", {}),
        )
        for entry in data
    )


def provider_reason(answer: Answer) -> str:
    """What the answer means at the provider whose server gave it; "" when it is not one of them
    or its table does not say."""
    host = answer.host.lower().rstrip(".")
    provider = next((p for p in _providers() if host and p.host.search(host)), None)
    if provider is None:
        return ""
    for status, words, reason in provider.said:
        if answer.status.startswith(status) and words.search(answer.diagnostic):
            return reason
    if provider.code is not None:
        found = provider.code.search(answer.diagnostic)
        if found and found.group(1) in provider.codes:
            return provider.codes[found.group(1)]
    if answer.status in ("5.0.0", "") and answer.command in provider.stage:
        return provider.stage[answer.command]
    return ""


def category_reason(category: str) -> str:
    """The reason for an MTA's own bounce category (PowerMTA's X-PowerMTA-BounceCategory)."""
    return _mtas()[0].get(category.strip().lower(), "")


def answers_rcpt(headers: dict[str, str]) -> bool:
    """Whether the bounce comes from a gateway that quotes its own answer to RCPT TO."""
    return any(pattern.search(headers.get(name.lower(), "")) for name, pattern in _mtas()[1])


_CONTINUATION = re.compile(r"\s+([45]\d\d)[- ](?:[245]\.\d{1,3}\.\d{1,3}\s+)?")


def unwrapped(text: str) -> str:
    """A multi-line SMTP answer as one sentence: "550-5.7.1 ... with multiple 550-5.7.1 addresses" loses
    the codes repeated at the start of each of its lines."""
    text = " ".join(text.split())
    first = re.match(r"\s*([45]\d\d)[- ]", text)
    if first is None or text.count(first.group(1)) < 2:
        return text
    head = first.end()
    return text[:head] + _CONTINUATION.sub(lambda m: " " if m.group(1) == first.group(1) else m.group(0), text[head:])


def reason_of(answer: Answer) -> str:
    answer = Answer(
        unwrapped(answer.diagnostic).lower(), answer.status, answer.command, answer.reply, answer.action, answer.smtp, answer.host
    )
    if answer.status.startswith("2."):
        return "delivered"
    if answer.host and (known := provider_reason(answer)):
        return known
    fixed = next((reason for pattern, reason in _data()[3] if pattern.search(answer.diagnostic)), "")
    if fixed:
        return fixed
    found = _first_pass(answer) if answer.smtp else ""
    if not found:
        found = _by_words(answer)
    if found and found != "undefined":
        return found
    if answer.action in ("delayed", "expired"):
        return "expired"
    if says("vacation", answer.diagnostic):
        return "vacation"
    return "onhold" if _ADDRESSES.sub("", answer.diagnostic).strip(" \t\r\n<>:;,.()[]\"'") else "undefined"


def _first_pass(answer: Answer) -> str:
    text, status, command = answer.diagnostic, answer.status, answer.command
    by_status = status_reason(status)
    if command == "MAIL" and (by_status in ("userunknown", "hostunknown") or says("userunknown", text) or says("hostunknown", text)):
        return "rejected"  # an address refused at MAIL FROM is the sender's
    checks: tuple[tuple[str, Callable[[], bool]], ...] = (  # tried in this order; each only when those before it failed
        ("mailboxfull", lambda: bool(status) and (by_status == "mailboxfull" or says("mailboxfull", text))),
        (
            "mesgtoobig",
            lambda: by_status == "mesgtoobig" or (by_status != "exceedlimit" and status != "5.2.3" and says("mesgtoobig", text)),
        ),
        ("exceedlimit", lambda: bool(status) and (by_status == "exceedlimit" or says("exceedlimit", text))),
        ("suspend", lambda: bool(status) and says("suspend", text)),
        ("hasmoved", lambda: says("hasmoved", text)),
        ("norelaying", lambda: command not in BEFORE_MAIL and says("norelaying", text)),
        ("userunknown", lambda: by_status != "suspend" and _unknown_user(answer, by_status)),
        ("filtered", lambda: by_status != "suspend" and _filtered(answer, by_status)),
        ("rejected", lambda: _rejected(answer, by_status)),
        (
            "hostunknown",
            lambda: (
                (by_status == "hostunknown" and not says("networkerror", text))
                or (by_status != "hostunknown" and says("hostunknown", text))
            ),
        ),
        (
            "spamdetected",
            lambda: (
                (bool(status) or command == "DATA")
                and (by_status == "spamdetected" or (command not in BEFORE_DATA and says("spamdetected", text)))
            ),
        ),
        ("toomanyconn", lambda: by_status == "toomanyconn" or says("toomanyconn", text)),
        ("blocked", lambda: by_status == "blocked" or says("blocked", text)),
    )
    return next((reason for reason, holds in checks if holds()), "")


def _unknown_user(answer: Answer, by_status: str) -> bool:
    if by_status == "userunknown":  # the code says so, unless the words say something more precise
        return not any(
            says(other, answer.diagnostic) for other in ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
        )
    return answer.command == "RCPT" and says("userunknown", answer.diagnostic)


def _filtered(answer: Answer, by_status: str) -> bool:
    if by_status != "filtered" and answer.command in BEFORE_DATA:
        return False
    return says("filtered", answer.diagnostic) or says("userunknown", answer.diagnostic)


def _rejected(answer: Answer, by_status: str) -> bool:
    if by_status == "rejected":
        return True
    if (
        answer.command == "MAIL"
        or (answer.command == "DATA" and by_status != "userunknown")
        or (by_status or "undefined") in ("onhold", "undefined", "securityerror", "systemerror")
    ):
        return says("rejected", answer.diagnostic)
    return False


def _by_words(answer: Answer) -> str:
    by_status = status_reason(answer.status)
    if by_status and by_status not in WEAK and by_status != "expired" and answer.smtp:
        return by_status
    found = next((reason for reason in BY_WORDS if says(reason, answer.diagnostic)), "")
    if found or by_status:
        return found or by_status
    if answer.status[2:4] in ("6.",):
        return "contenterror"
    if answer.status[2:4] == "7.":
        return "securityerror"
    if not answer.smtp:
        return "mailererror"
    if re.fullmatch(r"[45]0[0-7]", answer.reply):
        return "syntaxerror"
    if answer.action in ("delayed", "expired"):
        return "expired"
    return "blocked" if answer.command in ("EHLO", "HELO") else ""


def kind_of(reason: str, status: str = "") -> str:
    """hard: the address will never work; soft: it may; n/a: not a failure."""
    if reason in ("feedback", "vacation", "delivered"):
        return "n/a"
    if reason == "notaccept":
        return "soft" if status.startswith("4") else "hard"
    return "hard" if reason in _data()[2] else "soft"
