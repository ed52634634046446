"""An MTA-STS policy (RFC 8461) from the domain's real MX hosts: the policy file, the _mta-sts TXT
record with a fresh id, the TLS-RPT record (RFC 8460) that tells who reports failures, and
where the file must be served."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from maildoctor.dns.answer import Resolver

MAX_AGE = {"testing": 604800, "enforce": 1209600}  # a week while testing; two weeks once enforced (RFC 8461 §3.2 allows up to a year)


@dataclass(frozen=True)
class MtaStsBuild:
    domain: str
    mode: str
    mx: list[str]
    policy: str  # the file served at https://mta-sts.<domain>/.well-known/mta-sts.txt
    txt: str  # the _mta-sts record's data
    tlsrpt: str  # the _smtp._tls record's data

    @property
    def url(self) -> str:
        return f"https://mta-sts.{self.domain}/.well-known/mta-sts.txt"

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "mode": self.mode,
            "mx": self.mx,
            "policy": self.policy,
            "url": self.url,
            "txt": self.txt,
            "tlsrpt": self.tlsrpt,
        }


async def mx_hosts(resolver: Resolver, domain: str) -> list[str]:
    answer = await resolver.query(domain, "MX")
    if not answer.ok:
        raise ValueError(f"{domain} has no MX record to build a policy from ({answer.outcome.value})")
    hosts = [r.exchange.to_text().rstrip(".").lower() for r in sorted(answer.records, key=lambda r: r.preference)]
    hosts = [h for h in hosts if h]
    if not hosts:
        raise ValueError(f"{domain} publishes a null MX: it takes no mail, so it needs no MTA-STS policy")
    return list(dict.fromkeys(hosts))


def build_mtasts(domain: str, hosts: list[str], mode: str, rua: str, now: datetime.datetime | None = None) -> MtaStsBuild:
    if mode not in MAX_AGE:
        raise ValueError("--mode is testing or enforce")
    moment = now or datetime.datetime.now(datetime.UTC)
    policy = "version: STSv1\n" + f"mode: {mode}\n" + "".join(f"mx: {h}\n" for h in hosts) + f"max_age: {MAX_AGE[mode]}\n"
    return MtaStsBuild(domain, mode, hosts, policy, f"v=STSv1; id={moment.strftime('%Y%m%d%H%M%S')}", f"v=TLSRPTv1; rua={rua}")
