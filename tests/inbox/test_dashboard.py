"""The admin's report pages in headless Chromium against `maildoctor serve`: logging in (the token
never in a URL), every domain with data, the period selector, a source's page, the charts, the
exports and the suppression list."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer
from tests.feedback.test_bounces import dsn
from tests.feedback.test_reputation import SNDS, postmaster
from tests.inbox.server import Inbox, start_inbox
from tests.inbox.test_serve import OUTPUT, browser
from tests.test_cli import run

DAY = 86400
LATEST = 1764000000  # 2025-11-24 16:00 UTC
REVERSE = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns.shop.test.
10 IN PTR mail.shop.test.
"""
RECORD = """<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated><disposition>{disposition}</disposition>
<dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row><identifiers><header_from>{domain}</header_from></identifiers>
<auth_results><dkim><domain>{signer}</domain><selector>s1</selector><result>{dkim}</result></dkim>
<spf><domain>{envelope}</domain><result>{spf}</result></spf></auth_results></record>"""


def aggregate(domain: str, report_id: str, begin: int, records: list[dict[str, object]]) -> bytes:
    body = "".join(RECORD.format(domain=domain, **r) for r in records)
    return (
        f"<?xml version='1.0'?><feedback><report_metadata><org_name>google.com</org_name><email>x@google.com</email>"
        f"<report_id>{report_id}</report_id><date_range><begin>{begin}</begin><end>{begin + DAY - 1}</end></date_range>"
        f"</report_metadata><policy_published><domain>{domain}</domain><p>none</p></policy_published>{body}</feedback>"
    ).encode()


def own(count: int) -> dict[str, object]:
    return {
        "ip": "192.0.2.10",
        "count": count,
        "disposition": "none",
        "dkim": "pass",
        "spf": "pass",
        "signer": "shop.test",
        "envelope": "shop.test",
    }


def newsletter(count: int) -> dict[str, object]:
    return {
        "ip": "198.51.100.7",
        "count": count,
        "disposition": "quarantine",
        "dkim": "fail",
        "spf": "fail",
        "signer": "sendgrid.net",
        "envelope": "bounces.mailer.test",
    }


def tls_report(domain: str, begin: int) -> bytes:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(begin))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(begin + DAY - 1))
    return json.dumps(
        {
            "organization-name": "Google",
            "date-range": {"start-datetime": start, "end-datetime": end},
            "contact-info": "smtp-tls-reporting@google.com",
            "report-id": f"tls-{domain}",
            "policies": [
                {
                    "policy": {"policy-type": "sts", "policy-domain": domain},
                    "summary": {"total-successful-session-count": 90, "total-failure-session-count": 10},
                    "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 10}],
                }
            ],
        }
    ).encode()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbox]:
    root = tmp_path_factory.mktemp("dashboard")
    files = root / "reports"
    files.mkdir()
    # shop.test: an old report (30 days before the latest) and two recent ones; news.test: recent only;
    # tls.test: TLS reports and nothing else
    (files / "old.xml").write_bytes(aggregate("shop.test", "old", LATEST - 30 * DAY, [own(500), newsletter(700)]))
    (files / "recent1.xml").write_bytes(aggregate("shop.test", "r1", LATEST - DAY, [own(900), newsletter(300)]))
    (files / "recent2.xml").write_bytes(aggregate("shop.test", "r2", LATEST, [own(800)]))
    (files / "news.xml").write_bytes(aggregate("news.test", "n1", LATEST, [newsletter(50)]))
    (files / "tls.json").write_bytes(tls_report("tls.test", LATEST))
    (files / "bounce.eml").write_bytes(dsn("gone@example.net", "5.1.1", "550 5.1.1 user unknown"))
    (files / "snds.csv").write_text(SNDS)
    (files / "postmaster.json").write_bytes(postmaster({"20251123": (0.0005, "HIGH"), "20251124": (0.004, "LOW")}))
    ingested = run("reports", "ingest", str(files), "--data", str(root / "data"))
    assert ingested.returncode == 0, ingested.stderr
    with TestDnsServer(ZoneSet([load_zone_text(REVERSE, None)])) as dns:
        server = start_inbox(root / "data", dns.address, "--admin-token", "sekrit")
        yield server
        server.stop()


def get(inbox: Inbox, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, final URL, body) of a GET that follows redirects."""
    request = urllib.request.Request(inbox.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.url, error.read().decode()


def test_without_a_session_the_pages_ask_for_the_login_and_a_token_in_the_url_is_ignored(dashboard: Inbox) -> None:
    for path in ("/reports", "/reports?token=sekrit", "/reports/source/192.0.2.10", "/suppressions", "/reports/export.csv"):
        status, url, body = get(dashboard, path)
        assert status == 200 and "/login?next=" in url and 'name="token"' in body and "shop.test" not in body, path
    status, _, body = get(dashboard, "/reports/export.json", {"Authorization": "Bearer sekrit"})  # the API's way
    assert status == 200 and {d["domain"] for d in json.loads(body)["domains"]} == {"shop.test", "news.test"}
    assert get(dashboard, "/reports/export.json", {"Authorization": "Bearer wrong"})[1].endswith("/login?next=/reports/export.json")


def test_the_dashboard_in_chromium(dashboard: Inbox) -> None:
    manager, chromium = browser()
    try:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(dashboard.url + "/reports")
        assert "/login" in page.url
        page.fill("#token", "wrong")
        page.click("button[type=submit]")
        page.locator("#login-error").wait_for()  # answered slowly: guessing costs time
        page.fill("#token", "sekrit")
        page.click("button[type=submit]")
        page.wait_for_url("**/reports")
        [cookie] = context.cookies()
        assert cookie["name"] == "maildoctor_session" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "sekrit" not in cookie["value"]

        # all the data by default: every domain, the old report's mail counted
        domains = page.locator("section[data-domain]")
        assert sorted(domains.evaluate_all("els => els.map(e => e.dataset.domain)")) == ["news.test", "shop.test", "tls.test"]
        shop = page.locator('[data-domain="shop.test"]')
        assert "3200 messages in 3 reports from 2 sources" in shop.inner_text()
        assert "198.51.100.7 sends" in shop.inner_text()  # the summary's finding on the failing source
        assert shop.locator("svg.by-source rect").count() >= 4 and shop.locator("svg.volume rect").count() >= 6
        assert "192.0.2.10" in shop.locator(".legend").inner_text()
        assert "mail.shop.test" in shop.locator("table.sources").inner_text()  # its reverse name, asked of DNS
        assert "certificate-expired" in page.locator('[data-domain="tls.test"]').inner_text()
        # what SNDS and Postmaster Tools said, on the domain's timeline, with the summary's warnings
        strips = shop.locator("svg.reputation")
        assert strips.count() == 1 and strips.locator("rect").count() >= 4
        labels = strips.locator("text").all_text_contents()
        assert "shop.test (Postmaster Tools)" in labels and "192.0.2.10 (SNDS)" in labels
        assert "Gmail users report 0.40% of the mail of shop.test as spam" in shop.inner_text()
        assert "Outlook.com filters mail from 198.51.100.7 as spam (RED)" in shop.inner_text()
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "reports-dashboard.png"), full_page=True)

        # the last 7 days only: the old report drops out
        page.select_option("#period", "7")
        page.click("form.period button")
        page.wait_for_url("**/reports?period=7")
        assert "2000 messages in 2 reports" in page.locator('[data-domain="shop.test"]').inner_text()
        last = LATEST + DAY - 1  # the end of the latest report
        assert (
            f"{time.strftime('%Y-%m-%d', time.gmtime(last - 7 * DAY))} to {time.strftime('%Y-%m-%d', time.gmtime(last))}"
            in page.inner_text("#covers")
        )

        # the exports carry what is shown
        exported = context.request.get(dashboard.url + "/reports/export.csv?period=7")
        assert exported.ok and "attachment" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text())))
        assert {(r["domain"], r["source_ip"], r["messages"]) for r in rows} == {
            ("shop.test", "192.0.2.10", "1700"),
            ("shop.test", "198.51.100.7", "300"),
            ("news.test", "198.51.100.7", "50"),
        }

        # a source's own page: what fails, for which domain
        page.click('a.source[href^="/reports/source/198.51.100.7"] >> nth=0')
        page.wait_for_url("**/reports/source/198.51.100.7?period=7")
        assert page.inner_text("#source-ip") == "198.51.100.7"
        sending_as = page.locator("section[data-domain]")
        assert sorted(sending_as.evaluate_all("els => els.map(e => e.dataset.domain)")) == ["news.test", "shop.test"]
        shop_use = page.locator('[data-domain="shop.test"]').inner_text()
        assert "Fails DKIM, SPF, DMARC" in shop_use and "sendgrid.net (fail): 300" in shop_use and "quarantine (300)" in shop_use
        assert page.locator("svg.volume rect").count() >= 2
        assert "RED" in page.locator("table.reputation").inner_text()  # its SNDS rows
        page.screenshot(path=str(OUTPUT / "reports-source.png"), full_page=True)

        # the suppression list: the hard bounce, removed by hand
        page.goto(dashboard.url + "/suppressions")
        row = page.locator('tr[data-address="gone@example.net"]')
        assert "hard bounce" in row.inner_text() and "userunknown" in row.inner_text()
        row.locator("button").click()
        page.wait_for_url("**/suppressions?removed=1")
        assert page.locator('tr[data-address="gone@example.net"]').count() == 0

        page.click("nav.admin button")  # log out
        page.goto(dashboard.url + "/reports")
        assert "/login" in page.url
    finally:
        chromium.close()
        manager.stop()


def test_a_post_from_another_site_cannot_remove_a_suppression(dashboard: Inbox) -> None:
    request = urllib.request.Request(
        dashboard.url + "/suppressions/remove",
        data=b"address=x%40example.net",
        method="POST",
        headers={"Authorization": "Bearer sekrit", "Origin": "https://evil.example"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_the_next_page_after_login_stays_on_this_site() -> None:
    from maildoctor.inbox.admin import safe_next, session_valid, session_value

    assert safe_next("/reports/source/192.0.2.1") == "/reports/source/192.0.2.1"
    assert safe_next("//evil.example/") == safe_next("https://evil.example/") == safe_next("/\\evil") == "/reports"
    value = session_value("sekrit", now=1000.0)
    assert session_valid("sekrit", value, now=1001.0) and not session_valid("other", value, now=1001.0)
    assert not session_valid("sekrit", value, now=1000.0 + 13 * 3600)  # expired
    assert not session_valid("sekrit", value.replace(value[:5], str(int(value[:5]) + 1)[:5]), now=1001.0)  # tampered
