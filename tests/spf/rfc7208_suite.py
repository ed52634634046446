"""Loading the official RFC 7208 test suite (YAML scenarios with their own DNS data) into zones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone
import yaml

from maildoctor.dns.zonedata import LoadedZone, ZoneSet
from maildoctor.testing.dnsserver import Faults

SUITE = Path(__file__).resolve().parents[1] / "corpora" / "spf" / "rfc7208-tests.yml"


@dataclass(frozen=True)
class SuiteCase:
    scenario: str
    name: str
    helo: str
    host: str
    mailfrom: str
    results: tuple[str, ...]
    explanation: str | None


@dataclass
class Scenario:
    description: str
    cases: list[SuiteCase]
    zonedata: dict[str, list[Any]]


def load_scenarios() -> list[Scenario]:
    scenarios = []
    with SUITE.open(encoding="utf-8") as handle:
        for doc in yaml.safe_load_all(handle):
            cases = []
            for name, test in doc["tests"].items():
                result = test["result"]
                cases.append(
                    SuiteCase(
                        doc["description"],
                        name,
                        str(test.get("helo", "")),
                        str(test["host"]),
                        str(test.get("mailfrom", "")),
                        tuple(result) if isinstance(result, list) else (result,),
                        test.get("explanation"),
                    )
                )
            scenarios.append(Scenario(doc["description"], cases, doc.get("zonedata") or {}))
    return scenarios


def _txt_bytes(value: Any) -> list[bytes]:
    strings = value if isinstance(value, list) else [value]
    # The YAML escapes (\xEF) stand for raw bytes in the record.
    return [s.encode("latin-1") if all(ord(c) < 256 for c in s) else s.encode("utf-8") for s in map(str, strings)]


def _rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    kind = dns.rdatatype.from_text(rdtype)
    if rdtype in ("TXT", "SPF"):
        cls = dns.rdata.get_rdata_class(dns.rdataclass.IN, kind)
        return cls(dns.rdataclass.IN, kind, _txt_bytes(value))
    if rdtype == "MX":
        preference, exchange = value
        text = f"{preference} {exchange if str(exchange).endswith('.') else str(exchange) + '.'}"
    elif rdtype in ("PTR", "CNAME"):
        text = value if str(value).endswith(".") else f"{value}."
    else:
        text = str(value)
    return dns.rdata.from_text(dns.rdataclass.IN, kind, text)


def records_for(entries: list[Any]) -> tuple[list[tuple[str, Any]], bool]:
    """The suite driver's rule: SPF records are also published as TXT unless the name has TXT."""
    records: list[tuple[str, Any]] = []
    timeout = False
    has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
    for entry in entries:
        if entry == "TIMEOUT":
            timeout = True
            continue
        for rdtype, value in entry.items():
            if value == "NONE":
                continue
            records.append((rdtype, value))
            if rdtype == "SPF" and not has_txt:
                records.append(("TXT", value))
    return records, timeout


def build_zones(zonedata: dict[str, list[Any]]) -> tuple[ZoneSet, Faults]:
    zone = dns.zone.Zone(dns.name.root, relativize=False)
    faults = Faults()
    for owner, entries in zonedata.items():
        try:
            name = dns.name.from_text(owner.lower(), origin=dns.name.root)
        except dns.exception.DNSException:
            continue  # names DNS cannot carry (labels over 63) simply do not exist
        records, timeout = records_for(entries)
        if timeout:  # the suite's TIMEOUT spares the types the name has records of
            faults.set(owner.rstrip("."), "timeout")
            for rdtype in {t for t, _ in records}:
                faults.set(owner.rstrip("."), "none", rdtype)
        for rdtype, value in records:
            try:
                rdata = _rdata(rdtype, value)
            except (ValueError, dns.exception.DNSException):
                continue  # e.g. a TXT with no strings: illegal, DNS cannot carry it

            node = zone.find_node(name, create=True)
            rdataset = node.find_rdataset(dns.rdataclass.IN, rdata.rdtype, create=True)
            rdataset.add(rdata, 300)
    return ZoneSet([LoadedZone(dns.name.root, zone)]), faults
