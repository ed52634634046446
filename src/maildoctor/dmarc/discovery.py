"""Finding the DMARC policy that applies to a domain: its own record, else its organizational domain's."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.dns.answer import Answer, Resolver
from maildoctor.records.dmarc import looks_like_dmarc


@dataclass
class DmarcDiscovery:
    domain: str
    record_domain: str | None = None  # where the record(s) were found
    records: list[str] = field(default_factory=list)  # texts that look like DMARC records
    answers: list[Answer] = field(default_factory=list)  # every lookup made, as evidence
    failure: Answer | None = None  # a temporary failure that stopped discovery

    @property
    def inherited(self) -> bool:
        return self.record_domain is not None and self.record_domain != self.domain


async def discover_dmarc(resolver: Resolver, domain: str) -> DmarcDiscovery:
    found = DmarcDiscovery(domain=domain)
    candidates = [domain]
    org = organizational_domain(domain)
    if org != domain:
        candidates.append(org)
    for candidate in candidates:
        answer = await resolver.query(f"_dmarc.{candidate}", "TXT")
        found.answers.append(answer)
        if answer.outcome.is_temporary:
            found.failure = answer
            return found
        records = [t for t in answer.texts() if looks_like_dmarc(t)]
        if records:
            found.record_domain = candidate
            found.records = records
            return found
    return found
