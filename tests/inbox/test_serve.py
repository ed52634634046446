"""The test inbox end to end: `maildoctor serve` on free ports, the test DNS server, mail sent with
smtplib and swaks, results read through the API and in headless Chromium."""

from __future__ import annotations

import http.server
import re
import shutil
import smtplib
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from maildoctor.render.json import SCHEMA_VERSION
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import ROOT
from tests.inbox.server import Inbox, start_inbox
from tests.message.signing import message, sign

CHROMIUM = "/usr/bin/chromium"
OUTPUT = ROOT / "test-output"


def signed(subject: str = "Your appointment", body: str = "Hello Bob,\r\n\r\nsee you at ten.\r\n") -> bytes:
    return sign(message("alice@sender.test", subject=subject, body=body), domain="sender.test")


def send(inbox: Inbox, to: str, raw: bytes, mail_from: str = "bounce@sender.test") -> None:
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, local_hostname="mail.sender.test", timeout=10) as client:
        client.starttls()
        client.ehlo("mail.sender.test")
        client.sendmail(mail_from, [to], raw)


def browser():  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: make test installs it"
    manager = sync_playwright().start()
    return manager, manager.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def test_a_signed_message_is_graded_and_shown(inbox: Inbox) -> None:
    test = inbox.new_test()
    assert test["address"].startswith("md-") and test["address"].endswith("@inbox.test")
    assert inbox.api(f"/api/tests/{test['id']}")[1]["status"] == "waiting"
    send(inbox, test["address"], signed())
    result = inbox.wait_graded(test["id"])
    facts = result["report"]["facts"]
    assert facts["spf"]["result"] == "pass" and facts["dkim"][0]["result"] == "pass" and facts["dmarc"]["result"] == "pass"
    assert facts["received"]["tls"] and facts["received"]["helo"] == "mail.sender.test"
    assert facts["received"]["client_ip"] == "127.0.0.1" and facts["received"]["tls_cipher"].startswith("TLSv1.")
    states = {a["area"]: a["state"] for a in result["report"]["areas"]}
    assert states["dnsbl"] == "unavailable" and states["content"] == "not_checked" and states["tls"] == "pass"
    score = result["report"]["score"]
    rules = {(r["provider"], r["check"]): r["state"] for r in result["report"]["compliance"]}
    assert rules[("Gmail", "spf_or_dkim")] == "pass" and rules[("Gmail", "tls")] == "pass"  # the inbox knows the delivery's TLS
    assert rules[("Gmail", "one_click")] == "fail"  # the test message has no List-Unsubscribe
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + test["url"])
        page.wait_for_selector("#score")
        assert float(page.inner_text("#score")) == score
        for area in ("SPF", "DKIM", "DMARC", "TLS"):
            assert page.inner_text(f'[data-verdict="{area}"]').lower() == "pass", area
        assert page.locator('#compliance tr[data-provider="Gmail"][data-check="tls"]').get_attribute("data-state") == "pass"
        assert "--" not in page.inner_text("#compliance")  # no command-line words on the page
        # the test DNS server serves no blocklist: unknown, never "PASS — nothing to fix here"
        blocklists = page.locator('[data-area="Blocklists"]')
        assert blocklists.get_attribute("data-state") == "unavailable"
        assert page.inner_text('[data-verdict="Blocklists"]').lower() == "unavailable"
        assert "Nothing to fix here" not in blocklists.inner_text()
        assert page.is_visible("#incomplete")
        dkim = page.inner_text('[data-area="DKIM"] .verified')
        assert "d=sender.test s=rsa a=rsa-sha256, 2048-bit key: pass: body hash and signature verified" in dkim
        assert "TLSv1.3" in page.inner_text('[data-area="TLS"] .verified')
        assert "2048-bit" not in page.inner_text('[data-area="Content"]')
        recorded = page.locator('[data-area="What receivers recorded"]')  # a message straight from its sender
        assert recorded.get_attribute("data-state") == "not_checked" and "no receiver recorded" in recorded.inner_text()
        assert page.locator('[data-area="SMTP"]').count() == 0  # not asked of the inbox: no section
        text = page.inner_text("main")
        assert not re.search(r"(?<![\w-])--[a-z]", text), re.findall(r".{40}--[a-z].{20}", text)  # no command-line options on a web page
        # sent from 127.0.0.1: one note, and no PTR or SPF record proposed for an address nobody outside sees
        assert "This message came from a private address" in text and "127.0.0.1." not in text and "ip4:127.0.0.1" not in text
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox-result.png"), full_page=True)
    finally:
        chromium.close()
        manager.stop()
    assert (OUTPUT / "inbox-result.png").stat().st_size > 10_000


def test_an_unsigned_message_without_tls_fails_those_areas_on_the_page(inbox: Inbox) -> None:
    test = inbox.new_test()
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, local_hostname="mail.sender.test", timeout=10) as client:
        client.sendmail("bounce@sender.test", [test["address"]], message("alice@sender.test", subject="Plain"))  # no STARTTLS
    report = inbox.wait_graded(test["id"])["report"]
    states = {a["area"]: a["state"] for a in report["areas"]}
    assert states["dkim"] == "fail" and states["tls"] == "fail" and states["spf"] == "pass"
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + test["url"])
        page.wait_for_selector("#score")
        for area, state in (("DKIM", "fail"), ("TLS", "fail"), ("SPF", "pass"), ("Blocklists", "unavailable")):
            assert page.locator(f'[data-area="{area}"]').get_attribute("data-state") == state, area
            assert page.inner_text(f'[data-verdict="{area}"]').lower() == state.replace("_", " "), area
        assert "tls.not_encrypted" in page.inner_text('[data-area="TLS"]') and "delivered without TLS" in page.inner_text(
            '[data-area="TLS"]'
        )
        assert "The message is not DKIM-signed" in page.inner_text('[data-area="DKIM"]')
        # the summary: a verdict in words, and the fixes worth most first
        assert page.inner_text("#verdict").startswith("Not the whole story")  # the blocklists could not be asked
        first = page.locator("#fix-first li")
        assert 1 <= first.count() <= 3 and first.nth(0).get_attribute("data-finding") == "auth.dkim_none"
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox-summary.png"), full_page=True)
    finally:
        chromium.close()
        manager.stop()


def test_swaks_delivers_too(inbox: Inbox, tmp_path: Path) -> None:
    swaks = shutil.which("swaks")
    assert swaks, "swaks is missing: make test installs it"
    test = inbox.new_test()
    mail = tmp_path / "mail.eml"
    mail.write_bytes(signed(subject="Sent with swaks"))
    done = subprocess.run(
        [
            swaks,
            "--server",
            f"127.0.0.1:{inbox.smtp_port}",
            "--to",
            test["address"],
            "--from",
            "bounce@sender.test",
            "--helo",
            "mail.sender.test",
            "--data",
            str(mail),
            "--tls",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    facts = inbox.wait_graded(test["id"])["report"]["facts"]
    assert facts["subject"] == "Sent with swaks" and facts["dkim"][0]["result"] == "pass"


def test_the_page_updates_by_itself(inbox: Inbox) -> None:
    test = inbox.new_test()
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + test["url"])
        assert test["address"] in page.inner_text("#address")
        send(inbox, test["address"], signed(subject="Polled"))
        page.wait_for_selector("#score", timeout=20_000)  # no reload by the test: the page's script did it
    finally:
        chromium.close()
        manager.stop()


def test_it_is_never_a_relay(inbox: Inbox) -> None:
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, timeout=10) as client:
        client.ehlo("relay.example")
        client.mail("spammer@example.org")
        code, text = client.rcpt("victim@example.com")
        assert code == 550 and b"Relaying denied" in text
        code, _ = client.rcpt("md-notissued1@inbox.test")
        assert code == 550


def test_hostile_content_renders_inert(inbox: Inbox) -> None:
    payload = "<script>window.__pwned = 1; alert(1)</script>"
    raw = (
        f"From: Mallory <m@sender.test>\r\nTo: x@inbox.test\r\nSubject: {payload}\r\nDate: Mon, 21 Oct 2013 15:10:29 +0200\r\n"
        f"Message-ID: <x1@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
        f'<p>hi</p>{payload}<img src=x onerror="window.__pwned=1;alert(2)"><svg onload="alert(3)"></svg>\r\n'
    ).encode()
    test = inbox.new_test()
    send(inbox, test["address"], raw)
    inbox.wait_graded(test["id"])
    manager, chromium = browser()
    dialogs: list[str] = []
    try:
        page = chromium.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(inbox.url + test["url"])
        page.wait_for_selector("#score")
        page.click("summary:has-text('Show the raw message')")
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert "<script>window.__pwned" in page.inner_text("pre.raw")  # shown as text
        assert page.locator("pre.raw img").count() == 0 and page.locator("main script").count() == 0
    finally:
        chromium.close()
        manager.stop()
    assert dialogs == []


def test_unknown_tokens_and_admin(inbox: Inbox) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(inbox.url + "/t/not-a-real-token", timeout=10)
    assert page.value.code == 404
    assert inbox.api("/api/tests/not-a-real-token")[0] == 404
    assert inbox.api("/api/tests")[0] == 403  # listing needs the admin token
    status, body = inbox.api("/api/tests", token="sekrit")
    assert status == 200 and body["tests"]
    assert all(
        t["address"].endswith("@inbox.test") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["created"]) for t in body["tests"]
    )
    victim = inbox.new_test()
    assert inbox.api(f"/api/tests/{victim['id']}", "DELETE")[0] == 403
    assert inbox.api(f"/api/tests/{victim['id']}", "DELETE", token="sekrit")[0] == 200
    assert inbox.api(f"/api/tests/{victim['id']}")[0] == 404


def test_limits(inbox: Inbox) -> None:
    test = inbox.new_test()
    big = signed(body=("x" * 76 + "\r\n") * 1000)
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, timeout=10) as client:
        client.ehlo("mail.sender.test")
        with pytest.raises(smtplib.SMTPSenderRefused) as announced:  # MAIL FROM ... SIZE=
            client.sendmail("bounce@sender.test", [test["address"]], big)
        assert announced.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, timeout=10) as client:
        client.ehlo("mail.sender.test")
        client.mail("bounce@sender.test")  # no SIZE: the limit bites at the end of DATA
        client.rcpt(test["address"])
        assert client.data(big)[0] == 552
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, timeout=10) as client:
        client.ehlo("mail.sender.test")
        client.mail("bounce@sender.test")
        codes = [client.rcpt(test["address"])[0] for _ in range(12)]
        assert codes[:10] == [250] * 10 and codes[10:] == [452, 452]
        client.rset()
        code, _ = client.docmd("BOGUS")
        assert code == 500  # and the server lives on
    assert inbox.api(f"/api/tests/{test['id']}")[0] == 200


def test_connections_per_address_are_limited(dns: TestDnsServer, tmp_path: Path) -> None:
    import socket

    inbox = start_inbox(tmp_path / "data", dns.address, "--max-connections-per-ip", "3")
    sockets = []
    try:
        for _ in range(3):
            sockets.append(socket.create_connection(("127.0.0.1", inbox.smtp_port), 5))
            assert sockets[-1].recv(200).startswith(b"220")
        extra = socket.create_connection(("127.0.0.1", inbox.smtp_port), 5)
        assert extra.recv(200).startswith(b"421")
        extra.close()
        sockets.pop().close()
        time.sleep(0.3)
        again = socket.create_connection(("127.0.0.1", inbox.smtp_port), 5)
        assert again.recv(200).startswith(b"220")  # a freed slot is usable again
        again.close()
    finally:
        for s in sockets:
            s.close()
        inbox.stop()


def test_nothing_acknowledged_is_lost(dns: TestDnsServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    dns.faults.delay = 2.0  # grading waits for DNS: the server dies with every message stored, none graded
    inbox = start_inbox(data, dns.address)
    try:
        tests = [inbox.new_test() for _ in range(5)]
        for test in tests:
            send(inbox, test["address"], signed())
    finally:
        inbox.stop(kill=True)
        dns.faults.delay = 0.0
    with sqlite3.connect(data / "maildoctor.sqlite3") as db:
        stored, graded = db.execute("SELECT COUNT(*), COUNT(report) FROM messages").fetchone()
    assert stored == 5 and graded == 0
    restarted = start_inbox(data, dns.address)
    try:
        for test in tests:
            assert restarted.wait_graded(test["id"])["report"]["facts"]["dkim"][0]["result"] == "pass"
    finally:
        restarted.stop()


def test_report_mail_sent_to_the_inbox_is_ingested(inbox: Inbox) -> None:
    import email.policy
    import gzip
    import json
    from email.message import EmailMessage

    from tests.feedback.test_reports import GOOD, aggregate
    from tests.test_cli import run

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "noreply-dmarc-support@google.com", "reports@inbox.test", "Report domain: shop.test"
    mail.set_content("A DMARC aggregate report is attached.")
    mail.add_attachment(
        gzip.compress(aggregate("served-1", [GOOD])),
        maintype="application",
        subtype="gzip",
        filename="google.com!shop.test!1763000000!1763086399.xml.gz",
    )
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, timeout=10) as client:
        client.sendmail("noreply-dmarc-support@google.com", ["reports@inbox.test"], mail.as_bytes(policy=email.policy.SMTP))
    summary = run(
        "reports",
        "summary",
        "--data",
        str(inbox.data),
        "--since",
        "2020-01-01",
        "--format",
        "json",
        "--zone",
        str(ROOT / "tests" / "zones"),
    )
    assert [d["domain"] for d in json.loads(summary.stdout)["domains"]] == ["shop.test"]


def test_the_reports_page_shows_the_ingested_report_to_the_admin_only(inbox: Inbox) -> None:
    import urllib.request

    test_report_mail_sent_to_the_inbox_is_ingested(inbox)  # reports@ takes one in
    with urllib.request.urlopen(inbox.url + "/reports?token=sekrit", timeout=10) as anonymous:  # a token in a URL counts for nothing
        assert "/login" in anonymous.url and "shop.test" not in anonymous.read().decode()
    request = urllib.request.Request(inbox.url + "/reports", headers={"Authorization": "Bearer sekrit"})
    with urllib.request.urlopen(request, timeout=10) as admin:
        body = admin.read().decode()
    assert 'data-domain="shop.test"' in body and "192.0.2.10" in body and 'class="chart by-source"' in body


def test_the_inbox_speaks_smtp_as_a_receiving_mta_does(inbox: Inbox) -> None:
    test = inbox.new_test()
    subject = "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?="
    raw = message("alice@sender.test", subject=subject)
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port, local_hostname="mail.sender.test", timeout=10) as client:
        client.ehlo()
        assert client.has_extn("pipelining") and client.has_extn("enhancedstatuscodes") and not client.has_extn("auth")
        client.starttls()
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"].upper()  # offered after STARTTLS only
        code, said = client.login("anyone", "anything")  # a relay's credentials: taken, they grant nothing
        assert code == 235 and b"any credentials" in said
        code, said = client.mail("bounce@sender.test")
        assert (code, said[:5]) == (250, b"2.1.0")
        assert client.rcpt("someone@elsewhere.test")[0] == 550  # still no relay
        assert client.rcpt(test["address"])[0] == 250
        assert client.data(raw)[0] == 250
        assert client.rset()[1].startswith(b"2.0.0")
    report = inbox.wait_graded(test["id"])["report"]
    assert report["facts"]["subject"] == "Grüße aus Köln"
    assert set(report["facts"]["connection"]["sources"].values()) == {"the SMTP session"}
    with sqlite3.connect(inbox.data / "maildoctor.sqlite3") as db:
        (stored,) = db.execute("SELECT raw FROM messages WHERE test_id = ?", (test["id"],)).fetchone()
    first = stored.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[:4]
    assert first[0] == b"Received: from mail.sender.test ([127.0.0.1])" and first[1].startswith(b"\t(using TLSv1.")
    assert first[2] == b"\tby inbox.test (maildoctor test inbox) with ESMTPSA"
    assert first[3].startswith(f"\tfor <{test['address']}>; ".encode())


def test_a_selector_verified_in_earlier_mail_is_tried_for_the_domain(inbox: Inbox) -> None:
    signed_test, unsigned_test = inbox.new_test(), inbox.new_test()
    send(inbox, signed_test["address"], signed(subject="Signed first"))
    assert inbox.wait_graded(signed_test["id"])["report"]["facts"]["dkim"][0]["result"] == "pass"
    send(inbox, unsigned_test["address"], message("alice@sender.test", subject="Then unsigned"))
    report = inbox.wait_graded(unsigned_test["id"])["report"]
    ids = {f["id"] for f in report["findings"]}
    assert "auth.dkim_none" in ids and "dkim.no_keys_found" not in ids  # the key of s=rsa is known to exist
    dkim = next(a for a in report["areas"] if a["area"] == "dkim")
    assert any(line.startswith("s=rsa d=sender.test: rsa key of 2048 bits") for line in dkim["verified"])


def test_content_is_scored_by_spamassassin_when_serve_has_one(dns: TestDnsServer, spamd: str, tmp_path: Path) -> None:
    from tests.probes.test_contentengines import GTUBE

    inbox = start_inbox(tmp_path / "data", dns.address, "--spamassassin", spamd)
    try:
        status, start_page = inbox.get("/")
        assert status == 200 and f"scored by SpamAssassin at {spamd}" in start_page
        test = inbox.new_test()
        send(inbox, test["address"], signed(subject="Cheap casino", body=f"{GTUBE}\r\nviagra, casino, 100% free\r\n"))
        report = inbox.wait_graded(test["id"])["report"]
        manager, chromium = browser()
        try:
            page = chromium.new_page()
            page.goto(inbox.url + test["url"])
            page.wait_for_selector("#score")
            content = page.inner_text('[data-area="Content"]')
            assert page.locator('[data-area="Content"]').get_attribute("data-state") == "fail" and "GTUBE +1000" in content
            assert page.locator('#fix-first li[data-finding="content.engine_score"]').count() == 1
            OUTPUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT / "inbox-spamassassin.png"), full_page=True)
        finally:
            chromium.close()
            manager.stop()
    finally:
        inbox.stop()
    content = next(a for a in report["areas"] if a["area"] == "content")
    assert content["state"] == "fail" and any(line.startswith("SpamAssassin: ") for line in content["verified"])
    engine = next(f for f in report["findings"] if f["id"] == "content.engine_score")
    assert engine["severity"] == "critical" and "GTUBE" in engine["detail"] and report["score"] <= 4.0


def test_without_a_content_filter_the_start_page_says_so(inbox: Inbox) -> None:
    status, start_page = inbox.get("/")
    assert status == 200 and "No content filter" in start_page


def test_every_message_is_kept_and_two_grades_can_be_compared(inbox: Inbox) -> None:
    test = inbox.new_test()
    send(inbox, test["address"], message("alice@sender.test", subject="Before the fix"))  # unsigned
    first = inbox.wait_graded(test["id"])
    send(inbox, test["address"], signed(subject="After the fix"))
    for _ in range(300):
        status, listed = inbox.api(f"/api/tests/{test['id']}/messages")
        if len(listed["messages"]) == 2 and all(m["status"] == "done" for m in listed["messages"]):
            break
        time.sleep(0.1)
    newest, oldest = listed["messages"]
    assert status == 200 and newest["id"] > oldest["id"] and newest["received"].endswith("Z")
    assert inbox.api(oldest["api"])[1]["report"]["score"] == first["report"]["score"]
    assert inbox.api(f"/api/tests/{test['id']}/messages/999999")[0] == 404
    status, change = inbox.api(f"/api/tests/{test['id']}/compare?a={oldest['id']}&b={newest['id']}")
    assert status == 200 and "auth.dkim_none" in {f["id"] for f in change["gone"]}
    assert {"area": "dkim", "before": "fail", "after": "pass"}.items() <= next(a for a in change["areas"] if a["area"] == "dkim").items()
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + test["url"])
        page.wait_for_selector("#history")
        assert page.locator("#history tr[data-message]").count() == 2
        page.click("#history a.compare")
        page.wait_for_selector("#compare")
        assert page.locator('#gone [data-finding="auth.dkim_none"]').count() == 1
        assert "DKIM: fail → pass" in page.inner_text("#areas")
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox-compare.png"), full_page=True)
        page.goto(inbox.url + oldest["url"])  # an older grade stays reachable
        assert "Before the fix" in page.inner_text("table.facts")
    finally:
        chromium.close()
        manager.stop()


def test_the_html_part_is_shown_sandboxed_with_nothing_loaded(inbox: Inbox) -> None:
    hits: list[str] = []

    class Tracker(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    tracker = http.server.HTTPServer(("127.0.0.1", 0), Tracker)
    threading.Thread(target=tracker.serve_forever, daemon=True).start()
    where = f"http://127.0.0.1:{tracker.server_port}"
    html = (
        f'<html><body><h1 id="hello" style="color:#c00">Hello from the newsletter</h1><img src="{where}/pixel.png">'
        f'<script>fetch("{where}/script")</script><p>{"word " * 30}</p></body></html>'
    )
    boundary = "b1"
    raw = (
        "From: Alice <alice@sender.test>\r\nTo: t@inbox.test\r\nSubject: Newsletter\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
        f"Message-ID: <n1@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary={boundary}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello from the newsletter (text)\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--{boundary}--\r\n"
    ).encode()
    test = inbox.new_test()
    send(inbox, test["address"], sign(raw, domain="sender.test"))
    inbox.wait_graded(test["id"])
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + test["url"])
        page.wait_for_selector("#message-html")
        frame = page.frame_locator("#message-html")
        assert frame.locator("#hello").inner_text() == "Hello from the newsletter"
        assert "Hello from the newsletter (text)" in page.inner_text("#text-part")
        assert "1 loaded from the internet, blocked here" in page.inner_text("#balance")
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox-html.png"), full_page=True)
        page.wait_for_timeout(500)
    finally:
        chromium.close()
        manager.stop()
        tracker.shutdown()
    assert hits == []  # neither the image nor the script reached out
    status, _ = inbox.get(f"/t/{test['id']}/html?m=abc")  # a malformed message id is the latest, not an error
    assert status == 200


def test_a_failed_tls_handshake_is_one_line_and_sigterm_stops_cleanly(dns: TestDnsServer, tmp_path: Path) -> None:
    server = start_inbox(tmp_path / "data", dns.address, "--grader-processes", "2")
    log = tmp_path / f"serve-{server.smtp_port}.log"
    try:
        with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=5) as client:
            client.recv(512)
            client.sendall(b"EHLO x\r\nSTARTTLS\r\n")
            time.sleep(0.3)
            client.recv(1024)
            client.sendall(b"\x16\x03\x01\x00\x05not a TLS hello at all")
            time.sleep(0.5)
        test = server.new_test()
        send(server, test["address"], signed())
        server.wait_graded(test["id"])
        assert server.get("/favicon.ico")[0] == 200 and "<svg" in server.get("/static/favicon.svg")[1]
    finally:
        server.process.terminate()  # SIGTERM, as a service manager stops it
        server.process.wait(30)
    text = log.read_text()
    assert "a client failed the TLS handshake" in text and "Traceback" not in text
    assert "accepted message 1 from 127.0.0.1 (HELO mail.sender.test" in text and "TLSv1." in text
    assert "maildoctor serve: stopped" in text and "leaked semaphore" not in text and server.process.returncode == 0


def test_links_are_listed_and_checked_with_check_links(dns: TestDnsServer, tmp_path: Path) -> None:
    from tests.probes.test_links import Site

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_port}"
    html = f'<p><a href="{base}/ok">our shop</a> <a href="{base}/gone">an old offer</a> <a href="{base}/r1">www.example.com</a></p>'
    raw = (
        "From: Alice <alice@sender.test>\r\nTo: t@inbox.test\r\nSubject: Links\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
        f"Message-ID: <l1@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    ).encode()
    inbox = start_inbox(tmp_path / "data", dns.address, "--check-links-allow-private")
    try:
        test = inbox.new_test()
        send(inbox, test["address"], sign(raw, domain="sender.test"))
        report = inbox.wait_graded(test["id"])["report"]
        manager, chromium = browser()
        try:
            page = chromium.new_page()
            page.goto(inbox.url + test["url"])
            page.wait_for_selector("#links")
            assert "broken: HTTP 404" in page.inner_text(f'#links tr[data-href="{base}/gone"]')
            assert "HTTP 200 after 2 redirects" in page.inner_text(f'#links tr[data-href="{base}/r1"]')
            assert "its text shows another domain" in page.inner_text(f'#links tr[data-href="{base}/r1"]')
            OUTPUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT / "inbox-links.png"), full_page=True)
        finally:
            chromium.close()
            manager.stop()
    finally:
        inbox.stop()
        site.shutdown()
    broken = next(f for f in report["findings"] if f["id"] == "msg.broken_link")
    assert broken["title"] == "1 link of the message does not work" and f"{base}/gone: HTTP 404" in broken["evidence"]


def test_a_pasted_message_is_graded_like_mail_and_the_form_is_rate_limited(inbox: Inbox) -> None:
    headers = (ROOT / "examples" / "afspraakmanager.be-gmail-headers.txt").read_text()
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + "/")
        page.fill("#paste", headers)
        page.click("#paste-submit")
        page.wait_for_selector("#score", timeout=30_000)  # the page waits for the grade by itself
        assert "pasted into the form" in page.inner_text("#pasted")
        assert page.inner_text("#client-ip") == "2a02:348:8e:6048::1"  # read from the pasted headers
        assert page.locator('[data-area="TLS"]').get_attribute("data-state") == "not_checked"  # no delivery to judge
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox-paste.png"), full_page=True)
    finally:
        chromium.close()
        manager.stop()

    def post(body: bytes) -> int:
        request = urllib.request.Request(inbox.url + "/paste", data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post(b"message=") == 400  # nothing pasted: said so, nothing stored
    statuses = [post(b"message=Subject%3A+hi%0A%0Ahello") for _ in range(10)]
    assert statuses.count(200) == 8 and statuses[-1] == 429  # 10 per address in 10 minutes, the form's first use included


def test_a_domain_audited_from_the_start_page(dns: TestDnsServer, tmp_path: Path) -> None:
    inbox = start_inbox(tmp_path / "data", dns.address)  # its own: the shared inbox's form limit is spent
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + "/")
        page.fill("#domain", "Sender.Test")
        page.click("#audit-submit")
        page.wait_for_selector("#audit")
        assert page.locator("#audit").get_attribute("data-domain") == "sender.test"
        assert page.locator('[data-area="SPF"]').get_attribute("data-state") == "pass"
        assert "record at sender.test: v=spf1 ip4:127.0.0.0/8 -all" in page.inner_text('[data-area="SPF"] .verified')
        assert page.locator('[data-area="DMARC"]').get_attribute("data-state") == "pass"
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox-audit.png"), full_page=True)
        audit_id = page.url.rsplit("/", 1)[1]
        page.goto(inbox.url + "/")
        page.fill("#domain", "not a domain")
        page.click("#audit-submit")
        assert "is not a valid domain name" in page.inner_text("#error")
    finally:
        chromium.close()
        manager.stop()
        inbox.stop()
    inbox_api = start_inbox(tmp_path / "data", dns.address)
    try:
        status, body = inbox_api.api(f"/api/audits/{audit_id}")
        assert status == 200 and body["domain"] == "sender.test" and body["report"]["schema"] == SCHEMA_VERSION and body["report"]["areas"]
        assert inbox_api.api("/api/audits/nope")[0] == 404
    finally:
        inbox_api.stop()


def test_a_zone_pasted_on_the_start_page_is_fixed_and_can_be_downloaded(dns: TestDnsServer, tmp_path: Path) -> None:
    from tests.fix.broken_zones import BROKEN, broken_zone

    broken = broken_zone(next(b for b in BROKEN if b.finding == "dmarc.missing"))
    inbox = start_inbox(tmp_path / "data", dns.address)
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(inbox.url + "/")
        page.fill("#zone", broken)
        page.click("#zone-submit")
        page.wait_for_selector("#changes")
        assert page.locator("#audit").get_attribute("data-domain") == "fixme.test"
        added = page.locator('.change[data-op="add"]').first
        assert added.locator("code").inner_text().startswith("_dmarc.fixme.test. 3600 IN TXT")
        assert "dmarc.missing" in added.inner_text() and added.locator("button.copy-record").count() == 1
        assert "no longer has" in page.inner_text("#fixed-zone") and "--" not in page.inner_text("#changes")  # no CLI words
        page.screenshot(path=str(OUTPUT / "inbox-zone-fix.png"), full_page=True)
        with page.expect_download() as download:
            page.click("#fixed-zone a")
        fixed = Path(download.value.path()).read_text()
        assert download.value.suggested_filename == "fixme.test.zone" and '_dmarc\t3600\tIN\tTXT\t"v=DMARC1; p=none;' in fixed
        page.goto(inbox.url + "/")
        page.fill("#zone", broken.replace("$ORIGIN fixme.test.\n", ""))
        page.click("#zone-submit")
        assert "give its domain in the form" in page.inner_text("#error")
        page.goto(inbox.url + "/")
        page.fill("#domain", "sender.test")
        page.click("#audit-submit")
        page.wait_for_selector("#audit")
        assert page.locator("#fixed-zone").count() == 0  # a live domain: the records to change, no file
    finally:
        chromium.close()
        manager.stop()
        inbox.stop()
