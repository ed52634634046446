"""A scan's output: Parquet partitions of a few thousand domains each — one row per domain (score,
completeness, each area's state, its finding ids) and one per finding — each written whole or not
at all, so that a scan cut off resumes where it stopped with nothing counted twice."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from maildoctor.audience.hygiene import provider_of_mx
from maildoctor.checks.facts import audit_facts
from maildoctor.findings import Report, area_order

DOMAINS, FINDINGS = "domains", "findings"


POLICY = re.compile(r"policy applied to [^:]+: p=(\w+)")


def domain_rows(reports: list[Report]) -> pa.Table:
    areas = list(area_order())
    columns: dict[str, list[object]] = {
        "domain": [], "score": [], "complete": [], "incomplete": [], "findings": [], "spf_lookups": [], "dmarc_policy": [], "mx_provider": [],
    }  # fmt: skip
    for area in areas:
        columns[f"area_{area}"] = []
    for report in sorted(reports, key=lambda r: r.target):
        states = {a.area: a.state for a in report.areas()}
        columns["domain"].append(report.target)
        columns["score"].append(report.score)
        columns["complete"].append(report.complete)
        columns["incomplete"].append(report.incomplete_areas())
        columns["findings"].append(sorted({f.id for f in report.findings}))
        facts = audit_facts(report)
        columns["spf_lookups"].append(facts.spf.total_lookups if facts.spf is not None and facts.spf.record is not None else None)
        policy = next((m.group(1) for line in report.verified.get("dmarc", []) if (m := POLICY.search(line))), None)
        columns["dmarc_policy"].append(policy)
        columns["mx_provider"].append(provider_of_mx([m.host for m in facts.mx or []]) if facts.mx else None)
        for area in areas:
            columns[f"area_{area}"].append(states.get(area))
    return pa.table(columns, schema=domain_schema(areas))


def domain_schema(areas: list[str]) -> pa.Schema:
    """The same types in every partition, whatever its rows hold (an empty list, no SPF record)."""
    fixed = [
        ("domain", pa.string()), ("score", pa.float64()), ("complete", pa.bool_()), ("incomplete", pa.list_(pa.string())),
        ("findings", pa.list_(pa.string())), ("spf_lookups", pa.int64()), ("dmarc_policy", pa.string()), ("mx_provider", pa.string()),
    ]  # fmt: skip
    return pa.schema(fixed + [(f"area_{area}", pa.string()) for area in areas])


def finding_rows(reports: list[Report]) -> pa.Table:
    columns: dict[str, list[object]] = {"domain": [], "id": [], "area": [], "severity": [], "title": []}
    for report in sorted(reports, key=lambda r: r.target):
        for finding in sorted(report.findings, key=lambda f: (f.id, f.title)):
            columns["domain"].append(report.target)
            columns["id"].append(finding.id)
            columns["area"].append(finding.area)
            columns["severity"].append(str(finding.severity))
            columns["title"].append(finding.title)
    return pa.table(columns, schema=pa.schema([(name, pa.string()) for name in columns]))


def partition_path(out: Path, kind: str, index: int) -> Path:
    return out / f"{kind}-{index:05d}.parquet"


def done(out: Path, index: int) -> bool:
    """A partition counts as written only when both its files are (each was renamed into place whole)."""
    return partition_path(out, DOMAINS, index).exists() and partition_path(out, FINDINGS, index).exists()


def write_partition(out: Path, index: int, reports: list[Report]) -> None:
    """Both files of the partition, each written aside and renamed into place; the domains file
    last, so that an existing domains file means a complete partition."""
    for kind, table in ((FINDINGS, finding_rows(reports)), (DOMAINS, domain_rows(reports))):
        final = partition_path(out, kind, index)
        temporary = final.with_suffix(".parquet.part")
        pq.write_table(table, temporary)
        os.replace(temporary, final)


def read_scan(out: Path, kind: str = DOMAINS) -> pa.Table:
    files = sorted(out.glob(f"{kind}-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else pa.table({})
