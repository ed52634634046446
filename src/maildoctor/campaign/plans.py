"""Warm-up and wave plans: how many messages each new IP may send to each provider each day (the
published ramps, stricter for the providers that throttle new IPs), and a campaign split into
hourly waves per provider within those caps and the providers' connection limits, with what to
watch between waves and when to pause."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

from maildoctor.data import load_json

MAX_DAYS = 120  # a ramp that needs longer is said to, not planned to the end


def sending_data() -> dict[str, Any]:
    return load_json("sending.json")


@dataclass(frozen=True)
class WarmupDay:
    day: int
    date: datetime.date
    per_ip: dict[str, int]  # provider -> messages a day for each IP
    total: int  # all IPs, all providers

    def to_json(self) -> dict[str, object]:
        return {"day": self.day, "date": self.date.isoformat(), "per_ip": self.per_ip, "total": self.total}


@dataclass
class WarmupPlan:
    ips: list[str]
    daily_target: int
    shares: dict[str, float]  # provider -> share of the audience
    days: list[WarmupDay] = field(default_factory=list)
    reached: bool = False

    def cap(self, date: datetime.date, provider: str) -> int | None:
        """Messages to the provider, all IPs, on that date (its share of the target once the plan
        is over); None for a provider the plan has no share for (the day's total holds for it)."""
        if provider not in self.shares:
            return None
        for day in self.days:
            if day.date == date:
                return day.per_ip.get(provider, 0) * len(self.ips)
        if self.days and date > self.days[-1].date:
            return math.ceil(self.daily_target * self.shares[provider])
        return 0

    def total(self, date: datetime.date) -> int:
        """Messages, all IPs and providers, on that date (the target once the plan is over; none before it starts)."""
        for day in self.days:
            if day.date == date:
                return day.total
        return self.daily_target if self.days and date > self.days[-1].date else 0

    def to_json(self) -> dict[str, object]:
        data = sending_data()["warmup"]
        return {
            "ips": self.ips,
            "daily_target": self.daily_target,
            "shares": self.shares,
            "reached": self.reached,
            "days": [d.to_json() for d in self.days],
            "sources": [data["growth_source"], data["reference_source"], data["idle_source"]],
        }


def is_warm(last_sent: datetime.date | None, start: datetime.date) -> bool:
    """IPs that sent within the idle limit are still warm; after it they warm up again."""
    return last_sent is not None and (start - last_sent).days < sending_data()["warmup"]["idle_days_before_rewarm"]


def warmup_plan(
    ips: list[str], daily_target: int, start: datetime.date, shares: dict[str, float] | None = None, last_sent: datetime.date | None = None
) -> WarmupPlan:
    """Each provider's ramp (its first day and daily growth) for each IP, until the IPs together
    send the target at the audience's shares (or MAX_DAYS). IPs that sent at that volume until
    `last_sent`, less than the idle limit ago, need no ramp (the plan is reached from day one)."""
    if not ips or daily_target <= 0:
        raise ValueError("give the IPs to warm up and the daily volume to reach")
    if is_warm(last_sent, start):
        shares = shares or {"other": 1.0}
        per_ip = {p: math.ceil(daily_target * share / len(ips)) for p, share in shares.items()}
        return WarmupPlan(ips, daily_target, shares, [WarmupDay(1, start, per_ip, daily_target)], reached=True)
    providers = sending_data()["providers"]
    shares = shares or {"other": 1.0}
    plan = WarmupPlan(ips, daily_target, shares)
    want = {p: daily_target * share / len(ips) for p, share in shares.items()}  # per IP, once warm
    for day in range(MAX_DAYS):
        per_ip = {}
        for provider, goal in want.items():
            ramp = providers.get(provider, providers["other"])
            per_ip[provider] = math.ceil(min(goal, ramp["first_day"] * ramp["growth"] ** day))
        plan.days.append(WarmupDay(day + 1, start + datetime.timedelta(days=day), per_ip, sum(per_ip.values()) * len(ips)))
        if all(per_ip[p] >= math.ceil(goal) for p, goal in want.items()):
            plan.reached = True
            break
    return plan


@dataclass(frozen=True)
class Wave:
    start: datetime.datetime
    provider: str
    messages: int
    connections: int  # at most, all IPs

    def to_json(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "provider": self.provider, "messages": self.messages, "connections": self.connections}


WATCH = (
    "between waves: the deferral rate per provider (4xx over sent; above 5%, hold the next wave), the bounces"
    " (above 2% hard, stop and clean the list) and the complaints (above 0.1%, stop)"
)


def wave_plan(
    counts: dict[str, int], per_hour: int, start: datetime.datetime, ips: int = 1, warmup: WarmupPlan | None = None
) -> list[Wave]:
    """The campaign in hourly waves: per provider, no more an hour than its share of per_hour,
    and no more a day than the warm-up allows; connections kept to the provider's limit per IP."""
    if per_hour <= 0:
        raise ValueError("--per-hour must be a positive number of messages")
    providers = sending_data()["providers"]
    total = sum(counts.values()) or 1
    left = dict(counts)
    sent_today: dict[tuple[datetime.date, str], int] = {}
    waves: list[Wave] = []
    hour = start
    for _ in range(24 * MAX_DAYS):
        if not any(left.values()):
            break
        this_hour = 0
        for provider, remaining in left.items():
            if not remaining or this_hour >= per_hour:
                continue
            hourly = max(1, math.floor(per_hour * counts[provider] / total))
            day_cap = warmup.cap(hour.date(), provider) if warmup is not None else None
            done = sent_today.get((hour.date(), provider), 0)
            room = remaining if day_cap is None else max(0, day_cap - done)
            if warmup is not None:  # and all providers together within the day's total
                room = min(room, max(0, warmup.total(hour.date()) - sent_today.get((hour.date(), ""), 0)))
            n = min(remaining, hourly, room, per_hour - this_hour)
            if n <= 0:
                continue
            this_hour += n
            limit = providers.get(provider, providers["other"])["connections_per_ip"] * ips
            waves.append(Wave(hour, provider, n, min(limit, max(1, math.ceil(n / 100)))))
            left[provider] -= n
            sent_today[(hour.date(), provider)] = done + n
            sent_today[(hour.date(), "")] = sent_today.get((hour.date(), ""), 0) + n
        hour += datetime.timedelta(hours=1)
    return waves
