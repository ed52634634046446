"""The watch's rules: list query budgets kept, changes only where both readings were complete."""

from __future__ import annotations

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.monitor.watch import DomainLook, budgets, changes


def test_a_list_with_a_daily_budget_is_asked_less_often_to_stay_within_it() -> None:
    ips = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(10_000)]
    plan = {b.blocklist.zone: b for b in budgets(list(shipped_catalog()), ips, 900)}
    zen = plan["zen.spamhaus.org"]
    assert zen.every == 4 and zen.per_day <= 300_000  # 10,002 queries a cycle, 96 cycles a day: hourly
    assert plan["bl.spamcop.net"].every == 1  # no budget known: every cycle
    small = {b.blocklist.zone: b for b in budgets(list(shipped_catalog()), ips[:100], 900)}
    assert small["zen.spamhaus.org"].every == 1


def test_a_change_is_only_seen_between_two_complete_readings() -> None:
    before = {"spf": ["record at ex.test: v=spf1 -all"], "dkim": {"s1": "v=DKIM1; p=AAA"}}
    look = DomainLook("ex.test", {"spf": ["record at ex.test: v=spf1 mx -all"]}, {"spf"}, [])
    found = changes("ex.test", before, look)
    assert [c.check for c in found] == ["spf"]  # DKIM was not read this time: not "removed"
    look = DomainLook("ex.test", {"dkim": {"s2": "v=DKIM1; p=BBB"}}, {"dkim"}, [])
    assert [c.title for c in changes("ex.test", before, look)] == [
        "The DKIM key s1 of ex.test was removed",
        "A DKIM key s2 appeared for ex.test",
    ]
    assert changes("ex.test", None, look) == []  # the first reading is no change


def test_reverse_dns_of_the_watched_ips(dns_watch) -> None:  # noqa: ANN001
    import asyncio

    from maildoctor.dns.live import LiveResolver, Nameserver
    from maildoctor.monitor.watch import observe_rdns

    async def look() -> list[tuple[str, str]]:
        resolver = LiveResolver([Nameserver.parse(dns_watch.address)], timeout=0.5)
        try:
            return [(r.ip, r.state) for r in await observe_rdns(resolver, ["192.0.2.77", "192.0.2.99", "192.0.2.25"])]
        finally:
            resolver.close()

    dns_watch.faults.set("25.2.0.192.in-addr.arpa", "servfail")
    assert asyncio.run(look()) == [("192.0.2.77", "ok"), ("192.0.2.99", "missing"), ("192.0.2.25", "unknown")]


def test_a_certificate_close_to_expiry_is_alerted_with_probe(dns_watch, tmp_path) -> None:  # noqa: ANN001
    import asyncio

    from aiosmtpd.controller import Controller

    from maildoctor.dns.live import LiveResolver, Nameserver
    from maildoctor.monitor.config import load_config
    from maildoctor.monitor.run import monitor_store
    from maildoctor.monitor.service import Monitor
    from tests.monitor.test_failover import Sink
    from tests.processes import free_port
    from tests.tls import make_ca

    ca = make_ca(tmp_path)
    controller = Controller(
        Sink(), hostname="127.0.0.1", port=free_port(), server_hostname="mx.probed.test", tls_context=ca.issue(["mx.probed.test"])
    )
    controller.start()

    def cycle(warning_days: int) -> list[str]:
        (tmp_path / "monitor.toml").write_text(
            f'[monitor]\ndata = "{tmp_path / f"data{warning_days}"}"\n[watch]\ndomains = ["probed.test"]\nprobe = true\n'
            f'probe_port = {controller.port}\ncafile = "{ca.cafile}"\ncert_warning_days = {warning_days}\n[dns]\nnameservers = ["{dns_watch.address}"]\n'
        )
        config = load_config(tmp_path / "monitor.toml")

        async def run() -> list[str]:
            resolver = LiveResolver([Nameserver.parse(dns_watch.address)], timeout=0.5)
            try:
                return [e.alert.title for e in await Monitor(config, monitor_store(config), resolver).cycle()]
            finally:
                resolver.close()

        return asyncio.run(run())

    try:
        soon = cycle(45)  # the test certificate is valid for 30 days
        later = cycle(21)
    finally:
        controller.stop()
    assert any(t.startswith("The certificate of mx.probed.test (probed.test's MX) expires in 30 days") for t in soon), soon
    assert not any("certificate" in t for t in later)
