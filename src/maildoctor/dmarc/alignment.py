"""DMARC evaluation of one message (RFC 7489 §3.1, §6.6): identifier alignment in relaxed and
strict mode, the verdict, and the disposition the policy asks for. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.records.dmarc import DmarcRecord


def aligned(domain: str, from_domain: str, strict: bool) -> bool:
    if not domain or not from_domain:
        return False
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


@dataclass
class Identifier:
    mechanism: str  # "spf" or "dkim"
    domain: str  # the SPF-checked domain (MAIL FROM or HELO), or a signature's d=
    result: str  # pass, fail, ...
    relaxed: bool
    strict: bool
    counts: bool  # aligned in the mode the policy asks for, and passing

    def to_json(self) -> dict[str, object]:
        return {
            "mechanism": self.mechanism,
            "domain": self.domain,
            "result": self.result,
            "aligned_relaxed": self.relaxed,
            "aligned_strict": self.strict,
            "counts": self.counts,
        }


@dataclass
class DmarcVerdict:
    from_domain: str
    record_domain: str | None
    record: DmarcRecord | None
    identifiers: list[Identifier] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return any(i.counts for i in self.identifiers)

    @property
    def applicable_policy(self) -> str | None:
        """p for the domain itself, sp for a subdomain under its organizational domain's record."""
        if self.record is None:
            return None
        if self.record_domain and self.record_domain != self.from_domain:
            return self.record.subdomain_policy
        return self.record.policy

    @property
    def disposition(self) -> str:
        if self.passed:
            return "none"
        return self.applicable_policy or "none"

    def unaligned_passes(self) -> list[Identifier]:
        return [i for i in self.identifiers if i.result == "pass" and not i.counts]

    def to_json(self) -> dict[str, object]:
        return {
            "from_domain": self.from_domain,
            "record_domain": self.record_domain,
            "record": self.record.text if self.record else None,
            "policy": self.applicable_policy,
            "pct": self.record.pct if self.record else None,
            "result": "pass" if self.passed else "fail",
            "disposition": self.disposition,
            "identifiers": [i.to_json() for i in self.identifiers],
        }


def evaluate(
    from_domain: str,
    record_domain: str | None,
    record: DmarcRecord | None,
    spf_domain: str,
    spf_result: str,
    dkim_results: list[tuple[str, str]],
) -> DmarcVerdict:
    """dkim_results: (d=, result) of each signature."""
    strict_spf = record is not None and record.tags.get("aspf", "r").lower() == "s"
    strict_dkim = record is not None and record.tags.get("adkim", "r").lower() == "s"
    verdict = DmarcVerdict(from_domain, record_domain, record)
    if spf_domain:
        relaxed, strict = aligned(spf_domain, from_domain, False), aligned(spf_domain, from_domain, True)
        verdict.identifiers.append(
            Identifier("spf", spf_domain, spf_result, relaxed, strict, spf_result == "pass" and (strict if strict_spf else relaxed))
        )
    for domain, result in dkim_results:
        relaxed, strict = aligned(domain, from_domain, False), aligned(domain, from_domain, True)
        verdict.identifiers.append(
            Identifier("dkim", domain, result, relaxed, strict, result == "pass" and (strict if strict_dkim else relaxed))
        )
    return verdict
