"""A scan's output: Parquet partitions of a few thousand domains each — one row per domain (score,
completeness, each area's state, its finding ids) and one per finding — each written whole or not
at all, so that a scan cut off resumes where it stopped with nothing counted twice. The output is
a folder or any URL fsspec understands (s3://bucket/scan with s3fs installed): workers of a
cluster write to where they all reach."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

from maildoctor.audience.hygiene import provider_of_mx
from maildoctor.checks.facts import audit_facts
from maildoctor.findings import Report, area_order

DOMAINS, FINDINGS = "domains", "findings"
POLICY = re.compile(r"policy applied to [^:]+: p=(\w+)")
AREAS = list(area_order())

DOMAIN_SCHEMA = pa.schema(
    [
        ("domain", pa.string()),
        ("score", pa.float64()),
        ("complete", pa.bool_()),
        ("incomplete", pa.list_(pa.string())),
        ("findings", pa.list_(pa.string())),
        ("spf_lookups", pa.int64()),
        ("dmarc_policy", pa.string()),
        ("mx_provider", pa.string()),
    ]  # fmt: skip
    + [(f"area_{area}", pa.string()) for area in AREAS]
)  # the same types in every partition, whatever its rows hold (an empty list, no SPF record)
FINDING_SCHEMA = pa.schema([(name, pa.string()) for name in ("domain", "id", "area", "severity", "title")])


@dataclass
class PartitionRows:
    """The rows of a partition, taken from each report as it comes (the report itself is let go:
    a thousand reports kept whole would be most of a worker's memory)."""

    domains: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def add(self, report: Report) -> None:
        states = {a.area: a.state for a in report.areas()}
        facts = audit_facts(report)
        row: dict[str, Any] = {
            "domain": report.target,
            "score": report.score,
            "complete": report.complete,
            "incomplete": report.incomplete_areas(),
            "findings": sorted({f.id for f in report.findings}),
            "spf_lookups": facts.spf.total_lookups if facts.spf is not None and facts.spf.record is not None else None,
            "dmarc_policy": next((m.group(1) for line in report.verified.get("dmarc", []) if (m := POLICY.search(line))), None),
            "mx_provider": provider_of_mx([m.host for m in facts.mx]) if facts.mx else None,
        }
        row.update({f"area_{area}": states.get(area) for area in AREAS})
        self.domains.append(row)
        self.findings += [
            {"domain": report.target, "id": f.id, "area": f.area, "severity": str(f.severity), "title": f.title}
            for f in sorted(report.findings, key=lambda f: (f.id, f.title))
        ]

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """(domains, findings), in domain order: the same partition gives the same files whatever order its audits ended in."""
        domains = sorted(self.domains, key=lambda r: r["domain"])
        findings = sorted(self.findings, key=lambda r: r["domain"])  # stable: each domain's findings keep their order
        return pa.Table.from_pylist(domains, schema=DOMAIN_SCHEMA), pa.Table.from_pylist(findings, schema=FINDING_SCHEMA)


def output(url: str) -> tuple[AbstractFileSystem, str]:
    """The file system and the root path of a scan's output (a folder, file://, s3://, ...)."""
    fs, root = url_to_fs(url)
    return fs, root.rstrip("/")


def absolute(url: str) -> str:
    """The output as a URL that names the same place from any process (a relative folder made absolute)."""
    fs, root = output(url)
    return str(fs.unstrip_protocol(root))


def partition_path(url: str, kind: str, index: int) -> str:
    return f"{output(url)[1]}/{kind}-{index:05d}.parquet"


def done(url: str, index: int) -> bool:
    """A partition counts as written only when both its files are (each was moved into place whole)."""
    fs, _ = output(url)
    return bool(fs.exists(partition_path(url, DOMAINS, index)) and fs.exists(partition_path(url, FINDINGS, index)))


def write_partition(url: str, index: int, rows: PartitionRows) -> None:
    """Both files of the partition, each written aside and moved into place; the domains file
    last, so that an existing domains file means a complete partition."""
    fs, root = output(url)
    fs.makedirs(root, exist_ok=True)
    domains, findings = rows.tables()
    for kind, table in ((FINDINGS, findings), (DOMAINS, domains)):
        final = partition_path(url, kind, index)
        temporary = final + ".part"
        pq.write_table(table, temporary, filesystem=fs)
        fs.mv(temporary, final)


def partition_files(url: str, kind: str = DOMAINS) -> list[str]:
    fs, root = output(url)
    return sorted(fs.glob(f"{root}/{kind}-*.parquet"))


def has_scan(url: str) -> bool:
    return bool(partition_files(url))


def read_partitions(url: str, kind: str = DOMAINS, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """Each partition in turn: a scan of millions of domains is read a partition at a time."""
    fs, _ = output(url)
    for path in partition_files(url, kind):
        yield pq.read_table(path, filesystem=fs, columns=columns)


def read_scan(url: str, kind: str = DOMAINS) -> pa.Table:
    tables = list(read_partitions(url, kind))
    return pa.concat_tables(tables) if tables else pa.table({})
