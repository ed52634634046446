"""Inbox storage on SQLite (the embedded default) and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.store.database import MIGRATIONS, Received, Store, migrate
from maildoctor.testing.dnsserver import TestDnsServer
from tests.inbox.postgres import postgres_server
from tests.inbox.server import start_inbox


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = str(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres")
    opened = Store(url)
    yield opened
    with opened.engine.begin() as conn:  # the PostgreSQL database is shared by the module's tests
        from maildoctor.store.database import messages, tests

        conn.execute(messages.delete())
        conn.execute(tests.delete())
    opened.close()


def received(test_id: str, n: int) -> Received:
    return Received(test_id, "192.0.2.1", "mail.example.com", "b@example.com", "md-x@inbox.test", True, b"Subject: %d\r\n\r\nhi\r\n" % n)


def test_messages_are_committed_together_and_graded_once(store: Store) -> None:
    test_id, local = store.create_test()
    assert store.test_for_address(local) == test_id and store.test_for_address("md-unknown") is None

    async def burst() -> list[int]:
        return list(await asyncio.gather(*(store.store_message(received(test_id, n)) for n in range(50))))

    ids = asyncio.run(burst())
    assert len(set(ids)) == 50 and sorted(store.ungraded()) == sorted(ids)
    store.save_grades([(ids[0], 7.5, {"score": 7.5, "findings": []})])
    assert ids[0] not in store.ungraded()
    view = store.test(test_id)
    assert view is not None and view["message"]["id"] == max(ids)
    assert [r["id"] for r in store.messages_for_grading(ids[:3])] and store.raw(ids[1]).startswith(b"Subject: 1")


def test_listing_deleting_and_purging(store: Store) -> None:
    keep, _ = store.create_test()
    gone, _ = store.create_test()
    assert {t["id"] for t in store.list_tests()} >= {keep, gone}
    assert store.delete_test(gone) and not store.delete_test(gone) and store.test(gone) is None
    assert store.purge(time.time() + 1) >= 1 and store.test(keep) is None


def test_migrations_are_idempotent(store: Store) -> None:
    assert migrate(store.engine) == len(MIGRATIONS) and migrate(store.engine) == len(MIGRATIONS)


def test_serve_on_postgresql(postgres: str, tmp_path: Path) -> None:
    from maildoctor.dns.zonedata import ZoneSet, load_zone_text
    from tests.inbox.conftest import SENDER
    from tests.inbox.test_serve import send, signed
    from tests.keys import publish_txt, rsa_p

    zones = ZoneSet([load_zone_text(SENDER, None)])
    publish_txt(zones, "rsa._domainkey.sender.test", f"v=DKIM1; k=rsa; p={rsa_p()}")
    with TestDnsServer(zones) as dns:
        inbox = start_inbox(tmp_path / "data", dns.address, "--db", postgres)
        try:
            test = inbox.new_test()
            send(inbox, test["address"], signed())
            assert inbox.wait_graded(test["id"])["report"]["facts"]["dmarc"]["result"] == "pass"
        finally:
            inbox.stop()
    assert not (tmp_path / "data" / "maildoctor.sqlite3").exists()  # everything went to PostgreSQL


def test_reports_and_bounces_on_postgresql(postgres: str) -> None:
    from maildoctor.feedback.ingest import ingest, suppressions
    from maildoctor.feedback.summary import summarize
    from maildoctor.store.database import connect
    from tests.conftest import CORPORA

    engine = connect(postgres)
    migrate(engine)
    corpus = CORPORA
    result = ingest(
        engine,
        [
            corpus / "dmarc" / "aggregate",
            corpus / "dmarc" / "smtp_tls",
            corpus / "bounces" / "lhost-postfix-03.eml",
            corpus / "bounces" / "arf-16.eml",
        ],
    )
    assert (
        result.reports == 7 and result.tls_reports == 1 and result.bounces == 1 and result.complaints == 7
    )  # arf-16 names seven recipients
    assert ingest(engine, [corpus / "dmarc" / "aggregate"]).duplicates == 7
    assert summarize(engine, "example.com")[0].messages > 0
    assert "kijitora@example.com" in {r["address"] for r in suppressions(engine)}
