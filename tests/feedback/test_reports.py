"""Report ingestion on the public corpora and on hostile input, the summary, and the selectors that
audits take from the reports."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.feedback import unpack
from maildoctor.feedback.ingest import ingest, selectors_seen
from maildoctor.feedback.summary import name_sources, summarize, summary_findings, tls_failures
from maildoctor.store.database import connect, migrate
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import CORPORA
from tests.inbox.postgres import postgres_server
from tests.keys import publish_txt, rsa_p
from tests.test_cli import run

CORPUS = CORPORA / "dmarc"
RECORD = """<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated><disposition>none</disposition>
<dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row><identifiers><header_from>shop.test</header_from>
<envelope_from>{envelope}</envelope_from></identifiers><auth_results><dkim><domain>{signer}</domain><selector>{selector}</selector>
<result>pass</result></dkim><spf><domain>{envelope}</domain><result>pass</result></spf></auth_results></record>"""


def aggregate(report_id: str, records: list[dict[str, object]], org: str = "google.com") -> bytes:
    body = "".join(RECORD.format(**r) for r in records)
    return (
        f"<?xml version='1.0'?><feedback><report_metadata><org_name>{org}</org_name><email>x@{org}</email>"
        f"<report_id>{report_id}</report_id><date_range><begin>1763000000</begin><end>1763086399</end></date_range>"
        f"</report_metadata><policy_published><domain>shop.test</domain><p>none</p></policy_published>{body}</feedback>"
    ).encode()


GOOD = {
    "ip": "192.0.2.10",
    "count": 900,
    "dkim": "pass",
    "spf": "pass",
    "envelope": "shop.test",
    "signer": "shop.test",
    "selector": "s2025",
}
NEWSLETTER = {
    "ip": "198.51.100.7",
    "count": 400,
    "dkim": "fail",
    "spf": "fail",
    "envelope": "bounces.mailer.test",
    "signer": "sendgrid.net",
    "selector": "smtpapi",
}


def test_every_corpus_sample_parses_or_is_rejected_with_a_reason(engine: Engine) -> None:
    result = ingest(engine, [CORPUS / "aggregate", CORPUS / "extract_report", CORPUS / "smtp_tls"])
    assert [Path(s).name for s, _ in result.rejected] == ["invalid_xml.xml"]
    assert "not well-formed XML" in result.rejected[0][1] and "line 5" in result.rejected[0][1]
    assert result.reports == 9 and result.tls_reports == 1
    assert result.duplicates == 2 and result.records > 40  # nice-input .xml, .xml.gz and .xml.zip are one report


def test_failure_reports(engine: Engine) -> None:
    from sqlalchemy import select

    from maildoctor.store.database import failure_reports

    result = ingest(engine, [CORPUS / "failure"])
    assert result.failure_reports == 2 and not result.rejected and result.complaints == 0  # auth-failure is no complaint
    with engine.connect() as conn:
        rows = {r.source_ip: r for r in conn.execute(select(failure_reports))}
    assert rows["10.10.10.10"].domain == "example.com" and rows["10.10.10.10"].delivery_result == "delivered"
    assert rows["203.0.113.68"].subject == "Payment from your account." and rows["203.0.113.68"].header_from == "<user@example.com>"


def test_compressed_attachments_in_mail_and_mbox(engine: Engine, tmp_path: Path) -> None:
    xml = aggregate("r-mail-1", [GOOD])
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("google.com!shop.test!1763000000!1763086399.xml", aggregate("r-mail-2", [GOOD]))
    mails = []
    for name, payload, subtype in (("r1.xml.gz", gzip.compress(xml), "gzip"), ("r2.zip", zipped.getvalue(), "zip")):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "noreply-dmarc-support@google.com", "dmarc@shop.test", "Report"
        message.set_content("report attached")
        message.add_attachment(payload, maintype="application", subtype=subtype, filename=name)
        mails.append(message.as_bytes())
    (tmp_path / "one.eml").write_bytes(mails[0])
    (tmp_path / "all.mbox").write_bytes(b"".join(b"From dmarc@google.com Mon Nov 16 00:00:00 2026\n" + m + b"\n" for m in mails))
    result = ingest(engine, [tmp_path / "one.eml", tmp_path / "all.mbox"])
    assert result.reports == 2 and result.duplicates == 1 and not result.rejected


def test_entity_expansion_is_refused(engine: Engine, tmp_path: Path) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<feedback><report_metadata><org_name>&lol2;</org_name></report_metadata></feedback>"
    )
    (tmp_path / "bomb.xml").write_bytes(bomb)
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><feedback>&e;</feedback>'
    (tmp_path / "external.xml").write_bytes(external)
    result = ingest(engine, [tmp_path / "bomb.xml", tmp_path / "external.xml"])
    assert result.reports == 0 and len(result.rejected) == 2 and all("refused" in r for _, r in result.rejected)


def test_decompression_bombs_are_capped(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unpack, "MAX_DECOMPRESSED", 5 << 20)
    (tmp_path / "bomb.xml.gz").write_bytes(gzip.compress(b"<feedback>" + b" " * (20 << 20)))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.xml", b"\0" * (20 << 20))
    (tmp_path / "bomb.zip").write_bytes(archive.getvalue())
    result = ingest(engine, [tmp_path / "bomb.xml.gz", tmp_path / "bomb.zip", CORPUS / "extract_report" / "nice-input.xml"])
    reasons = dict((Path(s).name, r) for s, r in result.rejected)
    assert "bomb" in reasons["bomb.xml.gz"] and "zip bomb" in reasons["bomb.zip"]
    assert result.reports == 1  # the good file after them is still read


def test_summary_says_who_fails_and_remembers_selectors(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(aggregate("a", [GOOD, NEWSLETTER]))
    (tmp_path / "b.xml").write_bytes(aggregate("b", [GOOD], org="yahoo.com"))
    ingest(engine, [tmp_path])
    [summary] = summarize(engine, "shop.test")
    assert summary.messages == 2200 and summary.reports == 2 and summary.sources[0].ip == "192.0.2.10"
    reverse = (
        "$ORIGIN 100.51.198.in-addr.arpa.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns.shop.test.\n7 IN PTR o1.ptr4242.sendgrid.net.\n"
    )
    with TestDnsServer(ZoneSet([load_zone_text(reverse, None)])) as dns:

        async def name() -> None:
            resolver = LiveResolver([Nameserver.parse(dns.address)], timeout=0.3)
            try:
                await name_sources([summary], resolver)
            finally:
                resolver.close()

        asyncio.run(name())
    newsletter = next(s for s in summary.sources if s.ip == "198.51.100.7")
    assert newsletter.reverse_name == "o1.ptr4242.sendgrid.net" and newsletter.provider == "SendGrid"
    assert next(s for s in summary.sources if s.ip == "192.0.2.10").reverse_name == ""  # no PTR: refused, not guessed
    [finding] = summary_findings([summary], [])
    assert finding.id == "feedback.unaligned_source" and "18%" in finding.title and "d=sendgrid.net" in finding.fix
    assert selectors_seen(engine, "shop.test") == ["s2025"]  # sendgrid.net's selector is not the domain's


def test_reports_in_postgresql(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(aggregate("a", [GOOD, NEWSLETTER]))
    with postgres_server() as url:
        engine = connect(url)
        migrate(engine)
        first, again = ingest(engine, [tmp_path]), ingest(engine, [tmp_path])
        [summary] = summarize(engine, "shop.test")
        seen = selectors_seen(engine, "shop.test")
        engine.dispose()
    assert (first.records, again.duplicates, summary.messages, seen) == (2, 1, 1300, ["s2025"])
    assert [(s.ip, s.messages) for s in summary.sources] == [("192.0.2.10", 900), ("198.51.100.7", 400)]


def test_tls_reports(engine: Engine) -> None:
    ingest(engine, [CORPUS / "smtp_tls" / "rfc8460.json"])
    [entry] = tls_failures(engine)
    assert entry["failures"] == 303 and entry["failure_types"]["starttls-not-supported"] == 200
    assert summary_findings([], [entry])[0].id == "feedback.tls_failures"


def test_cli_ingest_summary_and_the_audit_uses_reported_selectors(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_bytes(aggregate("cli-1", [GOOD, NEWSLETTER]))
    data = tmp_path / "data"
    ingested = run("reports", "ingest", str(tmp_path / "r.xml"), "--data", str(data), "--format", "json")
    assert ingested.returncode == 0 and json.loads(ingested.stdout)["dmarc_reports"] == 1
    zones = ZoneSet([load_zone_text("$ORIGIN shop.test.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n", None)])
    publish_txt(zones, "s2025._domainkey.shop.test", f"v=DKIM1; k=rsa; p={rsa_p()}")
    with TestDnsServer(zones) as dns:
        summary = run(
            "reports",
            "summary",
            "--data",
            str(data),
            "--since",
            "2020-01-01",
            "--format",
            "json",
            "--nameserver",
            dns.address,
            "--timeout",
            "0.3",
        )
        audit = run("check", "shop.test", "--data", str(data), "--nameserver", dns.address, "--format", "json", "--fail-on", "never")
        (tmp_path / "domains.txt").write_text("shop.test\nother.test\n")
        many = run(
            "check",
            "--domains-file",
            str(tmp_path / "domains.txt"),
            "--jobs",
            "2",
            "--data",
            str(data),
            "--nameserver",
            dns.address,
            "--format",
            "json",
            "--fail-on",
            "never",
        )
        csv_out = run(
            "reports",
            "summary",
            "--data",
            str(data),
            "--since",
            "2020-01-01",
            "--format",
            "csv",
            "--nameserver",
            dns.address,
            "--timeout",
            "0.3",
        )
    body = json.loads(summary.stdout)
    assert summary.returncode == 0 and body["domains"][0]["messages"] == 1300  # warnings only
    assert "feedback.unaligned_source" in {f["id"] for f in body["findings"]}
    keys = json.loads(audit.stdout)["facts"]["dkim"]
    assert "s2025" in keys  # not in the discovery list: known from the report
    in_workers = {r["target"]: r for r in map(json.loads, many.stdout.splitlines())}
    assert "s2025" in in_workers["shop.test"]["facts"]["dkim"]  # worker processes read the reports too
    assert csv_out.stdout.splitlines()[0].startswith("domain,source_ip") and "198.51.100.7" in csv_out.stdout


def test_imap_ingestion_from_a_real_server(tmp_path: Path) -> None:
    import gzip as gz
    from email.message import EmailMessage

    from tests.feedback.imapserver import PASSWORD, USER, imap_server
    from tests.tls import make_ca

    ca = make_ca(tmp_path)
    report = EmailMessage()
    report["From"], report["To"], report["Subject"] = "noreply-dmarc-support@google.com", "dmarc@shop.test", "Report domain: shop.test"
    report.set_content("attached")
    report.add_attachment(
        gz.compress(aggregate("imap-1", [GOOD, NEWSLETTER])),
        maintype="application",
        subtype="gzip",
        filename="google.com!shop.test!1763000000!1763086399.xml.gz",
    )
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    with imap_server(ca) as server:
        server.deliver("report", report.as_bytes())
        server.deliver("bounce", (CORPORA / "bounces" / "lhost-postfix-03.eml").read_bytes())
        command = [
            sys.executable,
            "-m",
            "maildoctor",
            "reports",
            "ingest",
            "--imap",
            f"imaps://{USER}@localhost:{server.port}/INBOX",
            "--imap-cafile",
            server.cafile,
            "--data",
            str(tmp_path / "data"),
            "--format",
            "json",
        ]
        env = dict(os.environ, MAILDOCTOR_IMAP_PASSWORD=PASSWORD)
        first = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
        again = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
        wrong = subprocess.run(
            command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=dict(os.environ, MAILDOCTOR_IMAP_PASSWORD="wrong")
        )
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["dmarc_reports"] == 1 and result["records"] == 2 and result["bounces"] == 1
    assert json.loads(again.stdout)["dmarc_reports"] == 0  # seen messages are not fetched again
    assert wrong.returncode == 2 and "IMAP" in wrong.stderr and "Traceback" not in wrong.stderr


def test_an_empty_org_name_and_a_bad_byte_are_repaired_not_rejected(engine: Engine, tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from maildoctor.store.database import dmarc_records, reports

    records = [dict(GOOD, count=n + 1) for n in range(2286)]
    document = aggregate("lenient-1", records, org="google.com").replace(b"<org_name>google.com</org_name>", b"<org_name></org_name>")
    # one byte that is not UTF-8 in one header_from, deep in the report (past the first chunks)
    at = document.rindex(b"<header_from>shop.test") + len(b"<header_from>shop")
    document = document[:at] + b"\xe9" + document[at:]
    (tmp_path / "lenient.xml").write_bytes(document)
    result = ingest(engine, [tmp_path / "lenient.xml"])
    assert result.rejected == [] and result.reports == 1 and result.records == 2286
    repairs = [r for _, r in result.repaired]
    assert any("organization is taken from <email> (google.com)" in r for r in repairs)
    assert any("1 byte sequence(s) that are not UTF-8" in r for r in repairs)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dmarc_records)).scalar() == 2286
        stored = json.loads(conn.execute(select(reports.c.repairs)).scalar_one())  # the report row remembers them
    assert stored == repairs


def test_a_report_rolled_back_half_way_counts_no_records(engine: Engine, tmp_path: Path) -> None:
    records = [dict(GOOD, count=n + 1) for n in range(5000)]  # more than one batch is written before the break
    document = aggregate("broken-1", records)
    cut = document.rindex(b"<record>")
    (tmp_path / "broken.xml").write_bytes(document[:cut] + b"<record><row></feedback>")
    result = ingest(engine, [tmp_path / "broken.xml"])
    assert len(result.rejected) == 1 and result.reports == 0 and result.records == 0


def _failure_report(encoding: str) -> bytes:
    import base64
    import quopri

    fields = (
        b"Feedback-Type: auth-failure\r\nUser-Agent: Receiver/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <bounce@shop.test>\r\n"
        b"Arrival-Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nSource-IP: 192.0.2.77\r\nReported-Domain: shop.test\r\n"
        b"Auth-Failure: dmarc\r\nDelivery-Result: reject\r\n"
    )
    body = base64.encodebytes(fields) if encoding == "base64" else quopri.encodestring(fields)
    return (
        b"From: dmarc@receiver.test\r\nTo: dmarc-failures@shop.test\r\nSubject: Report\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nAn authentication failure report.\r\n"
        b"--B\r\nContent-Type: message/feedback-report\r\nContent-Transfer-Encoding: "
        + encoding.encode()
        + b"\r\n\r\n"
        + body
        + b"\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: <user@shop.test>\r\nTo: <someone@receiver.test>\r\n"
        b"Subject: Invoice\r\n\r\n--B--\r\n"
    )


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_a_transfer_encoded_failure_report_is_no_complaint(engine: Engine, tmp_path: Path, encoding: str) -> None:
    from sqlalchemy import select

    from maildoctor.feedback.bounces import classify
    from maildoctor.feedback.ingest import suppressions
    from maildoctor.store.database import failure_reports

    (tmp_path / "failure.eml").write_bytes(_failure_report(encoding))
    result = ingest(engine, [tmp_path / "failure.eml"])
    assert result.failure_reports == 1 and result.complaints == 0 and suppressions(engine) == []
    with engine.connect() as conn:
        [row] = list(conn.execute(select(failure_reports)))
    assert (row.domain, row.source_ip, row.auth_failure, row.delivery_result) == ("shop.test", "192.0.2.77", "dmarc", "reject")
    assert [b.feedback_type for b in classify(_failure_report(encoding))] == ["auth-failure"]


def test_suppressions_hold_decoded_addresses_and_the_bounce_s_own_date(engine: Engine, tmp_path: Path) -> None:
    from maildoctor.feedback.ingest import suppressions

    dsn = (
        b"From: MAILER-DAEMON@mx.shop.test\r\nTo: bounce@shop.test\r\nDate: Tue, 03 Nov 2026 08:15:00 +0000\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.test\r\n\r\n"
        b"Final-Recipient: rfc822; =?utf-8?b?am9obi5kb2U=?=@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        b'Final-Recipient: rfc822; "jane.roe"@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n'
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--B--\r\n"
    )
    (tmp_path / "bounce.eml").write_bytes(dsn)
    assert ingest(engine, [tmp_path / "bounce.eml"]).bounces == 2
    listed = {row["address"]: row["last_seen"] for row in suppressions(engine)}
    assert listed == {"john.doe@example.org": "2026-11-03T08:15:00+00:00", "jane.roe@example.org": "2026-11-03T08:15:00+00:00"}


def test_the_summary_covers_the_data_there_is_and_names_it_when_a_period_excludes_it(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_bytes(aggregate("period-1", [GOOD]))  # 2025-11-13
    data = tmp_path / "data"
    assert run("reports", "ingest", str(tmp_path / "r.xml"), "--data", str(data)).returncode == 0
    offline = ("--zone", str(tmp_path / "none.zone"))
    (tmp_path / "none.zone").write_text("$ORIGIN none.test.\n@ 300 IN SOA ns h 1 2 3 4 5\n")
    everything = json.loads(run("reports", "summary", "--data", str(data), "--format", "json", *offline).stdout)
    assert everything["domains"][0]["messages"] == 900 and everything["since"] == 0
    assert everything["data_period"] == {"begin": 1763000000.0, "end": 1763086399.0}
    recent = run("reports", "summary", "--data", str(data), "--since", "30d", *offline)
    assert "No reports since" in recent.stdout and "cover 2025-11-13 to 2025-11-14" in recent.stdout
    assert "Well set up" not in recent.stdout and "Nothing to fix" not in recent.stdout  # nothing was read: no verdict


def test_suppressions_are_managed_from_the_command_line(tmp_path: Path) -> None:
    dsn = (
        b"From: MAILER-DAEMON@mx.shop.test\r\nTo: bounce@shop.test\r\nDate: Tue, 03 Nov 2026 08:15:00 +0000\r\n"
        b"Subject: Undelivered Mail\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.shop.test\r\n\r\nFinal-Recipient: rfc822; gone@example.org\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--B--\r\n"
    )
    (tmp_path / "bounce.eml").write_bytes(dsn)
    data = str(tmp_path / "data")
    assert run("reports", "ingest", str(tmp_path / "bounce.eml"), "--data", data).returncode == 0
    (tmp_path / "old.csv").write_text("address,note\n# from the old system\nOld@Example.net,unsubscribed\nnot an address\n")
    imported = run("suppressions", "import", str(tmp_path / "old.csv"), "--reason", "unsubscribed", "--data", data)
    assert imported.returncode == 0 and "1 address(es) imported, 2 line(s) without an address skipped" in imported.stdout
    rows = {r["address"]: r for r in json.loads(run("suppressions", "export", "--format", "json", "--data", data).stdout)["suppressions"]}
    assert rows["gone@example.org"]["why"] == "hard bounce" and "550 5.1.1 user unknown" in rows["gone@example.org"]["evidence"]
    assert rows["old@example.net"]["reason"] == "unsubscribed"
    listed = run("suppressions", "list", "--data", data)
    assert "2 suppressed address(es)" in listed.stdout and "gone@example.org" in listed.stdout
    assert run("suppressions", "remove", "gone@example.org", "--data", data).stdout.startswith("1 address(es) removed")
    assert run("suppressions", "export", "--data", data).stdout.split() == ["old@example.net"]
    bad = run("suppressions", "remove", "nobody", "--data", data)
    assert bad.returncode == 2 and "not an email address" in bad.stderr


def test_soft_bounce_suppressions_expire(engine: Engine) -> None:
    from sqlalchemy import insert as sql_insert

    from maildoctor.feedback.ingest import suppressions
    from maildoctor.store.database import bounces

    with engine.begin() as conn:
        conn.execute(
            sql_insert(bounces),
            [
                {
                    "recipient": "full@example.org",
                    "reason": "mailboxfull",
                    "kind": "soft",
                    "status": "4.2.2",
                    "diagnostic": "452 mailbox full",
                    "feedback_type": "",
                    "source": "t",
                    "at": 1000.0 + i,
                }
                for i in range(5)
            ],
        )
    assert [r["why"] for r in suppressions(engine, now=2000.0)] == ["repeated soft bounces"]
    assert suppressions(engine, expire_soft_after=3600, now=1004.0 + 3599) != []
    assert suppressions(engine, expire_soft_after=3600, now=1004.0 + 3601) == []
