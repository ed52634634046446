"""What receivers report back, watched: report and complaint files dropped in a folder are ingested
each cycle (then moved to its ingested/ folder: nothing is read twice, nothing is lost), and the
complaint rate — complaints over the messages the DMARC reports counted, over a window — is held
against the thresholds receivers use (Gmail and Yahoo: keep it under 0.1%, never 0.3%)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from maildoctor.feedback.ingest import ingest, report_files
from maildoctor.store.database import bounces, dmarc_records, reports, tls_results


@dataclass(frozen=True)
class ComplaintRate:
    complaints: int
    messages: int
    window: float  # seconds

    @property
    def rate(self) -> float:
        return self.complaints / self.messages if self.messages else 0.0

    def words(self) -> str:
        return f"{self.rate:.2%} ({self.complaints} complaints over {self.messages} messages in {self.window / 86400:g} days)"


def ingest_folder(engine: Engine, folder: Path) -> int:
    """Ingest the files waiting in the folder and move them to folder/ingested; the files read."""
    done = folder / "ingested"
    waiting = [p for p in report_files([folder]) if done not in p.parents]
    if not waiting:
        return 0
    ingest(engine, waiting)
    done.mkdir(exist_ok=True)
    for path in waiting:
        shutil.move(str(path), done / path.name)
    return len(waiting)


def complaint_rate(engine: Engine, now: float, window: float) -> ComplaintRate:
    since = now - window
    with engine.connect() as conn:
        complaints = conn.execute(select(func.count()).where(bounces.c.reason == "feedback", bounces.c.at >= since)).scalar() or 0
        messages = (
            conn.execute(select(func.coalesce(func.sum(dmarc_records.c.count), 0)).where(dmarc_records.c.begin >= since)).scalar() or 0
        )
    return ComplaintRate(int(complaints), int(messages), window)


@dataclass(frozen=True)
class Delivery:
    """What the reports of the window say about the mail sent: DMARC failures, TLS failures, hard bounces."""

    messages: int
    dmarc_failing: int  # neither DKIM nor SPF passed aligned (policy_evaluated)
    tls_sessions: int
    tls_failures: int
    hard_bounces: int

    def share(self, part: int, whole: int) -> float:
        return part / whole if whole else 0.0


def delivery(engine: Engine, now: float, window: float) -> Delivery:
    """What the reports of the window before `now` say (reports that began in it)."""
    since = now - window
    failing = (dmarc_records.c.dkim != "pass") & (dmarc_records.c.spf != "pass")
    with engine.connect() as conn:
        messages, failed = conn.execute(
            select(
                func.coalesce(func.sum(dmarc_records.c.count), 0), func.coalesce(func.sum(dmarc_records.c.count).filter(failing), 0)
            ).where(dmarc_records.c.begin >= since, dmarc_records.c.begin < now)
        ).one()
        sessions, tls_failed = conn.execute(
            select(
                func.coalesce(func.sum(tls_results.c.successes + tls_results.c.failures), 0),
                func.coalesce(func.sum(tls_results.c.failures), 0),
            )
            .select_from(tls_results.join(reports, tls_results.c.report == reports.c.id))
            .where(reports.c.begin >= since, reports.c.begin < now)
        ).one()
        hard = conn.execute(
            select(func.count()).where(bounces.c.kind == "hard", bounces.c.reason != "feedback", bounces.c.at >= since, bounces.c.at < now)
        ).scalar()
    return Delivery(int(messages), int(failed or 0), int(sessions), int(tls_failed), int(hard or 0))


def new_failing_sources(engine: Engine, now: float, window: float, least: int = 10) -> list[tuple[str, str, int]]:
    """(domain, source IP, failing messages) of the sources first seen in the window whose mail
    fails DMARC: a new service nobody set up, or someone sending as the domain."""
    since = now - window
    failing = (dmarc_records.c.dkim != "pass") & (dmarc_records.c.spf != "pass")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                dmarc_records.c.domain,
                dmarc_records.c.source_ip,
                func.min(dmarc_records.c.begin),
                func.sum(dmarc_records.c.count).filter(failing),
            ).group_by(dmarc_records.c.domain, dmarc_records.c.source_ip)
        ).all()
    return [(d, ip, int(n)) for d, ip, first, n in rows if first >= since and n and n >= least]
