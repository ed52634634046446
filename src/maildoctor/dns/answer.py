"""What a DNS question got back: records, or a clearly distinguished kind of non-answer."""

from __future__ import annotations

import asyncio
import enum
import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import dns.name
import dns.rdata
import dns.rdatatype

from maildoctor.frozen import quick_init


class computed_once:  # noqa: N801  (used as a decorator, like functools.cached_property)
    """functools.cached_property without its lock (Python 3.11 takes one on every first access,
    which showed in profiles: each answer's views are computed by one task of one event loop)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function
        self.name = function.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.name] = value  # from now on the instance's own attribute answers
        return value


@functools.lru_cache(maxsize=65536)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


class Outcome(str, enum.Enum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists, but has no records of that type
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    ERROR = "error"  # network error, an rcode such as FORMERR or NOTIMP, ...
    MALFORMED = "malformed"  # only replies that do not parse came back

    @property
    def is_temporary(self) -> bool:
        """The server could not tell: this must never be read as 'record missing'."""
        return self in TEMPORARY

    @property
    def is_negative(self) -> bool:
        return self in (Outcome.NXDOMAIN, Outcome.NODATA)


# An enum member's .value is a descriptor written in Python: the text of each, read from a dict
# where it is read per question (every question of a report is rendered as evidence).
_OUTCOME_TEXT = {outcome: outcome.value for outcome in Outcome}
TEMPORARY = frozenset((Outcome.SERVFAIL, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.ERROR, Outcome.MALFORMED))


@quick_init
@dataclass(frozen=True)
class Answer:
    name: str  # as asked, lower case, no trailing dot
    rdtype: str  # "TXT", "MX", ...
    outcome: Outcome
    records: tuple[Any, ...] = ()  # light records of the wire parser (address, strings, exchange...) or dnspython Rdata
    cnames: tuple[str, ...] = ()  # the CNAME chain followed, in order (targets)
    ttl: int = 0
    authenticated: bool = False  # the AD bit of a validating resolver
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ANSWER

    def texts(self) -> list[str]:
        """TXT/SPF records with their character-strings joined (RFC 7208 §3.3)."""
        return list(self._texts)

    # Derived views are computed once per answer: a shared cache hands the same answer to many
    # checks and evaluations.
    @computed_once
    def _texts(self) -> tuple[str, ...]:
        return tuple(
            b"".join(rd.strings).decode("utf-8", errors="backslashreplace")
            for rd in self.records
            if getattr(rd, "strings", None) is not None
        )

    @computed_once
    def raw_texts(self) -> tuple[str, ...]:
        """TXT strings with bytes outside UTF-8 kept as surrogates, for parsers that must reject them."""
        return tuple(
            b"".join(rd.strings).decode("utf-8", errors="surrogateescape")
            for rd in self.records
            if getattr(rd, "strings", None) is not None
        )

    @computed_once
    def ip_objects(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        return tuple(_ip(rd.address) for rd in self.records if hasattr(rd, "address"))

    @computed_once
    def mx_hosts(self) -> tuple[tuple[int, str], ...]:
        """(preference, host) of MX records, host lower case without the trailing dot; '.' for a null MX."""
        return tuple(
            (rd.preference, getattr(rd, "host", None) or normalize_name(rd.exchange)) for rd in self.records if hasattr(rd, "exchange")
        )

    def strings(self) -> list[tuple[str, ...]]:
        """TXT/SPF records as their separate character-strings, for checks about splitting."""
        return [
            tuple(s.decode("utf-8", errors="backslashreplace") for s in rd.strings)
            for rd in self.records
            if getattr(rd, "strings", None) is not None
        ]

    def addresses(self) -> list[str]:
        return [rd.address for rd in self.records if hasattr(rd, "address")]

    @computed_once
    def record_texts(self) -> tuple[str, ...]:
        """The records in presentation format, rendered once: a shared cache hands one answer to many reports."""
        return tuple(rd.to_text() for rd in self.records)

    def describe(self) -> str:
        """One line of evidence: the question and what came back."""
        q = f"{self.name} {self.rdtype}"
        via = "".join(f" -> CNAME {c}" for c in self.cnames)
        if self.ok:
            return f"{q}{via}: " + " | ".join(self.record_texts)
        more = f" ({self.detail})" if self.detail else ""
        return f"{q}{via}: {self.outcome.value.upper()}{more}"


class Resolver(Protocol):
    """Every check reads DNS through this, so the same check runs live, on zone files or in tests."""

    async def query(self, name: str, rdtype: str) -> Answer: ...


async def ask_all(resolver: Resolver, questions: Sequence[tuple[str, str]]) -> list[Answer]:
    """The answers to several questions asked at once, in their order.

    A resolver may offer query_many() to take them as one batch (the live client sends them all,
    then collects the replies): an asyncio task per question, as gather() makes, cost a few
    microseconds each, and a domain's audit asks about forty."""
    many = getattr(resolver, "query_many", None)
    if many is not None:
        return await many(questions)  # type: ignore[no-any-return]
    return list(await asyncio.gather(*(resolver.query(name, rdtype) for name, rdtype in questions)))


def normalize_name(name: str | dns.name.Name) -> str:
    text = name if name.__class__ is str else name.to_text()  # type: ignore[union-attr]
    return text.rstrip(".").lower() if text not in (".", "") else "."


def to_dns_name(name: str) -> dns.name.Name:
    return dns.name.from_text(name, origin=dns.name.root)


@functools.lru_cache(maxsize=64)
def rdtype_of(rdtype: str) -> dns.rdatatype.RdataType:
    return dns.rdatatype.from_text(rdtype.upper())


class QueryRecord(NamedTuple):
    """One DNS question as evidence: what was asked, what came back, how long it took (a tuple:
    one is made per question).

    The answer is rendered as text only when a report asks for it: most questions of a busy
    service are never shown.
    """

    answer: Answer
    ms: float = 0.0

    def to_json(self) -> dict[str, object]:
        answer = self.answer
        return {
            "name": answer.name,
            "type": answer.rdtype,
            "outcome": _OUTCOME_TEXT[answer.outcome],
            "records": list(answer.record_texts) if answer.records else [],  # most questions of an audit have none
            "cnames": list(answer.cnames),
            "ms": round(self.ms, 2),
        }
