"""The small policy records: MTA-STS TXT (RFC 8461 §3.1), TLS-RPT (RFC 8460 §3) and BIMI (draft).

Each parser returns the tags and a list of problems (never raises)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from maildoctor.records.taglist import split_tags

_MTASTS_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_TLSRPT_URI = re.compile(r"^(mailto:[^@\s]+@[^@\s]+\.[^@\s]+|https://\S+)$", re.IGNORECASE)


@dataclass
class TagRecord:
    text: str
    tags: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _tags(text: str, version_tag: str, version: str, record: TagRecord) -> None:
    tags = split_tags(text)
    if not tags or tags[0].name != version_tag or tags[0].value != version:
        record.problems.append(f"the record must start with {version_tag}={version}")
    for tag in tags:
        if tag.problem:
            record.problems.append(f"'{tag.raw}': {tag.problem}")
        elif tag.name:
            record.tags[tag.name] = tag.value


def parse_mtasts_txt(text: str) -> TagRecord:
    record = TagRecord(text)
    _tags(text, "v", "STSv1", record)
    policy_id = record.tags.get("id")
    if policy_id is None:
        record.problems.append("no id= (the policy version senders compare to refresh their cache)")
    elif not _MTASTS_ID.match(policy_id):
        record.problems.append(f"id={policy_id} must be 1 to 32 letters and digits")
    return record


def parse_tlsrpt(text: str) -> TagRecord:
    record = TagRecord(text)
    _tags(text, "v", "TLSRPTv1", record)
    rua = record.tags.get("rua")
    if not rua:
        record.problems.append("no rua= (where reports are sent)")
    else:
        for uri in (u.strip() for u in rua.split(",")):
            if not _TLSRPT_URI.match(uri):
                record.problems.append(f"rua URI '{uri}' must be mailto:address or https://...")
    return record


def parse_bimi(text: str) -> TagRecord:
    record = TagRecord(text)
    _tags(text, "v", "BIMI1", record)
    logo = record.tags.get("l", "")
    if "l" not in record.tags:
        record.problems.append("no l= (the logo URL; write l= empty to decline)")
    elif logo and not (logo.lower().startswith("https://") and logo.lower().split("?")[0].endswith(".svg")):
        record.problems.append(f"l={logo} must be an https URL of an SVG file")
    authority = record.tags.get("a", "")
    if authority and not (authority.lower().startswith("https://") and authority.lower().split("?")[0].endswith(".pem")):
        record.problems.append(f"a={authority} must be an https URL of a PEM file (the mark certificate)")
    return record
