"""What a domain (or zone) audit's checks learnt, typed: the MX hosts and their addresses, the SPF
tree and evaluations, the DKIM keys found, the blocklist answers, DNSSEC, the SMTP sessions, the
MTA-STS policy fetched. A fact stays None when its check did not get that far."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.dnsbl.lookup import Result as BlocklistResult
from maildoctor.facts import Facts
from maildoctor.findings import Report
from maildoctor.frozen import quick_init
from maildoctor.spf.evaluator import SpfEvaluation
from maildoctor.spf.tree import SpfNode


@quick_init
@dataclass(frozen=True)
class MxHost:
    preference: int
    host: str


@quick_init
@dataclass(frozen=True)
class DkimKey:
    """A DKIM key record as read at <selector>._domainkey.<domain>."""

    record: str
    key_type: str
    bits: int | None
    encoding: str | None
    hashes: list[str]
    flags: list[str]
    revoked: bool
    valid: bool  # the record has no problem


@quick_init
@dataclass(frozen=True)
class DkimDiscovery:
    providers: list[str]  # mail providers the domain's records point to
    selectors: list[str]  # the selectors tried


@quick_init
@dataclass(frozen=True)
class Dnssec:
    ds: bool  # the parent zone holds a DS for the domain
    dnskey: bool
    validated: bool  # the resolver validated the answers (AD)
    unknown: bool  # the DS or DNSKEY question failed


@quick_init
@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    names: list[str]
    not_after: str  # ISO 8601
    self_signed: bool


@quick_init
@dataclass(frozen=True)
class SmtpSession:
    """What one connection to a mail server showed."""

    host: str
    address: str
    port: int
    connected: bool
    error: str
    banner: str
    extensions: list[str]
    starttls: bool
    tls_version: str
    tls_cipher: str
    tls_error: str
    certificate_error: str
    certificate: Certificate | None
    transcript: list[str]


@dataclass
class MtaStsFetch:
    """The MTA-STS policy as fetched over HTTPS."""

    url: str
    address: str
    status: int  # 0 when no HTTP answer came
    content_type: str
    error: str
    body: str
    notes: list[str] = field(default_factory=list)


@dataclass
class AuditFacts(Facts):
    mx: list[MxHost] | None = None
    mx_addresses: dict[str, list[str]] | None = None  # per MX host
    spf: SpfNode | None = None  # the record and every include, as a tree
    spf_results: dict[str, SpfEvaluation] | None = None  # per IP given
    dkim: dict[str, DkimKey] | None = None  # per selector with a key
    dkim_discovery: DkimDiscovery | None = None
    dnsbl: list[BlocklistResult] | None = None
    dnssec: Dnssec | None = None
    smtp: list[SmtpSession] | None = None
    mtasts_policy: MtaStsFetch | None = None
    rdns_not_checked: list[str] | None = None  # addresses whose reverse zone was not among the zone files


def audit_facts(report: Report) -> AuditFacts:
    """The facts of a domain or zone audit's report (empty for a report of another kind)."""
    return report.facts if isinstance(report.facts, AuditFacts) else AuditFacts()
