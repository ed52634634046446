"""Warm-up and wave plans checked against their caps."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from pathlib import Path

from maildoctor.campaign.plans import sending_data, warmup_plan, wave_plan
from maildoctor.testing.dnsserver import TestDnsServer
from tests.audience.test_hygiene import dns  # noqa: F401  (the fixture)
from tests.test_cli import run

START = datetime.date(2027, 1, 4)


def test_a_warmup_keeps_each_providers_ramp_and_reaches_the_target() -> None:
    shares = {"Google": 0.5, "Microsoft": 0.3, "Orange": 0.2}
    plan = warmup_plan(["203.0.113.7", "203.0.113.8"], 200_000, START, shares)
    providers = sending_data()["providers"]
    for day in plan.days:
        for provider, sent in day.per_ip.items():
            ramp = providers[provider]
            assert sent <= max(ramp["first_day"] * ramp["growth"] ** (day.day - 1) + 1, 1), (day, provider)
            assert sent <= 200_000 * shares[provider] / 2 + 1
    assert plan.reached and plan.days[-1].total >= 199_990 and plan.days[0].date == START
    first = plan.days[0].per_ip
    assert first["Orange"] < first["Microsoft"] < first["Google"]  # stricter with the providers that throttle new IPs
    assert plan.cap(START + datetime.timedelta(days=400), "Google") == 100_000  # warm: the target's share


def test_waves_keep_the_hourly_rate_and_the_warmup_caps() -> None:
    counts = {"Google": 30_000, "Microsoft": 20_000, "other": 10_000}
    warm = warmup_plan(["203.0.113.7"], 60_000, START, {"Google": 0.5, "Microsoft": 1 / 3, "other": 1 / 6})
    waves = wave_plan(counts, 5_000, datetime.datetime(2027, 1, 4, 8), ips=1, warmup=warm)
    per_hour: dict[datetime.datetime, int] = defaultdict(int)
    per_day: dict[tuple[datetime.date, str], int] = defaultdict(int)
    for wave in waves:
        per_hour[wave.start] += wave.messages
        per_day[(wave.start.date(), wave.provider)] += wave.messages
        assert wave.connections <= sending_data()["providers"][wave.provider]["connections_per_ip"]
    assert max(per_hour.values()) <= 5_000
    assert all(n <= (warm.cap(date, provider) or 0) for (date, provider), n in per_day.items())
    for date in {d for d, _ in per_day}:
        assert sum(n for (d, _), n in per_day.items() if d == date) <= warm.total(date)
    assert sum(w.messages for w in waves) == sum(counts.values())  # every recipient, once


def test_the_plan_commands(dns: TestDnsServer, tmp_path: Path) -> None:  # noqa: F811
    plan_file = tmp_path / "plan.json"
    done = run("plan", "warmup", "--ips", "203.0.113.7", "--daily", "1000", "--start", "2027-01-04", "--out", str(plan_file))
    assert done.returncode == 0 and "Warm-up of 1 IP to 1,000 a day" in done.stdout
    recipients = tmp_path / "recipients.txt"
    recipients.write_text("".join(f"user{n}@company.lab\n" for n in range(300)) + "bad@nomx.lab\n")
    waves = run(
        "plan",
        "waves",
        str(recipients),
        "--per-hour",
        "100",
        "--warmup",
        str(plan_file),
        "--start",
        "2027-01-04T08:00",
        "--nameserver",
        dns.address,
        "--format",
        "json",
    )
    assert waves.returncode == 0, waves.stderr
    document = json.loads(waves.stdout)
    assert document["counts"] == {"Google": 300} and sum(w["messages"] for w in document["waves"]) == 300
    assert all(w["messages"] <= 100 for w in document["waves"]) and document["waves"][0]["start"] == "2027-01-04T08:00:00"
    by_day: dict[str, int] = defaultdict(int)
    for wave in document["waves"]:
        by_day[wave["start"][:10]] += wave["messages"]
    assert by_day["2027-01-04"] == 200 and by_day["2027-01-05"] == 100  # the warm-up's first day: 200 (then 280, of which 100 are left)
    assert run("plan", "warmup", "--ips", "not-an-ip", "--daily", "10").returncode == 2


def test_warm_ips_need_no_ramp_and_idle_ones_warm_up_again() -> None:
    warm = warmup_plan(["203.0.113.7"], 10_000, START, last_sent=START - datetime.timedelta(days=10))
    assert warm.reached and len(warm.days) == 1 and warm.days[0].total == 10_000
    idle = warmup_plan(["203.0.113.7"], 10_000, START, last_sent=START - datetime.timedelta(days=45))
    assert len(idle.days) > 5 and idle.days[0].total == 200  # a month idle: from the first day again
