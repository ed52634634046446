"""A recipient list read as receivers will: each address's syntax (email-validator), its domain's
mail (MX, or an implicit MX; none, NXDOMAIN, a null MX), likely typos of the big providers'
domains, role accounts, disposable services, duplicates, the suppression list — and the provider
that runs each domain's mail, by its MX hosts. Streams: memory is bounded by the domains, not the
addresses."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TextIO

from email_validator import EmailNotValidError, syntax, validate_email

from maildoctor.data import load_json
from maildoctor.dns.answer import Outcome, Resolver

KEPT = "kept"
# Why an address is not kept (the column of the rejected list)
SYNTAX, NO_DOMAIN, NO_MAIL, NULL_MX, TYPO, ROLE, DISPOSABLE, DUPLICATE, SUPPRESSED = (
    "syntax", "no_domain", "no_mail_server", "null_mx", "typo", "role_account", "disposable", "duplicate", "suppressed",
)  # fmt: skip
UNCHECKED = "unchecked"  # the domain's DNS did not answer: kept, and said so
RESOLVE_AT_ONCE = 200


def provider_data() -> dict[str, Any]:
    return load_json("mail_providers.json")


def provider_of_mx(hosts: Iterable[str]) -> str:
    """The provider whose MX hosts these are ('other' when none is known)."""
    for name, entry in provider_data()["providers"].items():
        for host in hosts:
            if any(host == suffix or host.endswith("." + suffix) for suffix in entry["mx"]):
                return str(name)
    return "other"


@cache
def big_domains() -> tuple[str, ...]:
    return tuple(d for entry in provider_data()["providers"].values() for d in entry["domains"])


@lru_cache(maxsize=200_000)
def typo_of(domain: str) -> str:
    """The big provider's domain this one is a slip of the keyboard from (one edit, or two
    letters swapped: gmial.com, hotmial.com, gmail.con), or ''."""
    if domain in big_domains():
        return ""
    for known in big_domains():
        if abs(len(known) - len(domain)) <= 1 and _one_edit(domain, known):
            return known
    return ""


def _one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass(frozen=True)
class DomainMail:
    state: str  # kept, no_domain, no_mail_server, null_mx, unchecked
    provider: str
    detail: str = ""


async def resolve_domains(resolver: Resolver, domains: Iterable[str]) -> dict[str, DomainMail]:
    """Each domain's mail: its MX hosts and the provider behind them, RESOLVE_AT_ONCE at a time."""
    gate = asyncio.Semaphore(RESOLVE_AT_ONCE)

    async def one(domain: str) -> tuple[str, DomainMail]:
        async with gate:
            mx = await resolver.query(domain, "MX")
            if mx.outcome is Outcome.NXDOMAIN:
                return domain, DomainMail(NO_DOMAIN, "none", f"{domain} does not exist (NXDOMAIN)")
            if mx.outcome.is_temporary:
                return domain, DomainMail(UNCHECKED, "unknown", mx.describe())
            hosts = [r.exchange.to_text().rstrip(".").lower() for r in mx.records] if mx.ok else []
            if hosts and all(h in ("", ".") for h in hosts):
                return domain, DomainMail(NULL_MX, "none", f"{domain} publishes a null MX: it takes no mail")
            if not hosts:  # RFC 5321 §5.1: no MX, then the domain's own address
                a = await resolver.query(domain, "A")
                if a.outcome.is_temporary:
                    return domain, DomainMail(UNCHECKED, "unknown", a.describe())
                if not a.ok:
                    return domain, DomainMail(NO_MAIL, "none", f"{domain} has neither MX nor A record")
                return domain, DomainMail(KEPT, "other")
            return domain, DomainMail(KEPT, provider_of_mx(hosts))

    return dict(await asyncio.gather(*(one(d) for d in dict.fromkeys(domains))))


@dataclass(frozen=True)
class Verdict:
    address: str  # as normalised (the domain in lower case, IDNA)
    reason: str  # kept, or why not
    provider: str
    detail: str = ""


# Which path an address takes, not whether it is valid: a plain ASCII local@domain is validated by
# email-validator's own local-part and domain checks (the domain's once per domain); anything else
# (quotes, comments, non-ASCII) goes through its whole validate_email.
_PLAIN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
MAX_ADDRESS = 254  # octets (RFC 5321 §4.5.3.1.3, less the angle brackets)


@lru_cache(maxsize=200_000)
def _domain(domain: str) -> tuple[bool, str]:
    """(True, the ASCII domain) or (False, why it is no mail domain): once per domain."""
    try:
        return True, syntax.validate_email_domain_name(domain)["ascii_domain"].lower()
    except EmailNotValidError as exc:
        return False, str(exc)


def check_syntax(text: str) -> tuple[str, str] | str:
    """(normalised address, its domain), or why the text is not an address."""
    text = text.strip()
    if len(text) <= MAX_ADDRESS and _PLAIN.fullmatch(text):
        local, domain = text.rsplit("@", 1)
        try:
            syntax.validate_email_local_part(local, allow_smtputf8=True)
        except EmailNotValidError as exc:
            return str(exc)
        ok, ascii_domain = _domain(domain)
        return (f"{local}@{ascii_domain}", ascii_domain) if ok else ascii_domain
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return str(exc)
    return valid.normalized, valid.ascii_domain.lower() if valid.ascii_domain else valid.domain.lower()


@dataclass
class Hygiene:
    """Reads the addresses twice: once for their domains (resolved together), once to judge each."""

    domains: dict[str, DomainMail] = field(default_factory=dict)
    suppressed: frozenset[str] = frozenset()
    seen: set[int] = field(default_factory=set)  # 8-byte digests of the addresses kept: duplicates
    counts: Counter[str] = field(default_factory=Counter)
    providers: Counter[str] = field(default_factory=Counter)

    def judge(self, text: str) -> Verdict:
        parsed = check_syntax(text)
        if isinstance(parsed, str):
            return self._count(Verdict(text.strip(), SYNTAX, "none", parsed))
        address, domain = parsed
        local = address.rpartition("@")[0].lower()
        mail = self.domains.get(domain, DomainMail(UNCHECKED, "unknown", "not resolved"))
        data = provider_data()
        if address.lower() in self.suppressed:
            return self._count(Verdict(address, SUPPRESSED, mail.provider, "on the suppression list (a bounce or a complaint)"))
        if domain in data["disposable"]["domains"]:
            return self._count(Verdict(address, DISPOSABLE, mail.provider, f"{domain} is a throw-away mailbox service"))
        typo = typo_of(domain)
        if typo:
            return self._count(Verdict(address, TYPO, mail.provider, f"{domain} looks like a mistyped {typo}"))
        if mail.state not in (KEPT, UNCHECKED):
            return self._count(Verdict(address, mail.state, mail.provider, mail.detail))
        if local in data["role_accounts"]["names"]:
            return self._count(Verdict(address, ROLE, mail.provider, f"{local}@ is a role account, not a person"))
        digest = int.from_bytes(hashlib.blake2b(address.lower().encode(), digest_size=8).digest(), "big")
        if digest in self.seen:
            return self._count(Verdict(address, DUPLICATE, mail.provider, "already in the list"))
        self.seen.add(digest)
        self.providers[mail.provider] += 1
        return self._count(Verdict(address, UNCHECKED if mail.state == UNCHECKED else KEPT, mail.provider, mail.detail))

    def _count(self, verdict: Verdict) -> Verdict:
        self.counts[verdict.reason] += 1
        return verdict

    def summary(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        kept = self.counts[KEPT] + self.counts[UNCHECKED]
        return {
            "addresses": total,
            "kept": kept,
            "rejected": total - kept,
            "reasons": dict(sorted(((r, n) for r, n in self.counts.items() if r not in (KEPT, UNCHECKED)), key=lambda kv: -kv[1])),
            "unchecked": self.counts[UNCHECKED],
            "providers": [
                {"provider": p, "addresses": n, "share": round(n / kept, 4) if kept else 0.0} for p, n in self.providers.most_common()
            ],
        }


def read_addresses(handle: TextIO) -> Iterator[tuple[dict[str, str] | None, str]]:
    """(the CSV row, its address) for a CSV with an email column, or (None, line) for one address per line."""
    first = handle.readline()
    header = [h.strip().lower() for h in next(csv.reader([first]))] if first else []
    column = next((i for i, h in enumerate(header) if h in ("email", "e-mail", "email_address", "address", "mail")), None)
    if column is None:
        if first.strip():
            yield None, first.strip()
        for line in handle:
            if line.strip():
                yield None, line.strip()
        return
    names = next(csv.reader([first]))
    for row in csv.reader(handle):
        if row:
            yield dict(zip(names, row)), row[column] if column < len(row) else ""


def domains_in(handle: TextIO) -> set[str]:
    found = set()
    for _, text in read_addresses(handle):
        parsed = check_syntax(text)
        if not isinstance(parsed, str):
            found.add(parsed[1])
    return found


def open_list(path: Path) -> TextIO:
    return path.open(encoding="utf-8", errors="replace", newline="")


async def resolve_list(resolver: Resolver, path: Path) -> dict[str, DomainMail]:
    """The mail of every domain of the list (its first read)."""
    with open_list(path) as handle:
        domains = domains_in(handle)
    return await resolve_domains(resolver, sorted(domains))


def judge_list(hygiene: Hygiene, path: Path) -> Iterator[tuple[dict[str, str] | None, str, Verdict]]:
    """Each row of the list (its second read) with its address and its verdict."""
    with open_list(path) as handle:
        for row, text in read_addresses(handle):
            yield row, text, hygiene.judge(text)
