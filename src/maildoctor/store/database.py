"""Storage of tests and received messages: SQLite (WAL) by default, any SQLAlchemy URL (PostgreSQL).

A message is committed before its 250 is sent. Commits from concurrent SMTP sessions are grouped
by one writer thread: each waits for a commit that includes its row, and a burst of messages
costs one disk sync instead of one each."""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine

metadata = MetaData()
schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
tests = Table(
    "tests",
    metadata,
    Column("id", String(32), primary_key=True),  # the result page's token
    Column("address", String(64), unique=True, nullable=False),  # the local part handed out
    Column("created", Float, nullable=False),
)
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("test_id", String(32), index=True, nullable=False),
    Column("received", Float, nullable=False),
    Column("client_ip", String(64), nullable=False),
    Column("helo", String(255), nullable=False),
    Column("mail_from", String(320), nullable=False),
    Column("rcpt", String(320), nullable=False),
    Column("tls", Integer, nullable=False),
    Column("tls_cipher", String(128), nullable=False, server_default=""),  # "TLSv1.3 TLS_AES_256_GCM_SHA384"
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("score", Float),
    Column("report", Text),  # JSON, once graded
    Column("graded", Float),
)
# Feedback: DMARC aggregate and TLS-RPT reports, what could not be read, and the DKIM selectors seen.
reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # dmarc, tlsrpt
    Column("org", String(255), nullable=False),
    Column("report_id", String(255), nullable=False),
    Column("domain", String(255), index=True, nullable=False),
    Column("begin", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("ingested", Float, nullable=False),
    Column("repairs", Text, nullable=False, server_default=""),  # JSON: what was repaired to read it
    UniqueConstraint("kind", "org", "report_id", name="uq_report"),
)
dmarc_records = Table(
    "dmarc_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report", Integer, index=True, nullable=False),
    Column("domain", String(255), index=True, nullable=False),
    Column("begin", Float, nullable=False),
    Column("source_ip", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("disposition", String(16), nullable=False),
    Column("dkim", String(16), nullable=False),
    Column("spf", String(16), nullable=False),
    Column("header_from", String(255), nullable=False),
    Column("envelope_from", String(255), nullable=False),
    Column("dkim_results", Text, nullable=False),  # JSON [[domain, selector, result]]
    Column("spf_results", Text, nullable=False),  # JSON [[domain, scope, result]]
)
tls_results = Table(
    "tls_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report", Integer, index=True, nullable=False),
    Column("policy_domain", String(255), index=True, nullable=False),
    Column("policy_type", String(32), nullable=False),
    Column("successes", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("details", Text, nullable=False),  # JSON failure-details
)
rejected = Table(
    "rejected",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
)
dkim_selectors = Table(
    "dkim_selectors",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("selector", String(255), primary_key=True),
    Column("last_seen", Float, nullable=False),
)
bounces = Table(
    "bounces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(320), index=True, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("kind", String(8), nullable=False),  # hard, soft, n/a
    Column("status", String(16), nullable=False),
    Column("diagnostic", Text, nullable=False),
    Column("feedback_type", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("at", Float, nullable=False),
)
failure_reports = Table(
    "failure_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain", String(255), index=True, nullable=False),
    Column("source_ip", String(64), nullable=False),
    Column("arrival", Float, nullable=False),
    Column("auth_failure", String(32), nullable=False),
    Column("delivery_result", String(32), nullable=False),
    Column("original_mail_from", String(320), nullable=False),
    Column("header_from", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", String(320), nullable=False),
    Column("source", Text, nullable=False),
)
domain_audits = Table(  # audits asked for on the inbox's start page, at a token URL like the tests
    "domain_audits",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("domain", String(255), nullable=False),
    Column("created", Float, nullable=False, index=True),
    Column("report", Text, nullable=False),  # JSON
)

suppression_changes = Table(  # what a user did to the list: an address imported, or removed
    "suppression_changes",
    metadata,
    Column("address", String(320), primary_key=True),
    Column("action", String(8), nullable=False),  # add, remove
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
)
reputation = Table(  # what SNDS and Postmaster Tools said about an IP or a domain over a period
    "reputation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),  # snds, postmaster
    Column("subject", String(255), index=True, nullable=False),  # the IP or the domain
    Column("begin", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("data", Text, nullable=False),  # JSON, as feedback.reputation reads it
    Column("file", Text, nullable=False),
)
monitor_states = Table(  # the monitor's last reading of each (target, check): an IP on a list, a domain's area
    "monitor_states",
    metadata,
    Column("target", String(255), primary_key=True),
    Column("check", String(255), primary_key=True),
    Column("state", String(16), nullable=False),  # listed, clean, unknown
    Column("detail", Text, nullable=False),
    Column("since", Float, nullable=False),  # when it entered this state
    Column("clean_streak", Integer, nullable=False),  # clean cycles in a row (the hysteresis of a listing)
    Column("updated", Float, nullable=False),
)
monitor_alerts = Table(  # what changed, opened once and resolved once
    "monitor_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(255), index=True, nullable=False),
    Column("check", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # listed, changed, relays
    Column("opened", Float, nullable=False),
    Column("resolved", Float, nullable=True),
    Column("title", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON: evidence, delisting page, fix
)
monitor_snapshots = Table(  # a watched domain's records as last read, to see what changes
    "monitor_snapshots",
    metadata,
    Column("target", String(255), primary_key=True),
    Column("snapshot", Text, nullable=False),  # JSON
    Column("taken", Float, nullable=False),
)
# Each migration brings the schema from version i to i+1; new ones are appended, never edited.
MIGRATIONS: list[Any] = [
    lambda conn: metadata.create_all(conn, tables=[tests, messages]),
    lambda conn: metadata.create_all(conn, tables=[reports, dmarc_records, tls_results, rejected, dkim_selectors]),
    lambda conn: metadata.create_all(conn, tables=[bounces]),
    lambda conn: metadata.create_all(conn, tables=[failure_reports]),
    lambda conn: metadata.create_all(conn, tables=[suppression_changes]),
    lambda conn: metadata.create_all(conn, tables=[reputation]),
    lambda conn: _add_column(conn, "reports", "repairs", "TEXT NOT NULL DEFAULT ''"),
    lambda conn: _add_column(conn, "messages", "tls_cipher", "VARCHAR(128) NOT NULL DEFAULT ''"),
    lambda conn: metadata.create_all(conn, tables=[domain_audits]),
    lambda conn: metadata.create_all(conn, tables=[monitor_states, monitor_alerts, monitor_snapshots]),
]


def _add_column(conn: Any, table: str, column: str, declaration: str) -> None:
    """A column added to a table of an older database (a new one has it from create_all already)."""
    from sqlalchemy import inspect, text

    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}"))


ADDRESS_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: addresses get typed


PASTED = "(pasted)"  # the rcpt of a message pasted into the web form: no SMTP session, no TLS to speak of


@dataclass
class Received:
    test_id: str
    client_ip: str
    helo: str
    mail_from: str
    rcpt: str
    tls: bool
    raw: bytes
    tls_cipher: str = ""  # protocol and cipher of the session, when tls


def new_id(result: Any) -> int:
    """The primary key of the row an INSERT made."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT without a primary key"
    return int(key[0])


def connect(url: str) -> Engine:
    if "://" not in url:  # a directory: the embedded default
        directory = Path(url)
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{directory / 'maildoctor.sqlite3'}"
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> int:
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(select(schema_version.c.version)).scalar()
        if current is None:
            conn.execute(insert(schema_version).values(version=0))
            current = 0
        for version in range(current, len(MIGRATIONS)):
            MIGRATIONS[version](conn)
            conn.execute(update(schema_version).values(version=version + 1))
        return len(MIGRATIONS)


class Store:
    def __init__(self, url: str) -> None:
        self.engine = connect(url)
        migrate(self.engine)
        self._writes: queue.Queue[tuple[Received, asyncio.Future[int], asyncio.AbstractEventLoop] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="maildoctor-store", daemon=True)
        self._writer.start()
        self._addresses: dict[str, str] = {}

    def close(self) -> None:
        self._writes.put(None)
        self._writer.join(30)
        self.engine.dispose()

    # -- tests ---------------------------------------------------------------------------------
    def create_test(self) -> tuple[str, str]:
        test_id = secrets.token_urlsafe(16)
        local = "md-" + "".join(secrets.choice(ADDRESS_ALPHABET) for _ in range(10))
        with self.engine.begin() as conn:
            conn.execute(insert(tests).values(id=test_id, address=local, created=time.time()))
        self._addresses[local] = test_id
        return test_id, local

    def test_for_address(self, local: str) -> str | None:
        local = local.lower()
        if local in self._addresses:
            return self._addresses[local]
        with self.engine.connect() as conn:
            found = conn.execute(select(tests.c.id).where(tests.c.address == local)).scalar()
        if found:
            self._addresses[local] = found
        return found

    def test(self, test_id: str, message_id: int | None = None) -> dict[str, Any] | None:
        """The test and one of its messages: the latest, or message_id (None when it is not this test's)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(tests).where(tests.c.id == test_id)).mappings().first()
            if row is None:
                return None
            chosen = (
                messages.c.test_id == test_id if message_id is None else (messages.c.test_id == test_id) & (messages.c.id == message_id)
            )
            latest = (
                conn.execute(
                    select(
                        messages.c.id,
                        messages.c.received,
                        messages.c.client_ip,
                        messages.c.helo,
                        messages.c.mail_from,
                        messages.c.tls,
                        messages.c.tls_cipher,
                        messages.c.size,
                        messages.c.score,
                        messages.c.report,
                        messages.c.graded,
                    )
                    .where(chosen)
                    .order_by(messages.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return {"test": dict(row), "message": dict(latest) if latest else None}

    def history(self, test_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Every message a test address received, newest first, with its grade once there is one."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.id, messages.c.received, messages.c.client_ip, messages.c.score, messages.c.report)
                .where(messages.c.test_id == test_id)
                .order_by(messages.c.id.desc())
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def raw(self, message_id: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(messages.c.raw).where(messages.c.id == message_id)).scalar()

    def list_tests(self, limit: int = 200) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            counts = (
                select(messages.c.test_id, func.count().label("messages"), func.max(messages.c.score).label("score"))
                .group_by(messages.c.test_id)
                .subquery()
            )
            rows = (
                conn.execute(
                    select(tests.c.id, tests.c.address, tests.c.created, counts.c.messages, counts.c.score)
                    .select_from(tests.outerjoin(counts, counts.c.test_id == tests.c.id))
                    .order_by(tests.c.created.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def delete_test(self, test_id: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(messages).where(messages.c.test_id == test_id))
            gone = conn.execute(delete(tests).where(tests.c.id == test_id)).rowcount
        self._addresses = {a: t for a, t in self._addresses.items() if t != test_id}
        return bool(gone)

    def purge(self, older_than: float) -> int:
        """Tests (and their messages) created before older_than (a UNIX time)."""
        with self.engine.begin() as conn:
            old = [r[0] for r in conn.execute(select(tests.c.id).where(tests.c.created < older_than))]
            for start in range(0, len(old), 500):
                chunk = old[start : start + 500]
                conn.execute(delete(messages).where(messages.c.test_id.in_(chunk)))
                conn.execute(delete(tests).where(tests.c.id.in_(chunk)))
            conn.execute(delete(domain_audits).where(domain_audits.c.created < older_than))
        self._addresses = {a: t for a, t in self._addresses.items() if t not in set(old)}
        return len(old)

    def save_audit(self, domain: str, report: dict[str, Any]) -> str:
        audit_id = secrets.token_urlsafe(16)
        with self.engine.begin() as conn:
            conn.execute(insert(domain_audits).values(id=audit_id, domain=domain, created=time.time(), report=json.dumps(report)))
        return audit_id

    def audit(self, audit_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(domain_audits).where(domain_audits.c.id == audit_id)).mappings().first()
        return {**dict(row), "report": json.loads(row["report"])} if row else None

    # -- messages ------------------------------------------------------------------------------
    async def store_message(self, received: Received) -> int:
        """Returns once the message is committed to the database (and so on disk)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._writes.put((received, future, loop))
        return await future

    def _write_loop(self) -> None:
        while True:
            first = self._writes.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 256:
                try:
                    item = self._writes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._writes.put(None)
                    break
                batch.append(item)
            try:
                ids = []
                with self.engine.begin() as conn:
                    for received, _, _ in batch:
                        result = conn.execute(
                            insert(messages).values(
                                test_id=received.test_id,
                                received=time.time(),
                                client_ip=received.client_ip,
                                helo=received.helo[:255],
                                mail_from=received.mail_from[:320],
                                rcpt=received.rcpt[:320],
                                tls=int(received.tls),
                                tls_cipher=received.tls_cipher[:128],
                                size=len(received.raw),
                                raw=received.raw,
                            )
                        )
                        ids.append(new_id(result))
                for (_, future, loop), message_id in zip(batch, ids):
                    loop.call_soon_threadsafe(_resolve, future, message_id, None)
            except Exception as exc:  # noqa: BLE001  (the sessions answer 451: the client retries later)
                for _, future, loop in batch:
                    loop.call_soon_threadsafe(_resolve, future, 0, exc)

    def ungraded(self) -> list[int]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(messages.c.id).where(messages.c.report.is_(None)).order_by(messages.c.id))]

    def messages_for_grading(self, message_ids: list[int]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(messages.c.id.in_(message_ids))).mappings().all()
        return [dict(r) for r in rows]

    def save_grades(self, grades: list[tuple[int, float, dict[str, Any]]]) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            for message_id, score, report in grades:
                conn.execute(
                    update(messages)
                    .where(messages.c.id == message_id)
                    .values(score=score, report=json.dumps(report, ensure_ascii=False), graded=now)
                )


def _resolve(future: asyncio.Future[int], value: int, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
