"""What mailbox providers say about a sender's reputation: Microsoft SNDS data exports (per IP and
day: volume, filter result, complaint rate, trap hits) and Google Postmaster Tools traffic stats
(per domain and day: domain and IP reputation, user-reported spam rate, authentication rates).
Parsed leniently: a row that cannot be read is skipped with a warning, never the whole file."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maildoctor.findings import Finding, make_finding

# Gmail's sender guidelines: keep the user-reported spam rate under 0.1%, never reach 0.3%.
SPAM_RATE_GUIDANCE = 0.001
SPAM_RATE_LIMIT = 0.003
SNDS_COLUMNS = (
    "ip",
    "activity_start",
    "activity_end",
    "rcpt_commands",
    "data_commands",
    "recipients",
    "filter_result",
    "complaint_rate",
    "trap_start",
    "trap_end",
    "trap_hits",
    "sample_helo",
    "sample_mail_from",
    "comments",
)
FILTER_RESULTS = ("GREEN", "YELLOW", "RED")
REPUTATIONS = ("HIGH", "MEDIUM", "LOW", "BAD")


class ReputationError(ValueError):
    """A file that is not an SNDS export or Postmaster Tools data at all."""


@dataclass
class Observation:
    """One provider's view of one IP (SNDS) or domain (Postmaster Tools) over one period."""

    source: str  # snds, postmaster
    subject: str  # the IP or the domain
    begin: float
    end: float
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "subject": self.subject, "begin": self.begin, **self.data}


@dataclass
class Parsed:
    observations: list[Observation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_SNDS_DATE = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}(?::\d{2})?\s*(?:AM|PM)?\s*$", re.IGNORECASE)


def looks_like_snds(head: bytes) -> bool:
    """An SNDS export: CSV whose first row is its header, or starts with an IP and an activity date."""
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:  # binary, or not CSV at all
        return False
    if len(cells) >= 7 and cells[0].strip().lower() in ("ip address", "ip"):
        return True
    if len(cells) < 7:
        return False
    try:
        ipaddress.ip_address(cells[0].strip())
    except ValueError:
        return False
    return bool(_SNDS_DATE.match(cells[1]))


def looks_like_postmaster(head: bytes) -> bool:
    text = head.decode("utf-8", "replace")
    return '"trafficStats"' in text or bool(re.search(r'"name"\s*:\s*"domains/[^"/]+/trafficStats/', text))


def _snds_time(text: str) -> float:
    text = " ".join(text.split())
    for layout in ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC).timestamp()  # SNDS reports in UTC (PST on the site)
        except ValueError:
            continue
    raise ValueError(f"not an SNDS date: {text!r}")


def _rate(text: str) -> float | None:
    """'< 0.1%' (SNDS's floor) is read as 0.1% at most: kept as the bound with the '<'."""
    found = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
    return float(found.group(1)) / 100 if found else None


def _count(text: str) -> int:
    digits = text.replace(",", "").strip()
    return int(digits) if digits.isdigit() else 0


def parse_snds(data: bytes, name: str) -> Parsed:
    parsed = Parsed()
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig", "replace").replace("\x00", "")))
    for number, cells in enumerate(_readable(rows, name, parsed), 1):
        if not cells or not "".join(cells).strip():
            continue
        if cells[0].strip().lower() in ("ip address", "ip"):
            continue  # the header of an export from the web page
        if len(cells) < 7:
            parsed.warnings.append(f"{name} line {number}: {len(cells)} columns, an SNDS row has at least 7: skipped")
            continue
        row = dict(zip(SNDS_COLUMNS, (c.strip() for c in cells)))
        try:
            ip = str(ipaddress.ip_address(row["ip"]))
            begin, end = _snds_time(row["activity_start"]), _snds_time(row["activity_end"])
        except ValueError as exc:
            parsed.warnings.append(f"{name} line {number}: {exc}: skipped")
            continue
        result = row["filter_result"].upper()
        if result not in FILTER_RESULTS:
            parsed.warnings.append(f"{name} line {number}: filter result {row['filter_result']!r} is not GREEN, YELLOW or RED")
        parsed.observations.append(
            Observation(
                "snds",
                ip,
                begin,
                end,
                {
                    "filter_result": result,
                    "rcpt_commands": _count(row["rcpt_commands"]),
                    "data_commands": _count(row["data_commands"]),
                    "recipients": _count(row["recipients"]),
                    "complaint_rate": _rate(row.get("complaint_rate", "")),
                    "complaint_rate_text": row.get("complaint_rate", ""),
                    "trap_hits": _count(row.get("trap_hits", "")),
                    "sample_helo": row.get("sample_helo", ""),
                    "sample_mail_from": row.get("sample_mail_from", ""),
                },
            )
        )
    if not parsed.observations and not parsed.warnings:
        raise ReputationError(f"{name}: an SNDS export with no rows")
    return parsed


def _readable(rows: Iterator[list[str]], name: str, parsed: Parsed) -> Iterator[list[str]]:
    """The rows up to the first that the CSV reader cannot take apart (noted as a warning)."""
    try:
        yield from rows
    except csv.Error as exc:
        parsed.warnings.append(f"{name}: not CSV from line {rows.line_num} on ({exc}): the rest skipped")  # type: ignore[attr-defined]


def _ratio(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None


def parse_postmaster(data: bytes, name: str) -> Parsed:
    """The Postmaster Tools API's traffic stats: {"trafficStats": [...]}, a list of them, or one."""
    try:
        document = json.loads(data.decode("utf-8-sig", "replace"))
    except ValueError as exc:
        raise ReputationError(f"{name}: not JSON ({exc})") from None
    stats = document.get("trafficStats", [document]) if isinstance(document, dict) else document
    if not isinstance(stats, list):
        raise ReputationError(f"{name}: trafficStats is not a list")
    parsed = Parsed()
    for index, entry in enumerate(stats):
        where = f"{name} trafficStats[{index}]"
        found = re.fullmatch(r"domains/([^/]+)/trafficStats/(\d{8})", str(entry.get("name", ""))) if isinstance(entry, dict) else None
        if found is None:
            parsed.warnings.append(f"{where}: no name domains/DOMAIN/trafficStats/YYYYMMDD: skipped")
            continue
        day = datetime.strptime(found.group(2), "%Y%m%d").replace(tzinfo=UTC).timestamp()
        ip_reputations = {}
        for bucket in entry.get("ipReputations") or []:
            if isinstance(bucket, dict) and bucket.get("reputation") in REPUTATIONS:
                ip_reputations[bucket["reputation"]] = {
                    "ips": int(bucket.get("ipCount") or 0),
                    "sample": [str(ip) for ip in bucket.get("sampleIps") or []][:10],
                }
        reputation = str(entry.get("domainReputation") or "")
        if reputation and reputation not in REPUTATIONS:
            parsed.warnings.append(f"{where}: domain reputation {reputation!r} is not one of {', '.join(REPUTATIONS)}")
            reputation = ""
        parsed.observations.append(
            Observation(
                "postmaster",
                found.group(1).lower(),
                day,
                day + 86399,
                {
                    "domain_reputation": reputation,
                    "ip_reputations": ip_reputations,
                    "spam_rate": _ratio(entry.get("userReportedSpamRatio")),
                    "spf_success": _ratio(entry.get("spfSuccessRatio")),
                    "dkim_success": _ratio(entry.get("dkimSuccessRatio")),
                    "dmarc_success": _ratio(entry.get("dmarcSuccessRatio")),
                    "outbound_encryption": _ratio(entry.get("outboundEncryptionRatio")),
                    "delivery_errors": [
                        {"class": str(e.get("errorClass", "")), "type": str(e.get("errorType", "")), "ratio": _ratio(e.get("errorRatio"))}
                        for e in entry.get("deliveryErrors") or []
                        if isinstance(e, dict)
                    ],
                },
            )
        )
    if not parsed.observations and not parsed.warnings:
        raise ReputationError(f"{name}: Postmaster Tools data with no traffic stats")
    return parsed


def _day(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d")


def reputation_findings(observations: list[Observation]) -> list[Finding]:
    """The latest word of each provider on each IP and domain, where it is bad."""
    latest: dict[tuple[str, str], Observation] = {}
    for seen in observations:
        key = (seen.source, seen.subject)
        if key not in latest or seen.begin > latest[key].begin:
            latest[key] = seen
    findings = []
    for (source, subject), seen in sorted(latest.items()):
        data, day = seen.data, _day(seen.begin)
        if source == "snds" and data["filter_result"] in ("RED", "YELLOW"):
            red = data["filter_result"] == "RED"
            findings.append(
                make_finding(
                    "feedback.snds_red" if red else "feedback.snds_yellow",
                    f"Outlook.com filters mail from {subject} as {'spam (RED)' if red else 'partly spam (YELLOW)'}",
                    f"Microsoft SNDS on {day}: filter result {data['filter_result']} for {subject}, {data['recipients']} recipients,"
                    f" complaint rate {data['complaint_rate_text'] or 'not given'}, {data['trap_hits']} spam trap hits.",
                    evidence=[f"sample HELO: {data['sample_helo'] or '-'}", f"sample MAIL FROM: {data['sample_mail_from'] or '-'}"],
                    fix="Find what this IP sends that users do not want (compromised accounts, a form that sends to anyone, bought"
                    " lists), stop it, and ask Microsoft for mitigation at https://olcsupport.office.com once it is clean.",
                )
            )
        if source == "snds" and data["trap_hits"]:
            findings.append(
                make_finding(
                    "feedback.snds_trap_hits",
                    f"{subject} sent to {data['trap_hits']} Outlook.com spam traps",
                    f"Microsoft SNDS on {day}: {data['trap_hits']} messages from {subject} reached spam trap addresses, which nobody"
                    " ever signed up with: the list holds addresses that were never asked or long dead.",
                    fix="Send only to addresses that confirmed (double opt-in), remove those that never open, and drop bought lists.",
                )
            )
        if source == "postmaster":
            rate = data["spam_rate"]
            if rate is not None and rate > SPAM_RATE_GUIDANCE:
                over = rate >= SPAM_RATE_LIMIT
                findings.append(
                    make_finding(
                        "feedback.spam_rate_over_limit" if over else "feedback.spam_rate_high",
                        f"Gmail users report {rate:.2%} of the mail of {subject} as spam",
                        f"Google Postmaster Tools on {day}: user-reported spam rate {rate:.2%};"
                        f" Gmail asks for under {SPAM_RATE_GUIDANCE:.1%} and {'refuses or junks mail at' if over else 'acts from'}"
                        f" {SPAM_RATE_LIMIT:.1%}.",
                        fix="Make unsubscribing one click (RFC 8058 List-Unsubscribe-Post), stop mailing those who do not open,"
                        " and send only what people asked for; the rate must stay under 0.1% every day.",
                    )
                )
            bad = [r for r in ("BAD", "LOW") if r == data["domain_reputation"] or r in data["ip_reputations"]]
            if bad:
                ips = [ip for r in bad for ip in data["ip_reputations"].get(r, {}).get("sample", [])]
                rated = ", ".join(f"{r} ({v['ips']} IPs)" for r, v in data["ip_reputations"].items())
                findings.append(
                    make_finding(
                        "feedback.gmail_reputation_bad" if "BAD" in bad else "feedback.gmail_reputation_low",
                        f"Gmail rates {subject}{' and some of its IPs' if ips else ''} {bad[0]}",
                        f"Google Postmaster Tools on {day}: domain reputation {data['domain_reputation'] or 'not given'};"
                        f" IP reputations: {rated or 'not given'}.",
                        evidence=[f"IPs rated {bad[0]}: {', '.join(ips)}"] if ips else [],
                        fix="Lower the spam rate first (it drives the reputation), authenticate every stream with aligned DKIM, and"
                        " raise volume again slowly once the rating recovers.",
                    )
                )
    return findings
