"""The DMARC policy record (RFC 7489 §6.3-§6.4, with DMARCbis' np/psd/t tags)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from maildoctor.frozen import quick_init
from maildoctor.records.problems import Problem
from maildoctor.records.taglist import split_tags

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = ("v", "p", "sp", "np", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf", "psd", "t")
_SIZE = re.compile(r"^[0-9]+[kmgtKMGT]?$")
_ADDRESS = re.compile(r"^[^@\s]+@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)\.?$")


def looks_like_dmarc(text: str) -> bool:
    """Receivers take only records that start with v=DMARC1; we also catch mis-cased ones to say so."""
    return re.match(r"^\s*v\s*=\s*dmarc1\s*(;|$)", text, re.IGNORECASE) is not None


def is_dmarc_record(text: str) -> bool:
    return re.match(r"^v\s*=\s*DMARC1\s*(;|$)", text) is not None


@quick_init
@dataclass(frozen=True)
class ReportUri:
    uri: str
    address: str  # the mailbox, empty when not a mailto:
    domain: str  # the mailbox's domain, lower case
    max_size: str = ""


@dataclass
class DmarcRecord:
    text: str
    tags: dict[str, str] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rua: list[ReportUri] = field(default_factory=list)
    ruf: list[ReportUri] = field(default_factory=list)
    unknown_tags: list[str] = field(default_factory=list)

    @property
    def policy(self) -> str | None:
        p = self.tags.get("p", "").lower()
        return p if p in POLICIES else None

    @property
    def subdomain_policy(self) -> str | None:
        sp = self.tags.get("sp", "").lower()
        return sp if sp in POLICIES else self.policy

    @property
    def pct(self) -> int:
        try:
            value = int(self.tags.get("pct", "100"))
        except ValueError:
            return 100
        return value if 0 <= value <= 100 else 100

    @property
    def valid(self) -> bool:
        return not self.problems


def parse_dmarc(text: str) -> DmarcRecord:
    record = DmarcRecord(text=text)
    for tag in split_tags(text):
        if tag.index == 0 and tag.name != "v":
            record.problems.append(Problem("dmarc.syntax_error", "the record must start with v=DMARC1", tag.start, tag.raw))
        if tag.problem:
            record.problems.append(Problem("dmarc.syntax_error", tag.problem, tag.start, tag.raw))
            continue
        if tag.name == "v" and tag.index != 0:
            record.problems.append(Problem("dmarc.syntax_error", "v= must be the first tag", tag.start, tag.raw))
        record.tags[tag.name] = tag.value
        record.positions[tag.name] = tag.start
        _validate_tag(record, tag.name, tag.value, tag.start, tag.raw)
    if "v" not in record.tags:
        record.problems.append(Problem("dmarc.syntax_error", "no v=DMARC1 tag", 0, text[:20]))
    if "p" not in record.tags:
        record.problems.append(
            Problem("dmarc.syntax_error", "no p= tag: receivers apply no policy (or act as p=none when rua= is valid)", len(text), "")
        )
    return record


def _bad_value(record: DmarcRecord, key: str, expected: str, start: int, chunk: str, check_id: str = "dmarc.invalid_tag_value") -> None:
    record.problems.append(Problem(check_id, f"{key}= must be {expected}", start, chunk))


def _validate_tag(record: DmarcRecord, key: str, value: str, start: int, chunk: str) -> None:
    lowered = value.lower()
    if key == "v":
        if value != "DMARC1":
            record.problems.append(Problem("dmarc.syntax_error", "v= must be exactly DMARC1 (upper case)", start, chunk))
    elif key in ("p", "sp", "np"):
        if lowered not in POLICIES:
            _bad_value(record, key, "none, quarantine or reject", start, chunk)
    elif key in ("adkim", "aspf"):
        if lowered not in ("r", "s"):
            _bad_value(record, key, "r (relaxed) or s (strict)", start, chunk)
    elif key == "pct":
        if not value.isdigit() or not 0 <= int(value) <= 100:
            _bad_value(record, key, "a whole number from 0 to 100", start, chunk, "dmarc.invalid_pct")
    elif key == "fo":
        options = [o.strip() for o in value.split(":")]
        if not value or any(o not in ("0", "1", "d", "s") for o in options):
            _bad_value(record, key, "a colon-separated list of 0, 1, d, s", start, chunk)
    elif key == "rf":
        formats = [f.strip().lower() for f in value.split(":")]
        if not value or any(f not in ("afrf", "iodef") for f in formats):
            _bad_value(record, key, "afrf", start, chunk)
    elif key == "ri":
        if not value.isdigit() or int(value) > 0xFFFFFFFF:
            _bad_value(record, key, "a number of seconds (e.g. 86400)", start, chunk)
    elif key in ("rua", "ruf"):
        uris = getattr(record, key)
        for raw in value.split(","):
            uri = _parse_report_uri(raw.strip())
            if isinstance(uri, str):
                record.problems.append(Problem("dmarc.invalid_uri", f"{key}=: {uri}", start, raw.strip() or chunk))
            else:
                uris.append(uri)
    elif key in ("psd", "t"):
        if lowered not in (("y", "n", "u") if key == "psd" else ("y", "n")):
            _bad_value(record, key, "y or n" + (" or u" if key == "psd" else ""), start, chunk)
    else:
        record.unknown_tags.append(key)


def _parse_report_uri(raw: str) -> ReportUri | str:
    """A report URI with its optional !size suffix, or the reason it is not usable."""
    if not raw:
        return "empty URI (stray comma?)"
    uri, bang, size = raw.partition("!")
    if bang and not _SIZE.match(size):
        return f"size suffix '!{size}' must be digits with an optional k, m, g or t"
    if not uri.lower().startswith("mailto:"):
        return "only mailto: URIs are used by receivers"
    address = uri[len("mailto:") :]
    match = _ADDRESS.match(address)
    if not match:
        return f"'{address}' is not a mail address"
    return ReportUri(uri=uri, address=address, domain=match.group(1).lower().rstrip("."), max_size=size)
