"""The monitor end to end: `maildoctor monitor` as a process, the test DNS server starting to list
a watched IP mid-run → an alert on a webhook on loopback within one interval, /metrics and the
status page (in Chromium) show it; delisting → resolved after the hysteresis; a DKIM key removed
from the zone → a change alert. And the configuration's errors, by line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from maildoctor.monitor.config import ConfigError, load_config
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import ROOT
from tests.monitor.conftest import Hook, Zones
from tests.processes import free_port, listening, stop, wait_until

IP = "192.0.2.77"


def write_config(path: Path, dns: TestDnsServer, hook: Hook, port: int, extra: str = "") -> Path:
    path.write_text(
        f"""[monitor]
interval = 1
clean_cycles = 2
listen = "127.0.0.1:{port}"
data = "{path.parent / "data"}"

[watch]
ips = ["{IP}"]
domains = ["watched.test"]

[dns]
nameservers = ["{dns.address}"]
timeout = 0.5

[alerts]
webhooks = ["{hook.url}"]
{extra}"""
    )
    return path


@contextmanager
def running_monitor(config: Path, port: int, *more: str) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    log = config.parent / "monitor.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "maildoctor", "monitor", "--config", str(config), *more], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    try:
        wait_until(lambda: listening(port), process, "maildoctor monitor", 30, log.read_text)
        yield process
    finally:
        stop(process)


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()


def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def cycles(port: int) -> float:
    status = json.loads(get(port, "/api/status"))
    return float(status["last_cycle"].get("ended", 0)) if status["last_cycle"] else 0.0


def test_a_listing_is_alerted_shown_and_resolved_after_the_hysteresis(
    zones: Zones, dns_watch: TestDnsServer, hook: Hook, tmp_path: Path
) -> None:
    port = free_port()
    config = write_config(tmp_path / "monitor.toml", dns_watch, hook, port)
    with running_monitor(config, port):
        until(lambda: cycles(port) > 0, 20, "a first cycle")
        status = json.loads(get(port, "/api/status"))
        assert status["targets"][IP]["listed_on"] == [] and status["targets"][IP]["unknown"] == 0  # every canary answered
        assert hook.events() == []  # nothing changed: no alert
        zones.list_ip(IP)
        listed_at = time.monotonic()
        until(lambda: any(e["alert"]["target"] == IP for e in hook.events("opened")), 5, "the listing alert")
        assert time.monotonic() - listed_at < 3  # within one interval (1 s) and the cycle's own time
        alert = next(e["alert"] for e in hook.events("opened") if e["alert"]["target"] == IP)
        assert alert["kind"] == "listed" and "Spamhaus" in alert["title"] and alert["delist"].startswith("https://")
        metrics = get(port, "/metrics")
        assert f'maildoctor_listed{{list="Spamhaus ZEN",target="{IP}"}} 1.0' in metrics and "maildoctor_alerts_open 1.0" in metrics
        check_page(port, listed=True)
        zones.delist_ip(IP)
        delisted = cycles(port)
        until(lambda: any(e["alert"]["target"] == IP for e in hook.events("resolved")), 8, "the resolution")
        status = json.loads(get(port, "/api/status"))
        assert status["targets"][IP]["listed_on"] == [] and not [a for a in status["open_alerts"] if a["target"] == IP]
        assert cycles(port) - delisted >= 1.0  # not at the first clean cycle: two were needed
        assert len(hook.events("opened")) == 1  # one alert for the listing, not one per cycle
        # a DKIM key removed from the zone: a change alert, with the record it had
        zones.remove("default._domainkey.watched.test")
        until(lambda: any(e["alert"]["kind"] == "changed" for e in hook.events()), 8, "the DKIM change alert")
        change = next(e["alert"] for e in hook.events() if e["alert"]["kind"] == "changed")
        assert change["title"] == "The DKIM key default of watched.test was removed" and change["before"][0].startswith("v=DKIM1; k=rsa")
    done = subprocess.run(
        [sys.executable, "-m", "maildoctor", "monitor", "status", "--config", str(config), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)
    assert saved["kind"] == "monitor_status" and any(a["kind"] == "changed" for a in saved["recent_alerts"])


def test_the_cycles_checks_run_on_a_dask_cluster(zones: Zones, dns_watch: TestDnsServer, hook: Hook, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    port = free_port()
    config = write_config(tmp_path / "monitor.toml", dns_watch, hook, port)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        with running_monitor(config, port, "--dask", cluster.scheduler_address):
            until(lambda: cycles(port) > 0, 30, "a first cycle")
            assert json.loads(get(port, "/api/status"))["last_cycle"]["looked_on"] == cluster.scheduler_address
            assert f"its checks ran on the Dask cluster {cluster.scheduler_address}" in get(port, "/")
            zones.list_ip(IP)
            until(lambda: any(e["alert"]["target"] == IP for e in hook.events("opened")), 10, "the listing alert")
            zones.remove("default._domainkey.watched.test")
            until(lambda: any(e["alert"]["kind"] == "changed" for e in hook.events()), 10, "the DKIM change alert")
        with Client(cluster.scheduler_address) as client:
            ran = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert {"maildoctor-monitor-ips", "maildoctor-monitor-rdns", "maildoctor-monitor-domains"} <= set(ran)  # the workers looked
    unreachable = subprocess.run(
        [sys.executable, "-m", "maildoctor", "monitor", "--config", str(config), "--dask", f"tcp://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, cwd=ROOT, timeout=90,
    )  # fmt: skip
    assert unreachable.returncode == 2 and "the Dask scheduler" in unreachable.stderr and "Traceback" not in unreachable.stderr


def check_page(port: int, listed: bool) -> None:
    from playwright.sync_api import sync_playwright

    from tests.inbox.test_serve import CHROMIUM

    with sync_playwright() as manager:
        chromium = manager.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = chromium.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            assert page.locator(f'[data-target="{IP}"]').get_attribute("data-state") == ("listed" if listed else "clean")
            assert "Spamhaus ZEN" in page.inner_text(f'[data-target="{IP}"]')
            assert page.locator('#alerts tr.open[data-kind="listed"]').count() == 1
            page.click(f'[data-target="{IP}"] a')  # the IP's own timeline
            assert page.locator("#alerts tr[data-alert]").count() == 1 and IP in page.inner_text("h2:has-text('Alerts')")
            page.screenshot(path=str(ROOT / "test-output" / "monitor-status.png"), full_page=True)
        finally:
            chromium.close()


def test_an_untrusted_list_is_never_read_as_clean(zones: Zones, dns_watch: TestDnsServer, hook: Hook, tmp_path: Path) -> None:
    zones.remove("2.0.0.127.zen.spamhaus.org")  # the list stops listing its own test entry: its silence means nothing
    port = free_port()
    config = write_config(tmp_path / "monitor.toml", dns_watch, hook, port)
    with running_monitor(config, port):
        until(lambda: cycles(port) > 0, 20, "a first cycle")
        status = json.loads(get(port, "/api/status"))
        assert status["targets"][IP]["unknown"] >= 1 and status["last_cycle"]["untrusted"] >= 1
        assert 'list="Spamhaus ZEN"' not in get(port, "/metrics")  # no answer: no 0 shown for it


def test_a_configuration_error_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "monitor.toml"
    bad.write_text('[monitor]\ninterval = "15m"\n\n[watch]\nips = ["192.0.2.1", "not-an-ip"]\n')
    with pytest.raises(ConfigError, match=r"monitor.toml:5: ips: "):
        load_config(bad)
    bad.write_text('[monitor]\ninterval = "soon"\n[watch]\nips = ["192.0.2.1"]\n')
    with pytest.raises(ConfigError, match=r"monitor.toml:2: interval: "):
        load_config(bad)
    bad.write_text('[watch]\nips = "192.0.2.1\n')
    with pytest.raises(ConfigError, match=r"line 2"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text(
        '[monitor]\ninterval = "15m"\n[watch]\nips = ["192.0.2.1"]\n[pool.outbound]\nrelays = [{host = "relay1.example.net:587", ip = "192.0.2.10"}, "192.0.2.11"]\n'
    )
    config = load_config(good)
    assert config.interval == 900 and [r.nexthop for r in config.pools[0].relays] == [
        "smtp:[relay1.example.net]:587",
        "smtp:[192.0.2.11]:25",
    ]
    assert config.watched_ips() == ["192.0.2.1", "192.0.2.10", "192.0.2.11"]


AGGREGATE = """<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata><org_name>receiver.example</org_name><email>r@receiver.example</email><report_id>{id}</report_id>
    <date_range><begin>{begin}</begin><end>{end}</end></date_range></report_metadata>
  <policy_published><domain>watched.test</domain><p>reject</p><pct>100</pct></policy_published>
  <record><row><source_ip>192.0.2.25</source_ip><count>1000</count>
    <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>watched.test</header_from></identifiers>
    <auth_results><dkim><domain>watched.test</domain><result>pass</result></dkim><spf><domain>watched.test</domain><result>pass</result></spf></auth_results>
  </record>
  <record><row><source_ip>203.0.113.66</source_ip><count>100</count>
    <policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>watched.test</header_from></identifiers>
    <auth_results><spf><domain>spoofer.example</domain><result>fail</result></spf></auth_results>
  </record>
</feedback>
"""
COMPLAINT = """From: abuse@receiver.example\r
To: fbl@watched.test\r
Subject: complaint\r
Date: {date}\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r
\r
--b\r
Content-Type: text/plain\r
\r
A user marked your mail as spam.\r
--b\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: test/1.0\r
Version: 1\r
Original-Rcpt-To: reader{n}@receiver.example\r
\r
--b\r
Content-Type: message/rfc822\r
\r
From: news@watched.test\r
To: reader{n}@receiver.example\r
Subject: news\r
\r
hello\r
--b--\r
"""


def test_a_complaint_rate_over_three_in_a_thousand_is_alerted(dns_watch: TestDnsServer, hook: Hook, tmp_path: Path) -> None:
    import email.utils

    folder = tmp_path / "feedback"
    folder.mkdir()
    now = time.time()
    (folder / "aggregate.xml").write_text(AGGREGATE.format(id="r1", begin=int(now - 86400), end=int(now)))
    for n in range(5):  # 5 complaints over 1,100 messages: 0.45%
        (folder / f"complaint-{n}.eml").write_text(COMPLAINT.format(date=email.utils.formatdate(now - 3600), n=n))
    port = free_port()
    config = write_config(tmp_path / "monitor.toml", dns_watch, hook, port, f'[feedback]\nfolder = "{folder}"\n')
    with running_monitor(config, port):
        until(lambda: any(e["alert"]["check"] == "complaint_rate" for e in hook.events("opened")), 20, "the complaint-rate alert")
        alert = next(e["alert"] for e in hook.events("opened") if e["alert"]["check"] == "complaint_rate")
        assert alert["title"].startswith("The complaint rate is 0.45% (5 complaints over 1100 messages") and alert["kind"] == "feedback"
        assert "maildoctor_complaint_rate 0.0045" in get(port, "/metrics")
        titles = [e["alert"]["title"] for e in hook.events("opened")]
        assert "A new source, 203.0.113.66, sends as watched.test and fails DMARC (100 messages)" in titles
        assert any(t.startswith("9.1% of the messages the DMARC reports counted fail DMARC") for t in titles)
    assert sorted(p.name for p in (folder / "ingested").iterdir()) == ["aggregate.xml", *(f"complaint-{n}.eml" for n in range(5))]
    assert [p.name for p in folder.iterdir()] == ["ingested"]  # read once, kept


def test_serve_runs_the_monitor_on_its_own_database(zones: Zones, dns_watch: TestDnsServer, hook: Hook, tmp_path: Path) -> None:
    from tests.inbox.server import start_inbox

    port = free_port()
    config = write_config(tmp_path / "monitor.toml", dns_watch, hook, port)
    zones.list_ip(IP)
    inbox = start_inbox(tmp_path / "inbox-data", dns_watch.address, "--monitor", str(config))
    try:
        until(lambda: listening(port) and cycles(port) > 0, 20, "the monitor inside serve")
        until(lambda: any(e["alert"]["target"] == IP for e in hook.events("opened")), 10, "the listing alert")
    finally:
        inbox.stop()
    done = subprocess.run(
        [sys.executable, "-m", "maildoctor", "monitor", "status", "--config", str(config), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    # the monitor wrote to the inbox's database, not to the configuration's data directory
    assert json.loads(done.stdout)["open_alerts"] == []
    with sqlite3.connect(tmp_path / "inbox-data" / "maildoctor.sqlite3") as db:
        assert db.execute("SELECT target, kind FROM monitor_alerts").fetchall() == [(IP, "listed")]


def test_feedback_is_polled_from_an_imap_mailbox(tmp_path: Path) -> None:
    import asyncio
    import email.utils
    from email.message import EmailMessage

    from maildoctor.dns.zonedata import ZoneSet
    from maildoctor.dns.zoneresolver import ZoneResolver
    from maildoctor.monitor.run import monitor_store
    from maildoctor.monitor.service import Monitor
    from tests.feedback.imapserver import PASSWORD, USER, imap_server
    from tests.tls import make_ca

    now = time.time()
    report = EmailMessage()
    report["From"], report["To"], report["Subject"] = "dmarc@receiver.example", "dmarc@watched.test", "Report domain: watched.test"
    report.set_content("attached")
    xml = AGGREGATE.format(id="imap-1", begin=int(now - 86400), end=int(now)).encode()
    report.add_attachment(xml, maintype="text", subtype="xml", filename="receiver.example!watched.test!1!2.xml")
    ca = make_ca(tmp_path)
    with imap_server(ca) as server:
        server.deliver("report", report.as_bytes())
        for n in range(5):
            server.deliver(f"complaint-{n}", COMPLAINT.format(date=email.utils.formatdate(now - 3600), n=n).encode())
        (tmp_path / "imap.password").write_text(PASSWORD + "\n")
        (tmp_path / "monitor.toml").write_text(
            f'[monitor]\ndata = "{tmp_path / "data"}"\n[feedback]\nimap = "imaps://{USER}@localhost:{server.port}/INBOX"\n'
            f'imap_password_file = "imap.password"\nimap_cafile = "{server.cafile}"\n'
        )
        config = load_config(tmp_path / "monitor.toml")
        monitor = Monitor(config, monitor_store(config), ZoneResolver(ZoneSet([])))  # no IP, no domain: no DNS
        events = asyncio.run(monitor.cycle())
    titles = [e.alert.title for e in events]
    assert any(t.startswith("The complaint rate is 0.45%") for t in titles), titles
    assert not any("cannot be read" in t for t in titles)
