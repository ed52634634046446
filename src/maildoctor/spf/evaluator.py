"""check_host() exactly as RFC 7208 §4-§6 specify, reading DNS only through the resolver interface."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache

from maildoctor.dns.answer import Answer, Outcome, Resolver
from maildoctor.records.spf import Mechanism, SpfRecord, is_spf_record, parse_macro_string, parse_spf
from maildoctor.spf.macros import MacroContext, expand

LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4: DNS-querying terms per evaluation
VOID_LIMIT = 2  # RFC 7208 §4.6.4: lookups that returned nothing
MX_PTR_NAME_LIMIT = 10  # RFC 7208 §4.6.4: names looked up per mx / ptr
DEFAULT_EXPLANATION = "DEFAULT"
_LABEL = re.compile(r"^[^.]{1,63}$")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class SpfResult(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


class _PermError(Exception):
    pass


class _TempError(Exception):
    pass


@dataclass
class SpfEvaluation:
    result: SpfResult
    domain: str  # the domain check_host() was asked about
    mechanism: str = ""  # the term that decided, e.g. "ip4:192.0.2.0/24" or "default (no match)"
    mechanism_domain: str = ""  # the domain whose record holds that term
    explanation: str = ""
    reason: str = ""  # why, for errors and "none"
    lookups: int = 0
    void_lookups: int = 0
    record: str = ""  # the top-level record evaluated
    steps: list[str] = field(default_factory=list)

    def summary(self, ip: str) -> str:
        """What the evaluation verified, in one line: the result, the term that decided it and where."""
        decided = f", matched {self.mechanism}" if self.mechanism else ""
        where = f" in the record of {self.mechanism_domain}" if self.mechanism_domain and self.mechanism_domain != self.domain else ""
        why = f" ({self.reason})" if self.reason and not self.mechanism else ""
        return f"{ip} for {self.domain}: {self.result.value}{decided}{where}{why}; {self.lookups} of 10 DNS lookups"

    def to_json(self) -> dict[str, object]:
        return {
            "result": self.result.value,
            "domain": self.domain,
            "mechanism": self.mechanism,
            "mechanism_domain": self.mechanism_domain,
            "explanation": self.explanation,
            "reason": self.reason,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "record": self.record,
            "steps": self.steps,
        }


def normalize_ip(ip: str | IP) -> IP:
    """IPv4-mapped IPv6 addresses (::ffff:192.0.2.1) are evaluated as the IPv4 address they carry."""
    address = _parse_ip(ip) if isinstance(ip, str) else ip
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=65536)
def _parse_ip(text: str) -> IP:
    return ipaddress.ip_address(text)  # a receiver sees the same senders again and again


@lru_cache(maxsize=16384)
def valid_domain(domain: str) -> bool:
    """RFC 7208 §4.3: a fully qualified name of labels 1-63 characters long."""
    name = domain[:-1] if domain.endswith(".") else domain
    labels = name.split(".")
    return len(labels) >= 2 and len(name) <= 253 and all(_LABEL.match(label) for label in labels)


class _Run:
    """The state of one evaluation: its limits count across includes and redirects."""

    def __init__(self, resolver: Resolver, ip: IP, sender: str, helo: str, receiver: str, ip_text: str = "") -> None:
        self.resolver = resolver
        self.ip = ip
        self.ip_text = ip_text
        self.sender = sender
        self.helo = helo
        self.receiver = receiver
        self.lookups = 0
        self.voids = 0
        self.steps: list[str] = []
        self.decided_by = ""
        self.decided_in = ""
        self._validated: dict[str, str] = {}

    # -- DNS -------------------------------------------------------------------------------
    async def query(self, name: str, rdtype: str, counts_void: bool = True) -> Answer:
        answer = await self.resolver.query(name, rdtype)
        if answer.outcome.is_temporary:
            raise _TempError(f"{name} {rdtype}: {answer.outcome.value}")
        if counts_void and answer.outcome in (Outcome.NXDOMAIN, Outcome.NODATA):
            self.voids += 1
            if self.voids > VOID_LIMIT:
                raise _PermError(f"more than {VOID_LIMIT} void lookups (the last: {name} {rdtype})")
        return answer

    def count_lookup(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > LOOKUP_LIMIT:
            raise _PermError(f"more than {LOOKUP_LIMIT} DNS-querying terms (the 11th: {term})")

    async def addresses(self, name: str, counts_void: bool = True) -> list[IP]:
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        answer = await self.query(name, rdtype, counts_void)
        return list(answer.ip_objects)

    # -- check_host() ------------------------------------------------------------------------
    async def check_host(self, domain: str, depth: int = 0) -> tuple[SpfResult, str]:
        """RFC 7208 §4: the result and the explanation for <domain>."""
        if not valid_domain(domain):
            self.steps.append(f"{domain}: not a valid domain name: none")
            return SpfResult.NONE, ""
        record = await self.fetch(domain)
        if record is None:
            return SpfResult.NONE, ""
        if not record.valid:
            raise _PermError(f"{domain}: {record.problems[0].describe()}")
        self.steps.append(f"{domain}: {record.text}")
        ctx = MacroContext(self.ip, self.sender, domain, self.helo, self.receiver, self.ip_text)
        for mechanism in record.mechanisms:
            if await self.matches(mechanism, ctx, depth):
                result = SpfResult(mechanism.result)
                self.decided_by, self.decided_in = mechanism.text, domain
                self.steps.append(f"{domain}: {mechanism.text} matched: {result.value}")
                explanation = await self.explain(record, ctx) if result is SpfResult.FAIL else ""
                return result, explanation
        redirect = record.redirect
        if redirect is not None and record.all_mechanism is None:
            self.count_lookup(redirect.text)
            target = await expand(redirect.value, ctx, lambda: self.validated_name(ctx))
            self.steps.append(f"{domain}: no match, redirect to {target}")
            if not valid_domain(target):
                raise _PermError(f"redirect target '{target}' is not a valid domain")
            result, explanation = await self.check_host(target, depth + 1)
            if result is SpfResult.NONE:
                raise _PermError(f"redirect target {target} has no SPF record")
            return result, explanation
        self.decided_by, self.decided_in = "default (no mechanism matched)", domain
        self.steps.append(f"{domain}: no mechanism matched: neutral")
        return SpfResult.NEUTRAL, ""

    async def fetch(self, domain: str) -> SpfRecord | None:
        answer = await self.resolver.query(domain, "TXT")
        if answer.outcome.is_temporary:
            raise _TempError(f"{domain} TXT: {answer.outcome.value}")
        records = [t for t in answer.raw_texts if is_spf_record(t)]
        if not records:
            self.steps.append(f"{domain}: no SPF record ({answer.outcome.value})")
            return None
        if len(records) > 1:
            raise _PermError(f"{domain} has {len(records)} SPF records")
        return parse_spf(records[0])

    async def matches(self, mechanism: Mechanism, ctx: MacroContext, depth: int) -> bool:
        kind = mechanism.kind
        if kind == "all":
            return True
        if kind in ("ip4", "ip6"):
            network = mechanism.network
            return network is not None and self.ip.version == network.version and self.ip in network
        self.count_lookup(mechanism.text)
        target = ctx.domain
        if mechanism.domain is not None:
            target = await expand(mechanism.domain, ctx, lambda: self.validated_name(ctx))
        if kind == "include":
            if not valid_domain(target):
                raise _PermError(f"include target '{target}' is not a valid domain")
            result, _ = await self.check_host(target, depth + 1)
            if result is SpfResult.NONE:
                raise _PermError(f"include:{target} has no SPF record")
            return result is SpfResult.PASS
        if not valid_domain(target):
            return False  # RFC 7208 §4.8: an invalid target name matches nothing
        if kind == "a":
            return self._in_networks(await self.addresses(target), mechanism)
        if kind == "mx":
            answer = await self.query(target, "MX")
            hosts = [host for _, host in answer.mx_hosts if host != "."]
            if len(hosts) > MX_PTR_NAME_LIMIT:
                raise _PermError(f"{target} has {len(hosts)} MX records; SPF allows {MX_PTR_NAME_LIMIT}")
            for host in hosts:
                if self._in_networks(await self.addresses(host, counts_void=False), mechanism):
                    return True
            return False
        if kind == "ptr":
            return any(_is_subdomain(name, target) for name in await self.validated_names())
        if kind == "exists":
            answer = await self.query(target, "A")
            return bool(answer.records)
        raise AssertionError(f"unhandled mechanism {kind}")

    def _in_networks(self, addresses: list[IP], mechanism: Mechanism) -> bool:
        prefix = mechanism.cidr4 if self.ip.version == 4 else mechanism.cidr6
        for address in addresses:
            if address.version != self.ip.version:
                continue
            if prefix is None:
                if address == self.ip:
                    return True
            elif self.ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False):
                return True
        return False

    async def validated_names(self) -> list[str]:
        """RFC 7208 §5.5: PTR names of the IP whose addresses include the IP (at most 10 tried)."""
        try:
            answer = await self.resolver.query(self.ip.reverse_pointer, "PTR")
        except Exception:  # noqa: BLE001  (any failure: the mechanism does not match)
            return []
        if answer.outcome is not Outcome.ANSWER:
            if answer.outcome in (Outcome.NXDOMAIN, Outcome.NODATA):
                self.voids += 1
                if self.voids > VOID_LIMIT:
                    raise _PermError(f"more than {VOID_LIMIT} void lookups (the last: PTR of {self.ip})")
            return []
        names = []
        for record in list(answer.records)[:MX_PTR_NAME_LIMIT]:
            name = record.target.to_text().rstrip(".")
            rdtype = "A" if self.ip.version == 4 else "AAAA"
            forward = await self.resolver.query(name, rdtype)
            if forward.ok and any(ipaddress.ip_address(a) == self.ip for a in forward.addresses()):
                names.append(name)
        return names

    async def validated_name(self, ctx: MacroContext) -> str:
        """%{p}: a validated name, the domain itself or a subdomain preferred; 'unknown' if none."""
        key = ctx.domain
        if key not in self._validated:
            try:
                names = await self.validated_names()
            except _PermError:
                names = []
            exact = [n for n in names if n.lower() == ctx.domain.lower()]
            below = [n for n in names if _is_subdomain(n, ctx.domain)]
            self._validated[key] = (exact or below or names or ["unknown"])[0]
        return self._validated[key]

    async def explain(self, record: SpfRecord, ctx: MacroContext) -> str:
        """RFC 7208 §6.2: the exp= text; any trouble leaves the default explanation."""
        if record.exp is None:
            return DEFAULT_EXPLANATION
        try:
            target = await expand(record.exp.value, ctx, lambda: self.validated_name(ctx))
            if not valid_domain(target):
                return DEFAULT_EXPLANATION
            answer = await self.resolver.query(target, "TXT")
            texts = list(answer.raw_texts)
            if len(texts) != 1:
                return DEFAULT_EXPLANATION
            parsed, errors = parse_macro_string(texts[0], allow_exp_letters=True)
            if errors:
                return DEFAULT_EXPLANATION
            return await expand(parsed, ctx, lambda: self.validated_name(ctx), for_domain=False)
        except (_TempError, _PermError):
            return DEFAULT_EXPLANATION


def _is_subdomain(name: str, domain: str) -> bool:
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def split_sender(mail_from: str, helo: str) -> tuple[str, str]:
    """RFC 7208 §2.4, §4.3: the identity checked and its domain; empty MAIL FROM uses the HELO."""
    if not mail_from:
        return f"postmaster@{helo}", helo
    if "@" not in mail_from:
        return f"postmaster@{mail_from}", mail_from
    local, domain = mail_from.rsplit("@", 1)
    return f"{local or 'postmaster'}@{domain}", domain


async def check_host(
    resolver: Resolver,
    ip: str | IP,
    domain: str,
    sender: str | None = None,
    helo: str = "unknown",
    receiver: str = "unknown",
) -> SpfEvaluation:
    """Evaluate SPF for a connection from ip claiming domain (sender defaults to postmaster@domain)."""
    address = normalize_ip(ip)
    sender = sender or f"postmaster@{domain}"
    domain = domain.rstrip(".")
    run = _Run(resolver, address, sender, helo, receiver, ip if isinstance(ip, str) else "")
    evaluation = SpfEvaluation(SpfResult.NONE, domain)
    try:
        result, explanation = await run.check_host(domain)
        evaluation.result, evaluation.explanation = result, explanation
        if result is SpfResult.NONE:
            evaluation.reason = f"{domain} publishes no SPF record" if valid_domain(domain) else f"'{domain}' is not a valid domain name"
    except _PermError as exc:
        evaluation.result, evaluation.reason = SpfResult.PERMERROR, str(exc)
    except _TempError as exc:
        evaluation.result, evaluation.reason = SpfResult.TEMPERROR, str(exc)
    evaluation.mechanism, evaluation.mechanism_domain = run.decided_by, run.decided_in
    evaluation.lookups, evaluation.void_lookups, evaluation.steps = run.lookups, run.voids, run.steps
    first = next((s for s in run.steps if s.startswith(f"{domain}: v=") or s.startswith(f"{domain}: V=")), "")
    evaluation.record = first.split(": ", 1)[1] if first else ""
    return evaluation


async def check_identity(resolver: Resolver, ip: str, mail_from: str, helo: str, receiver: str = "unknown") -> SpfEvaluation:
    """The MAIL FROM identity (or the HELO identity when MAIL FROM is empty), as receivers check it."""
    sender, domain = split_sender(mail_from, helo)
    if domain.startswith("[") or not valid_domain(domain):
        evaluation = SpfEvaluation(SpfResult.NONE, domain, reason=f"'{domain}' is not a domain name SPF can check")
        return evaluation
    return await check_host(resolver, ip, domain, sender, helo, receiver)
