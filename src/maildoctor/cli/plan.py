"""`maildoctor plan warmup` and `plan waves`: new IPs warmed up per provider, a campaign in waves."""

from __future__ import annotations

import csv
import datetime
import ipaddress
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from maildoctor import aio
from maildoctor.audience.hygiene import Hygiene, judge_list, resolve_list
from maildoctor.campaign.plans import WATCH, WarmupDay, WarmupPlan, sending_data, warmup_plan, wave_plan
from maildoctor.cli.common import CONTEXT, build_resolver, dns_options, fail
from maildoctor.render.json import versioned


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor plan warmup --ips 203.0.113.7,203.0.113.8 --daily 200000
  maildoctor plan waves recipients.csv --per-hour 50000 --warmup plan.json""",
)
def plan() -> None:
    """Plans for sending: the warm-up of new IPs, and a campaign in waves."""


def _shares(path: Path | None) -> dict[str, float] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        return {row["provider"]: float(row["share"]) for row in data["providers"]} or None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"{path}: not the JSON of maildoctor audience analyse ({exc})")


@plan.command(
    "warmup",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor plan warmup --ips 203.0.113.7 --daily 50000
  maildoctor plan warmup --ips 203.0.113.7,203.0.113.8 --daily 200000 --start 2027-01-04 --audience audience.json --out plan.json""",
)
@click.option("--ips", required=True, metavar="IP,IP,...", help="The new IPs.")
@click.option("--daily", type=click.IntRange(1), required=True, help="The messages a day to reach, all IPs together.")
@click.option("--start", metavar="YYYY-MM-DD", help="The first day (default: today).")
@click.option(
    "--audience",
    "audience_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The providers' shares: the JSON of audience analyse.",
)
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the plan as JSON (for plan waves --warmup)."
)
@click.option(
    "--last-sent",
    metavar="YYYY-MM-DD",
    help="When the IPs last sent at this volume: within 30 days they are warm; longer idle, they warm up again.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def warmup(
    ips: str, daily: int, start: str | None, audience_json: Path | None, out_path: Path | None, last_sent: str | None, output_format: str
) -> None:
    """How many messages each new IP may send to each provider each day, from the published ramps
    (stricter for the providers that throttle new IPs), until the daily volume is reached."""
    try:
        addresses = [str(ipaddress.ip_address(ip.strip())) for ip in ips.split(",") if ip.strip()]
        first = datetime.date.fromisoformat(start) if start else datetime.date.today()
        last = datetime.date.fromisoformat(last_sent) if last_sent else None
        made = warmup_plan(addresses, daily, first, _shares(audience_json), last)
    except ValueError as exc:
        fail(str(exc))
    document = versioned({"kind": "warmup", **made.to_json()})
    if out_path is not None:
        out_path.write_text(json.dumps(document, indent=2) + "\n")
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout)
        providers = list(made.shares)
        writer.writerow(["day", "date", *(f"{p} per IP" for p in providers), "total"])
        for day in made.days:
            writer.writerow([day.day, day.date.isoformat(), *(day.per_ip[p] for p in providers), day.total])
    else:
        _render_warmup(made, Console(highlight=False, soft_wrap=True))


def _render_warmup(made: WarmupPlan, console: Console) -> None:
    last: WarmupDay = made.days[-1]
    console.print(
        f"[bold]Warm-up of {len(made.ips)} IP{'s' if len(made.ips) > 1 else ''} to {made.daily_target:,} a day[/bold]: "
        + (
            f"{len(made.days)} days, until {last.date.isoformat()}"
            if made.reached
            else f"not reached in {len(made.days)} days: add IPs or lower the target"
        )
    )
    width = 40
    for day in made.days:
        if day.day in (1, 2, 3) or day.day % 5 == 0 or day is last:
            bar = "█" * max(1, round(width * day.total / made.daily_target))
            console.print(f"  day {day.day:>3} {day.date.isoformat()} {day.total:>10,} {bar}")
    console.print("  per IP and provider on day 1: " + ", ".join(f"{escape(p)} {n:,}" for p, n in made.days[0].per_ip.items()))
    data = sending_data()["warmup"]
    console.print(f"[dim]{escape(data['growth_source'])}. {escape(data['idle_source'])}.[/dim]")


@plan.command(
    "waves",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor plan waves recipients.csv --per-hour 50000
  maildoctor plan waves recipients.csv --per-hour 50000 --warmup plan.json --ips 2 --start 2027-01-04T08:00""",
)
@click.argument("recipients", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--per-hour", type=click.IntRange(1), required=True, help="The most messages an hour, all providers.")
@click.option(
    "--warmup",
    "warmup_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A plan of plan warmup --out: its daily caps hold.",
)
@click.option("--ips", type=click.IntRange(1), default=1, show_default=True, help="The IPs sending (for the connection limits).")
@click.option("--start", metavar="YYYY-MM-DDTHH:MM", help="The first wave (default: the next full hour).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@dns_options
def waves(
    recipients: Path,
    per_hour: int,
    warmup_json: Path | None,
    ips: int,
    start: str | None,
    output_format: str,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Split a campaign into hourly waves per provider (its recipients found by MX), within the
    warm-up's daily caps and each provider's connection limits."""
    try:
        first = (
            datetime.datetime.fromisoformat(start)
            if start
            else (datetime.datetime.now() + datetime.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        )
        caps = _warmup(warmup_json) if warmup_json else None
    except ValueError as exc:
        fail(str(exc))
    hygiene = Hygiene(domains=aio.run(resolve_list(build_resolver(nameservers, zones, timeout), recipients)))
    for _ in judge_list(hygiene, recipients):
        pass
    counts = {p: n for p, n in hygiene.providers.items()}
    planned = wave_plan(counts, per_hour, first, ips, caps)
    if output_format == "json":
        click.echo(
            json.dumps(versioned({"kind": "waves", "counts": counts, "waves": [w.to_json() for w in planned], "watch": WATCH}), indent=2)
        )
        return
    console = Console(highlight=False, soft_wrap=True)
    removed = hygiene.summary()["rejected"]
    console.print(
        f"[bold]{sum(counts.values()):,} recipients in {len(planned)} waves[/bold]"
        + (f" ({removed:,} left out: see audience clean)" if removed else "")
    )
    for wave in planned:
        console.print(
            f"  {wave.start.isoformat(timespec='minutes')}  {escape(wave.provider):<12} {wave.messages:>8,}  at most {wave.connections} connection{'s' if wave.connections != 1 else ''}"
        )
    console.print(f"[dim]{escape(WATCH)}.[/dim]")
    for provider in counts:
        rule = sending_data()["providers"].get(provider, sending_data()["providers"]["other"])
        console.print(f"[dim]{escape(provider)}: pause on {escape(rule['pause'])}[/dim]")


def _warmup(path: Path) -> WarmupPlan:
    try:
        data = json.loads(path.read_text("utf-8"))
        made = WarmupPlan(list(data["ips"]), int(data["daily_target"]), dict(data["shares"]), reached=bool(data["reached"]))
        made.days = [WarmupDay(d["day"], datetime.date.fromisoformat(d["date"]), dict(d["per_ip"]), int(d["total"])) for d in data["days"]]
        return made
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a plan of plan warmup --out ({exc})") from None
