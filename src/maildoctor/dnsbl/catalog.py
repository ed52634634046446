"""The blocklist catalog: which lists exist, what they list and what their answers mean.

Pure: loading validates the TOML and reports every problem with the list it belongs to; reading
an answer (interpret) never raises."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from maildoctor.frozen import quick_init

KINDS = ("ipv4", "ipv6", "domain")
LISTING_SEVERITIES = ("critical", "error", "warning", "notice", "none")
GENERIC_REFUSALS = frozenset(f"127.255.255.{n}" for n in range(252, 256))


class CatalogError(ValueError):
    """The catalog file is not valid; the message says where and why."""


@quick_init
@dataclass(frozen=True)
class Code:
    answer: str  # "127.0.0.2", or the bit value for bitmask lists ("8")
    meaning: str
    severity: str  # a LISTING_SEVERITIES word; "none" = this answer is not a listing


@quick_init
@dataclass(frozen=True)
class Blocklist:
    zone: str
    name: str
    lists: str
    kinds: tuple[str, ...]
    severity: str
    delist: str
    public_resolvers: bool = True
    test: str = ""
    bitmask: bool = False
    codes: tuple[Code, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (answer, why)
    query_via: str = ""  # the zone actually asked, when it is not `zone` (Spamhaus DQS: <key>.zen.dq.spamhaus.net)
    secret: str = ""  # a key inside query_via, never shown
    daily_queries: int = 0  # the most queries a day the list's free use allows (0: no limit known)
    terms: str = ""  # where its terms of use say so

    def serves(self, kind: str) -> bool:
        return kind in self.kinds

    @property
    def query_zone(self) -> str:
        return self.query_via or self.zone

    def shown(self, text: str) -> str:
        """Text that may hold a query name, with the key replaced."""
        return text.replace(self.secret, "<key>") if self.secret else text


DQS_KEY = re.compile(r"^[a-z0-9]{20,40}$")


def parse_dqs_key(text: str) -> str:
    key = text.strip().lower()
    if not DQS_KEY.match(key):
        raise CatalogError("a Spamhaus DQS key is 20 to 40 letters and digits (the 'DQS key' of your Spamhaus account)")
    return key


def with_spamhaus_dqs_key(lists: list[Blocklist], key: str) -> list[Blocklist]:
    """The lists with Spamhaus' public mirrors (*.spamhaus.org) replaced by its Data Query Service:
    <key>.<list>.dq.spamhaus.net answers through any resolver, public ones too, for a registered key."""
    key = parse_dqs_key(key)
    out = []
    for blocklist in lists:
        if blocklist.zone.endswith(".spamhaus.org"):
            mirror = blocklist.zone.removesuffix(".spamhaus.org")
            blocklist = replace(
                blocklist,
                name=f"{blocklist.name} (DQS)",
                query_via=f"{key}.{mirror}.dq.spamhaus.net",
                secret=key,
                public_resolvers=True,
                daily_queries=0,  # the subscription's terms, not the free use's
            )
        out.append(blocklist)
    return out


@dataclass
class Reading:
    """What the A records of one blocklist answer mean."""

    listed: bool = False
    refused: str = ""  # why the answer means "query refused"; "" otherwise
    codes: list[str] = field(default_factory=list)
    meanings: list[str] = field(default_factory=list)
    severity: str = "none"  # the heaviest of the listed codes


def rfc5782_test_entry(kinds: tuple[str, ...]) -> str:
    """The entry every list must carry (RFC 5782 §5): 127.0.0.2 for IPv4 lists, ::ffff:7f00:2 for
    IPv6 lists, the name TEST for domain lists. A catalog entry names another where a list uses one."""
    if "ipv4" in kinds:
        return "127.0.0.2"
    if "ipv6" in kinds:
        return "::ffff:7f00:2"
    return "test"


def interpret(blocklist: Blocklist, answers: list[str]) -> Reading:
    """The meaning of the addresses a list returned for one query (RFC 5782 §2.3: any A record in
    127.0.0.0/8 other than the list's refusal codes means listed)."""
    reading = Reading(codes=list(answers))
    refused_codes = dict(blocklist.refused)
    severities: list[str] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            reading.refused = f"the answer {answer!r} is not an IPv4 address"
            continue
        if address.version != 4 or not address.is_loopback:
            reading.refused = f"the answer {answer} is outside 127.0.0.0/8: the list is broken, gone, or your resolver rewrites answers"
            continue
        if answer in refused_codes:
            reading.refused = refused_codes[answer]
            continue
        if answer in GENERIC_REFUSALS:  # no list lists with these; several use them for errors
            reading.refused = f"{answer} is an error code (query refused, quota exceeded or public resolver), not a listing"
            continue
        for meaning, severity in _meanings(blocklist, answer):
            reading.meanings.append(meaning)
            severities.append(severity)
    listing = [s for s in severities if s != "none"]
    if listing and not reading.refused:
        reading.listed = True
        reading.severity = max(listing, key=LISTING_SEVERITIES[::-1].index)
    return reading


def _meanings(blocklist: Blocklist, answer: str) -> list[tuple[str, str]]:
    if blocklist.bitmask:
        last = int(answer.rsplit(".", 1)[1])
        found = [(c.meaning, c.severity) for c in blocklist.codes if c.answer.isdigit() and last & int(c.answer)]
        return found or [(f"listed (code {answer})", blocklist.severity)]
    for code in blocklist.codes:
        if code.answer == answer:
            return [(code.meaning, code.severity)]
    return [(f"listed (code {answer}, not documented by the list)", blocklist.severity)]


# -- loading -----------------------------------------------------------------------------------


def load_catalog(path: str | Path | None = None) -> list[Blocklist]:
    """The shipped catalog, or the user's own file (same format). CatalogError says what is wrong."""
    if path is None:
        text = resources.files("maildoctor.data").joinpath("dnsbls.toml").read_text("utf-8")
        source = "dnsbls.toml (shipped)"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{path}: cannot read: {exc}") from None
        source = str(path)
    return parse_catalog(text, source)


def parse_catalog(text: str, source: str = "catalog") -> list[Blocklist]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from None
    entries = data.get("list")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{source}: no [[list]] entries")
    lists, problems, zones = [], [], set()
    for number, entry in enumerate(entries, 1):
        where = f"{source}: list {number}" + (f" ({entry.get('zone')})" if isinstance(entry, dict) and entry.get("zone") else "")
        try:
            blocklist = _blocklist(entry)
        except CatalogError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if blocklist.zone in zones:
            problems.append(f"{where}: zone {blocklist.zone} appears twice")
        zones.add(blocklist.zone)
        lists.append(blocklist)
    if problems:
        raise CatalogError("\n".join(problems))
    return lists


def _text(entry: dict[str, object], key: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise CatalogError(f"'{key}' must be a non-empty string")
    return value.strip()


def _blocklist(entry: object) -> Blocklist:
    if not isinstance(entry, dict):
        raise CatalogError("not a table")
    zone = _text(entry, "zone").lower().rstrip(".")
    if "." not in zone or " " in zone:
        raise CatalogError(f"zone '{zone}' is not a DNS name")
    kinds = entry.get("kinds")
    if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
        raise CatalogError(f"'kinds' must be a list of {', '.join(KINDS)}")
    severity = _text(entry, "severity")
    if severity not in LISTING_SEVERITIES[:-1]:
        raise CatalogError(f"severity '{severity}' must be one of critical, error, warning, notice")
    bitmask = entry.get("bitmask", False)
    public = entry.get("public_resolvers", True)
    if not isinstance(bitmask, bool) or not isinstance(public, bool):
        raise CatalogError("'bitmask' and 'public_resolvers' must be true or false")
    codes_table, severities, refused = (entry.get(k, {}) for k in ("codes", "severities", "refused"))
    if not all(isinstance(t, dict) and all(isinstance(v, str) for v in t.values()) for t in (codes_table, severities, refused)):
        raise CatalogError("[codes], [severities] and [refused] map answers to strings")
    for answer, word in severities.items():
        if word not in LISTING_SEVERITIES:
            raise CatalogError(f"severity '{word}' of {answer} must be one of {', '.join(LISTING_SEVERITIES)}")
        if answer not in codes_table:
            raise CatalogError(f"severity for {answer}, which is not in [codes]")
    for answer in list(codes_table) + list(refused):
        if bitmask and answer in codes_table:
            if not answer.isdigit() or not 0 < int(answer) < 256:
                raise CatalogError(f"bitmask code '{answer}' must be a number from 1 to 255")
            continue
        try:
            ipaddress.IPv4Address(answer)
        except ValueError:
            raise CatalogError(f"answer '{answer}' is not an IPv4 address") from None
    codes = tuple(Code(a, m, severities.get(a, severity)) for a, m in codes_table.items())
    daily = entry.get("daily_queries", 0)
    if not isinstance(daily, int) or isinstance(daily, bool) or daily < 0:
        raise CatalogError("'daily_queries' must be a whole number of queries a day")
    return Blocklist(
        zone=zone,
        name=_text(entry, "name"),
        lists=_text(entry, "lists"),
        kinds=tuple(kinds),
        severity=severity,
        delist=_text(entry, "delist"),
        public_resolvers=public,
        test=_text(entry, "test", required=False) or rfc5782_test_entry(tuple(kinds)),
        bitmask=bitmask,
        codes=codes,
        daily_queries=daily,
        terms=_text(entry, "terms", required=False),
        refused=tuple(refused.items()),
    )
