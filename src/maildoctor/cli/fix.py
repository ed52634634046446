"""`maildoctor fix`: the change set of an audit, as a zone patch, an nsupdate script, octoDNS YAML
or JSON; the fixed zone written; or the update sent (TSIG) and the domain audited again."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from maildoctor import aio
from maildoctor.cli.common import (
    CONTEXT,
    EXIT_INCOMPLETE,
    EXIT_OK,
    allow_incomplete,
    allow_incomplete_option,
    build_resolver,
    fail,
    finish,
)
from maildoctor.dns.update import UpdateError, read_tsig_key, send_update
from maildoctor.dns.zonedata import NotAZone, ZoneLoadError
from maildoctor.engine import run_audit
from maildoctor.fix.plan import FixPlan, plan_domain, plan_zone
from maildoctor.records.changeformats import in_zone, nsupdate_script, octodns_yaml
from maildoctor.render.fix import render_plan
from maildoctor.render.json import dumps, versioned
from maildoctor.target import Target, parse_domain, parse_host_port, parse_ip
from maildoctor.zoneload import read_zone_source

FORMATS = ["text", "patch", "nsupdate", "octodns", "json"]
EXIT_NOT_FIXED = 1  # the patched zone still has a fixable finding, or a new error


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor fix example.com --ip 203.0.113.7
  maildoctor fix --zone db.example.com --origin example.com --write db.example.com.fixed
  maildoctor fix --zone example.com.zone --format patch > fix.diff
  maildoctor fix example.com --format nsupdate | nsupdate -k Kexample.key
  maildoctor fix example.com --apply nsupdate --server 192.0.2.53 --tsig-key /etc/bind/update.key
\b
Exit status: 0 the change set was made (with a zone file: its patch, audited again, resolves
what it says and brings no new error; with --apply: sent and the domain audited again),
1 the patched zone or the domain still has a problem the change set meant to fix,
2 bad input or a refused update, 3 the audit could not check everything.""",
)
@click.argument("domain", required=False)
@click.option("--zone", "zone_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The zone file to fix.")
@click.option("--origin", help="The zone's domain, when the file has no $ORIGIN and is not named DOMAIN.zone.")
@click.option("--write", "write_to", type=click.Path(dir_okay=False, path_type=Path), help="Write the fixed zone file here.")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True, help="How to write the change set."
)
@click.option("--apply", "apply_with", type=click.Choice(["nsupdate"]), help="Send the record changes as a dynamic update (RFC 2136).")
@click.option("--server", metavar="HOST[:PORT]", help="The primary server to send the update to (with --apply).")
@click.option("--tsig-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The BIND key file signing the update.")
@click.option(
    "--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]", help="Ask this DNS server instead of the system's resolver."
)
@click.option("--timeout", type=click.FloatRange(0.05, 60), default=2.0, show_default=True, help="Seconds to wait for each DNS answer.")
@allow_incomplete_option
def fix(
    domain: str | None,
    zone_file: Path | None,
    origin: str | None,
    write_to: Path | None,
    ips: tuple[str, ...],
    selectors: tuple[str, ...],
    output_format: str,
    apply_with: str | None,
    server: str | None,
    tsig_key: Path | None,
    nameservers: tuple[str, ...],
    timeout: float,
) -> None:
    """Make the fixes of an audit: every record to add, replace or remove, with the findings each
    resolves; the mail server's settings; the steps a DNS change cannot make. With --zone the
    patch is applied to the file and the patched zone audited again to prove it."""
    if (domain is None) == (zone_file is None):
        fail("give a DOMAIN to audit, or --zone FILE to fix a zone file")
    if write_to is not None and zone_file is None:
        fail("--write needs --zone: it writes the fixed zone file")
    if apply_with and not server:
        fail("--apply nsupdate needs --server HOST[:PORT], the zone's primary server")
    try:
        target = Target(domain="", ips=[parse_ip(i) for i in ips], dkim_selectors=list(selectors))
        if zone_file is not None:
            source = read_zone_source(zone_file, parse_domain(origin) if origin else None)
            plan = aio.run(plan_zone(source, target))
        else:
            target.domain = parse_domain(str(domain))
            plan = aio.run(plan_domain(target, build_resolver(nameservers, (), timeout)))
    except (ValueError, NotAZone, ZoneLoadError) as exc:
        fail(str(exc))
    if write_to is not None and plan.patch is not None:
        try:
            write_to.write_text(plan.patch.text, "utf-8")
        except OSError as exc:
            fail(f"cannot write {write_to}: {exc.strerror}")
    if apply_with:
        _apply(plan, str(server), tsig_key, timeout)
    _print(plan, output_format, zone_file, write_to)
    finish(_status(plan))


def _print(plan: FixPlan, output_format: str, zone_file: Path | None, written: Path | None) -> None:
    records = plan.changes.record_changes()
    if output_format == "json":
        click.echo(dumps(versioned({"kind": "fix", **plan.to_json()})))
    elif output_format == "patch":
        if plan.patch is None:
            fail("--format patch needs --zone: a patch is a diff of the zone file")
        click.echo(plan.patch.diff(plan.original, zone_file.name if zone_file else "zone"), nl=False)
    elif output_format == "nsupdate":
        click.echo(nsupdate_script(plan.changes.domain, records), nl=False)
    elif output_format == "octodns":
        click.echo(octodns_yaml(plan.changes.domain, records), nl=False)
    else:
        render_plan(plan, Console(highlight=False, soft_wrap=True), str(written) if written else None)


def _status(plan: FixPlan) -> int:
    report = plan.after or plan.before
    if not report.complete and not allow_incomplete():
        return EXIT_INCOMPLETE
    if plan.after is not None:
        fixable = {p for planned in plan.changes.records for p in planned.resolves}
        left = fixable & {f.id for f in plan.after.findings}
        return EXIT_NOT_FIXED if left or plan.new_problems() else EXIT_OK
    return EXIT_OK


def _apply(plan: FixPlan, server: str, tsig_key: Path | None, timeout: float) -> None:
    """Send the update, then audit the domain again at that server (its answers are what changed)."""
    try:
        host, port = parse_host_port(server, 53)
        key = read_tsig_key(tsig_key) if tsig_key else None
        records = plan.changes.record_changes()
        inside = [c for c in records if in_zone(plan.changes.domain, c)]
        send_update(plan.changes.domain, inside, host, port, key, timeout=max(timeout, 5.0))
    except (ValueError, UpdateError) as exc:
        fail(str(exc))
    plan.after = aio.run(run_audit(plan.target, build_resolver((f"[{host}]:{port}" if ":" in host else f"{host}:{port}",), (), timeout)))
