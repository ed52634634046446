"""Ingesting report files into the database: each report once (by organization and report id),
records streamed in batches, anything unreadable kept aside with the reason. No DNS on this path."""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from maildoctor.feedback.aggregate import AggregateMeta, AggregateRecord, ReportError, parse_aggregate
from maildoctor.feedback.tlsrpt import parse_tlsrpt
from maildoctor.feedback.unpack import Document, UnpackError, unpack
from maildoctor.inbox.store import dkim_selectors, dmarc_records, rejected, reports, tls_results

BATCH = 2000


@dataclass
class IngestResult:
    files: int = 0
    reports: int = 0
    tls_reports: int = 0
    records: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)

    def to_json(self) -> dict[str, object]:
        return {"files": self.files, "dmarc_reports": self.reports, "tls_reports": self.tls_reports, "records": self.records,
                "duplicates": self.duplicates, "rejected": [{"source": s, "reason": r} for s, r in self.rejected]}


def report_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def ingest(engine: Engine, paths: Iterable[Path], progress: object = None) -> IngestResult:
    result = IngestResult()
    for path in report_files(paths):
        result.files += 1
        try:
            with path.open("rb") as handle:
                for document in unpack(path.name, handle):
                    _ingest_document(engine, document, str(path), result)
        except (UnpackError, ReportError, OSError) as exc:
            _reject(engine, str(path), str(exc), result)
        if callable(progress):
            progress(path)
    return result


def _reject(engine: Engine, source: str, reason: str, result: IngestResult) -> None:
    result.rejected.append((source, reason))
    with engine.begin() as conn:
        conn.execute(insert(rejected).values(source=source, reason=reason, at=time.time()))


def _exists(conn: Connection, kind: str, org: str, report_id: str) -> bool:
    return conn.execute(select(reports.c.id).where(reports.c.kind == kind, reports.c.org == org,
                                                   reports.c.report_id == report_id)).first() is not None


def _ingest_document(engine: Engine, document: Document, source: str, result: IngestResult) -> None:
    if document.head(256).lstrip().startswith(b"{"):
        report = parse_tlsrpt(document.stream, document.name)
        with engine.begin() as conn:
            if _exists(conn, "tlsrpt", report.org, report.report_id):
                result.duplicates += 1
                return
            domains = sorted({p.policy_domain for p in report.policies}) or [""]
            pk = conn.execute(insert(reports).values(kind="tlsrpt", org=report.org, report_id=report.report_id, domain=domains[0],
                                                     begin=report.begin, end=report.end, source=source, ingested=time.time())).inserted_primary_key[0]
            for policy in report.policies:
                conn.execute(insert(tls_results).values(report=pk, policy_domain=policy.policy_domain, policy_type=policy.policy_type,
                                                        successes=policy.successes, failures=policy.failures,
                                                        details=json.dumps(policy.details)))
        result.tls_reports += 1
        return
    items = parse_aggregate(document.stream, document.name)
    meta = next(items)
    assert isinstance(meta, AggregateMeta)
    with engine.begin() as conn:  # one transaction: a report that breaks half-way leaves nothing behind
        if _exists(conn, "dmarc", meta.org, meta.report_id):
            result.duplicates += 1
            return
        pk = conn.execute(insert(reports).values(kind="dmarc", org=meta.org, report_id=meta.report_id, domain=meta.domain,
                                                 begin=meta.begin, end=meta.end, source=f"{source} ({document.name})",
                                                 ingested=time.time())).inserted_primary_key[0]
        batch: list[dict[str, object]] = []
        selectors: set[tuple[str, str]] = set()
        for record in items:
            assert isinstance(record, AggregateRecord)
            batch.append({"report": pk, "domain": meta.domain, "begin": meta.begin, "source_ip": record.source_ip,
                          "count": record.count, "disposition": record.disposition, "dkim": record.dkim, "spf": record.spf,
                          "header_from": record.header_from, "envelope_from": record.envelope_from,
                          "dkim_results": json.dumps(record.dkim_results), "spf_results": json.dumps(record.spf_results)})
            for domain, selector, _ in record.dkim_results:
                if selector and (domain == meta.domain or domain.endswith("." + meta.domain)):
                    selectors.add((domain, selector))
            if len(batch) >= BATCH:
                conn.execute(insert(dmarc_records), batch)
                result.records += len(batch)
                batch = []
        if batch:
            conn.execute(insert(dmarc_records), batch)
            result.records += len(batch)
        now = time.time()
        for domain, selector in selectors:
            known = conn.execute(select(dkim_selectors.c.domain).where(dkim_selectors.c.domain == domain,
                                                                       dkim_selectors.c.selector == selector)).first()
            if known is None:
                conn.execute(insert(dkim_selectors).values(domain=domain, selector=selector, last_seen=now))
            else:
                conn.execute(dkim_selectors.update().where(dkim_selectors.c.domain == domain, dkim_selectors.c.selector == selector)
                             .values(last_seen=now))
    result.reports += 1


def selectors_seen(engine: Engine, domain: str) -> list[str]:
    """The DKIM selectors of domain that its aggregate reports have shown, most recent first."""
    with engine.connect() as conn:
        rows = conn.execute(select(dkim_selectors.c.selector).where(dkim_selectors.c.domain == domain.lower())
                            .order_by(dkim_selectors.c.last_seen.desc()))
        return [r[0] for r in rows]
