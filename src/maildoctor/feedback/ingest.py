"""Ingesting report files into the database: each report once (by organization and report id),
records streamed in batches, anything unreadable kept aside with the reason. No DNS on this path."""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Dialect, Engine

from maildoctor.feedback.aggregate import AggregateMeta, AggregateRecord, ReportError, parse_aggregate
from maildoctor.feedback.bounces import classify
from maildoctor.feedback.failure import parse_failure
from maildoctor.feedback.reputation import Parsed, ReputationError, looks_like_postmaster, looks_like_snds, parse_postmaster, parse_snds
from maildoctor.feedback.tlsrpt import parse_tlsrpt
from maildoctor.feedback.unpack import Document, UnpackError, unpack
from maildoctor.store.database import (
    bounces,
    dkim_selectors,
    dmarc_records,
    failure_reports,
    new_id,
    rejected,
    reports,
    reputation,
    suppression_changes,
    tls_results,
)

BATCH = 2000
_MAILBOX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class IngestResult:
    files: int = 0
    reports: int = 0
    tls_reports: int = 0
    records: int = 0
    duplicates: int = 0
    bounces: int = 0
    complaints: int = 0
    failure_reports: int = 0
    reputation: int = 0  # SNDS rows and Postmaster Tools days
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (source, what was skipped in a file that was read)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    repaired: list[tuple[str, str]] = field(default_factory=list)  # (source, what was repaired to read it)

    def to_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "dmarc_reports": self.reports,
            "tls_reports": self.tls_reports,
            "records": self.records,
            "failure_reports": self.failure_reports,
            "bounces": self.bounces,
            "complaints": self.complaints,
            "duplicates": self.duplicates,
            "reputation": self.reputation,
            "warnings": [{"source": s, "warning": w} for s, w in self.warnings],
            "rejected": [{"source": s, "reason": r} for s, r in self.rejected],
            "repaired": [{"source": s, "repair": r} for s, r in self.repaired],
        }


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
            found = 0
            with path.open("rb") as handle:
                for document in unpack(path.name, handle):
                    found += 1
                    _ingest_document(engine, document, str(path), result)
            if not found and not _ingest_bounce(engine, path, result):
                raise UnpackError(f"{path.name}: neither a report nor a bounce or complaint")
        except (UnpackError, ReportError, ReputationError, OSError) as exc:
            _reject(engine, str(path), str(exc), result)
        except Exception as exc:  # noqa: BLE001  (a file we cannot read must not stop the others)
            _reject(engine, str(path), f"{path.name}: cannot be read ({type(exc).__name__}: {exc})", result)
        if callable(progress):
            progress(path)
    return result


def _ingest_bounce(engine: Engine, path: Path, result: IngestResult) -> bool:
    """A DMARC failure report, a bounce or an ARF complaint (a mail with no report attached);
    False when it is none of them."""
    data = path.read_bytes()
    failure = parse_failure(data)
    if failure is not None:
        with engine.begin() as conn:
            conn.execute(
                insert(failure_reports).values(
                    domain=failure.domain,
                    source_ip=failure.source_ip,
                    arrival=failure.arrival,
                    auth_failure=failure.auth_failure,
                    delivery_result=failure.delivery_result,
                    original_mail_from=failure.original_mail_from[:320],
                    header_from=failure.header_from[:320],
                    subject=failure.subject[:1000],
                    message_id=failure.message_id[:320],
                    source=str(path),
                )
            )
        result.failure_reports += 1
        return True
    found = [
        b
        for b in classify(data)
        if _MAILBOX.match(b.recipient) and b.reason not in ("delivered", "vacation") and b.feedback_type != "auth-failure"
    ]
    if not found:
        return False
    at = _dated(data)
    with engine.begin() as conn:
        conn.execute(
            insert(bounces),
            [
                {
                    "recipient": b.recipient,
                    "reason": b.reason,
                    "kind": b.kind,
                    "status": b.status,
                    "diagnostic": b.diagnostic[:1000],
                    "feedback_type": b.feedback_type,
                    "source": str(path),
                    "at": at,
                }
                for b in found
            ],
        )
    result.complaints += sum(1 for b in found if b.reason == "feedback")
    result.bounces += sum(1 for b in found if b.reason != "feedback")
    return True


SOFT_BOUNCES_TO_SUPPRESS = 5  # a mailbox full for months is dead, and may come back as a spam trap


_DATE = re.compile(rb"^Date:[ \t]*(.+?)\r?$", re.IGNORECASE | re.MULTILINE)


def _dated(data: bytes) -> float:
    """When the bounce was written (its Date header), so that a suppression's last_seen is the
    bounce's, not the day it was ingested; the ingest time when it has no usable date."""
    header_block = re.split(rb"\r?\n\r?\n", data[:65536], maxsplit=1)[0]
    found = _DATE.search(header_block)
    now = time.time()
    if found is None:
        return now
    try:
        when = email.utils.parsedate_to_datetime(found.group(1).decode("ascii", "replace").strip()).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return now
    return when if 0 < when <= now + 86400 else now  # a date in the future is a wrong clock, not the bounce's


def suppressions(engine: Engine, expire_soft_after: float | None = None, now: float | None = None) -> list[dict[str, object]]:
    """Addresses to stop mailing: every complaint, every hard bounce, soft bounces that repeat
    (dropped again once the last is older than expire_soft_after seconds: a full mailbox may be
    emptied), and addresses imported; less those removed, unless they bounced again since. Each
    with its reason and the evidence (the last bounce's answer and file)."""
    from sqlalchemy import case, func

    now = time.time() if now is None else now
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                bounces.c.recipient,
                func.count(),
                func.sum(case((bounces.c.kind == "hard", 1), else_=0)),
                func.sum(case((bounces.c.reason == "feedback", 1), else_=0)),
                func.max(bounces.c.at),
                func.max(bounces.c.reason),
                func.max(bounces.c.id),
            ).group_by(bounces.c.recipient)
        ).all()
        last_ids = [row[6] for row in rows]
        evidence = (
            {
                r.id: r
                for r in conn.execute(
                    select(bounces.c.id, bounces.c.status, bounces.c.diagnostic, bounces.c.source, bounces.c.feedback_type).where(
                        bounces.c.id.in_(last_ids)
                    )
                )
            }
            if last_ids
            else {}
        )
        changes = {r.address: r for r in conn.execute(select(suppression_changes))}
    out: dict[str, dict[str, object]] = {}
    for recipient, total, hard, complaints, last, reason, last_id in rows:
        soft = total - hard - complaints
        why = "complaint" if complaints else "hard bounce" if hard else "repeated soft bounces" if soft >= SOFT_BOUNCES_TO_SUPPRESS else ""
        if not why or (why == "repeated soft bounces" and expire_soft_after is not None and now - last > expire_soft_after):
            continue
        change = changes.get(recipient)
        if change is not None and change.action == "remove" and change.at >= last:
            continue  # removed by hand, and no bounce since
        seen = evidence.get(last_id)
        said = (
            ""
            if seen is None
            else (
                f"feedback-type {seen.feedback_type}"
                if seen.feedback_type
                # the last one's
                else f"{seen.status} {seen.diagnostic}".strip()
            )[:300]
        )
        out[recipient] = {
            "address": recipient,
            "why": why,
            "reason": "feedback" if complaints else reason,
            "bounces": int(total),
            "last_seen": _iso(last),
            "evidence": said,
            "source": seen.source if seen is not None else "",
        }
    for address, change in changes.items():
        if change.action == "add" and address not in out:
            out[address] = {
                "address": address,
                "why": "imported",
                "reason": change.reason or "imported",
                "bounces": 0,
                "last_seen": _iso(change.at),
                "evidence": "",
                "source": "import",
            }
    return sorted(out.values(), key=lambda r: str(r["address"]))


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


def change_suppressions(engine: Engine, addresses: Iterable[str], action: str, reason: str = "") -> int:
    """Import (action add) or remove addresses by hand; the number changed. A later bounce of a
    removed address suppresses it again."""
    now = time.time()
    changed = 0
    with engine.begin() as conn:
        for address in dict.fromkeys(a.strip().lower() for a in addresses):
            if not address:
                continue
            conn.execute(suppression_changes.delete().where(suppression_changes.c.address == address))
            conn.execute(insert(suppression_changes).values(address=address, action=action, reason=reason, at=now))
            changed += 1
    return changed


def _reject(engine: Engine, source: str, reason: str, result: IngestResult) -> None:
    result.rejected.append((source, reason))
    with engine.begin() as conn:
        conn.execute(insert(rejected).values(source=source, reason=reason, at=time.time()))


def _exists(conn: Connection, kind: str, org: str, report_id: str) -> bool:
    return (
        conn.execute(select(reports.c.id).where(reports.c.kind == kind, reports.c.org == org, reports.c.report_id == report_id)).first()
        is not None
    )


@contextmanager
def _report_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for one report. SQLite does not wait for the disk at its commit: a report lost
    to a power cut is read again from its file next time (reports are de-duplicated), and the wait
    cost a tenth of the ingestion time. The connection goes back to the pool as the inbox needs it."""
    with engine.connect() as conn:
        sqlite = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if sqlite is not None:
            sqlite.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                yield conn
        finally:
            if sqlite is not None:
                sqlite.execute("PRAGMA synchronous=FULL")


def _ingest_reputation(engine: Engine, parsed: Parsed, source: str, result: IngestResult) -> None:
    """Each (provider, subject, period) once: a newer export of the same day replaces the older."""
    with engine.begin() as conn:
        for seen in parsed.observations:
            conn.execute(
                reputation.delete().where(
                    reputation.c.source == seen.source, reputation.c.subject == seen.subject, reputation.c.begin == seen.begin
                )
            )
            conn.execute(
                insert(reputation).values(
                    source=seen.source, subject=seen.subject, begin=seen.begin, end=seen.end, data=json.dumps(seen.data), file=source
                )
            )
    result.reputation += len(parsed.observations)
    result.warnings += [(source, warning) for warning in parsed.warnings]


REPUTATION_LIMIT = 64 << 20  # bytes: an SNDS export or a Postmaster download is far smaller


def _ingest_document(engine: Engine, document: Document, source: str, result: IngestResult) -> None:
    head = document.head(4096)
    if looks_like_postmaster(head) or looks_like_snds(head):
        data = document.stream.read(REPUTATION_LIMIT + 1)
        if len(data) > REPUTATION_LIMIT:
            raise ReputationError(f"{document.name}: over {REPUTATION_LIMIT >> 20} MB, more than any SNDS or Postmaster export")
        parse = parse_postmaster if looks_like_postmaster(head) else parse_snds
        _ingest_reputation(engine, parse(data, document.name), source, result)
        return
    if head.lstrip().startswith(b"{"):
        report = parse_tlsrpt(document.stream, document.name)
        with engine.begin() as conn:
            if _exists(conn, "tlsrpt", report.org, report.report_id):
                result.duplicates += 1
                return
            domains = sorted({p.policy_domain for p in report.policies}) or [""]
            pk = new_id(
                conn.execute(
                    insert(reports).values(
                        kind="tlsrpt",
                        org=report.org,
                        report_id=report.report_id,
                        domain=domains[0],
                        begin=report.begin,
                        end=report.end,
                        source=source,
                        ingested=time.time(),
                    )
                )
            )
            for policy in report.policies:
                conn.execute(
                    insert(tls_results).values(
                        report=pk,
                        policy_domain=policy.policy_domain,
                        policy_type=policy.policy_type,
                        successes=policy.successes,
                        failures=policy.failures,
                        details=json.dumps(policy.details),
                    )
                )
        result.tls_reports += 1
        return
    items = parse_aggregate(document.stream, document.name)
    meta = next(items)
    assert isinstance(meta, AggregateMeta)
    with _report_transaction(engine) as conn:  # a report that breaks half-way leaves nothing behind
        if _exists(conn, "dmarc", meta.org, meta.report_id):
            result.duplicates += 1
            return
        pk = new_id(
            conn.execute(
                insert(reports).values(
                    kind="dmarc",
                    org=meta.org,
                    report_id=meta.report_id,
                    domain=meta.domain,
                    begin=meta.begin,
                    end=meta.end,
                    source=f"{source} ({document.name})",
                    ingested=time.time(),
                )
            )
        )
        batch: list[tuple[object, ...]] = []
        stored = 0  # counted in the result only once the report's transaction has committed
        selectors: set[tuple[str, str]] = set()
        for record in items:
            assert isinstance(record, AggregateRecord)
            batch.append(
                (
                    pk,
                    meta.domain,
                    meta.begin,
                    record.source_ip,
                    record.count,
                    record.disposition,
                    record.dkim,
                    record.spf,
                    record.header_from,
                    record.envelope_from,
                    _json(tuple(record.dkim_results)),
                    _json(tuple(record.spf_results)),
                )
            )
            for domain, selector, _ in record.dkim_results:
                if selector and (domain == meta.domain or domain.endswith("." + meta.domain)):
                    selectors.add((domain, selector))
            if len(batch) >= BATCH:
                _insert_records(conn, batch)
                stored += len(batch)
                batch = []
        if batch:
            _insert_records(conn, batch)
            stored += len(batch)
        if meta.repairs:  # known only once the whole report was read (a bad byte may be anywhere)
            conn.execute(reports.update().where(reports.c.id == pk).values(repairs=json.dumps(meta.repairs)))
        _remember(conn, selectors, time.time())
    result.reports += 1
    result.records += stored
    result.repaired += [(f"{source} ({document.name})", repair) for repair in meta.repairs]


_RECORD_COLUMNS = [c.name for c in dmarc_records.columns if c.name != "id"]


@lru_cache(maxsize=4096)
def _json(results: tuple[tuple[str, str, str], ...]) -> str:
    return json.dumps(results)  # records repeat the same few results: encoded once each


@lru_cache(maxsize=8)
def _compiled_insert(dialect: Dialect) -> tuple[str, list[int] | None]:
    """The INSERT for dmarc_records in the driver's own parameter style, and for positional styles
    the order of the columns in it."""
    compiled = insert(dmarc_records).compile(dialect=dialect, column_keys=_RECORD_COLUMNS)
    order = [_RECORD_COLUMNS.index(name) for name in compiled.positiontup or []] if compiled.positional else None
    return compiled.string, order


def _insert_records(conn: Connection, rows: list[tuple[object, ...]]) -> None:
    """Records go to the driver directly: SQLAlchemy's per-row parameter handling cost as much as parsing them."""
    sql, order = _compiled_insert(conn.dialect)
    if order is None:
        conn.exec_driver_sql(sql, [dict(zip(_RECORD_COLUMNS, row)) for row in rows])
    elif order == list(range(len(_RECORD_COLUMNS))):
        conn.exec_driver_sql(sql, rows)
    else:
        conn.exec_driver_sql(sql, [tuple(row[i] for i in order) for row in rows])


def _remember(conn: Connection, selectors: Iterable[tuple[str, str]], now: float) -> None:
    for domain, selector in selectors:
        known = conn.execute(
            select(dkim_selectors.c.domain).where(dkim_selectors.c.domain == domain, dkim_selectors.c.selector == selector)
        ).first()
        if known is None:
            conn.execute(insert(dkim_selectors).values(domain=domain, selector=selector, last_seen=now))
        else:
            conn.execute(
                dkim_selectors.update()
                .where(dkim_selectors.c.domain == domain, dkim_selectors.c.selector == selector)
                .values(last_seen=now)
            )


def remember_selectors(engine: Engine, selectors: Iterable[tuple[str, str]]) -> None:
    """DKIM selectors seen working for a domain (in mail the inbox verified): later audits try them."""
    pairs = {(d.lower().rstrip("."), s.lower()) for d, s in selectors if d and s}
    if pairs:
        with engine.begin() as conn:
            _remember(conn, sorted(pairs), time.time())


def selectors_seen(engine: Engine, domain: str) -> list[str]:
    """The DKIM selectors of domain that its aggregate reports have shown, most recent first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(dkim_selectors.c.selector).where(dkim_selectors.c.domain == domain.lower()).order_by(dkim_selectors.c.last_seen.desc())
        )
        return [r[0] for r in rows]
