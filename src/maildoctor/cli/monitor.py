"""`maildoctor monitor`: the watch as a long-running service, and `monitor status`."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from maildoctor import aio
from maildoctor.cli.common import CONTEXT, fail
from maildoctor.monitor.config import ConfigError, MonitorConfig, load_config
from maildoctor.render.json import versioned

CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The monitor's configuration (monitor.toml).",
)


def _config(path: Path) -> MonitorConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))


@click.group(
    invoke_without_command=True,
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor monitor --config monitor.toml            # watch, until stopped (SIGTERM/SIGINT)
  maildoctor monitor --config monitor.toml --dask tcp://scheduler:8786
  maildoctor monitor status --config monitor.toml
  maildoctor monitor status --config monitor.toml --format json
\b
The configuration is described, with a full example, in the README and deploy/monitor.toml.""",
)
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="The monitor's configuration (monitor.toml)."
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Hand each cycle's checks to this Dask scheduler (tcp://scheduler:8786; [monitor] dask = in the configuration).",
)
@click.pass_context
def monitor(ctx: click.Context, config_path: Path | None, dask_address: str | None) -> None:
    """Watch sending IPs, relays and domains around the clock: blocklists (with their canaries),
    record changes, alerts on change, Prometheus metrics, and the relay Postfix should use."""
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        fail("give --config monitor.toml")
    from maildoctor.monitor.run import run_monitor

    config = _config(config_path)
    if dask_address:
        if "://" not in dask_address:
            fail(f"--dask {dask_address}: give the scheduler as tcp://host:8786")
        config = dataclasses.replace(config, dask=dask_address)
    try:
        aio.run(run_monitor(config))
    except (OSError, TimeoutError) as exc:  # the scheduler not there
        fail(f"the Dask scheduler {config.dask}: {exc}")


@monitor.command(
    "status",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor monitor status --config monitor.toml
  maildoctor monitor status --config monitor.toml --format json""",
)
@CONFIG
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(config_path: Path, output_format: str) -> None:
    """What is watched, each target's state and the open alerts, from the monitor's database."""
    from maildoctor.monitor.run import monitor_store
    from maildoctor.monitor.service import Monitor

    config = _config(config_path)
    watch = Monitor(config, monitor_store(config))  # the status asks no DNS
    data = watch.status()
    if output_format == "json":
        click.echo(json.dumps(versioned({"kind": "monitor_status", **data}), indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    for target in data["watching"]["ips"] + data["watching"]["domains"]:
        entry = data["targets"].get(target)
        if entry is None:
            console.print(f"{escape(target)}: not checked yet")
        elif entry["listed_on"]:
            console.print(
                f"[bold red]{escape(target)}: listed[/bold red] on " + ", ".join(escape(listing["list"]) for listing in entry["listed_on"])
            )
        else:
            console.print(
                f"[green]{escape(target)}: on no list[/green] ({entry['checks'] - entry['unknown']} answered, {entry['unknown']} untrusted)"
            )
    for pool in data["pools"]:
        console.print(f"pool {escape(pool['pool'])}: mail goes through {escape(pool['using'])}")
    console.print(f"{len(data['open_alerts'])} open alert(s)")
    for alert in data["open_alerts"]:
        console.print(f"  {escape(alert['title'])}" + (f" — {escape(alert['delist'])}" if alert.get("delist") else ""))
    week = time.time() - 7 * 86400
    changed = [a for a in data["recent_alerts"] if a["kind"] == "changed" and a["opened"] >= week]
    if changed:
        console.print("Changed in the last 7 days:")
        for alert in changed:
            console.print(f"  {escape(alert['title'])}")
