"""The command line: parse arguments, build a target and a resolver, run the engine, render."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from maildoctor import __version__, aio
from maildoctor.dns.answer import Resolver
from maildoctor.dns.spec import ResolverSpec
from maildoctor.dns.tracing import TracingResolver
from maildoctor.dns.zonedata import ZoneLoadError, ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.engine import run_audit, run_of
from maildoctor.findings import Report, Severity, make_finding
from maildoctor.render.dkim import render_keys
from maildoctor.render.json import SCHEMA_VERSION, render_json
from maildoctor.render.spf import render_evaluation, render_tree
from maildoctor.render.terminal import render_terminal
from maildoctor.spf.evaluator import SpfResult, check_identity
from maildoctor.target import Target, parse_domain, parse_host_port, parse_ip
from maildoctor.zoneload import read_zone_source

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FAIL_ON = ["critical", "error", "warning", "notice", "info", "never"]


def fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2, never a traceback."""
    click.echo(f"maildoctor: error: {message}", err=True)
    sys.exit(2)


def _remember_allow_incomplete(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["allow_incomplete"] = value


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--allow-incomplete",
        is_flag=True,
        expose_value=False,
        callback=_remember_allow_incomplete,
        help="Exit 0 or 1 even when an area could not be checked (instead of 3).",
    )(func)
    func = click.option(
        "--fail-on",
        type=click.Choice(FAIL_ON),
        default="error",
        show_default=True,
        help="Exit with status 1 when a finding at or above this severity is found.",
    )(func)
    func = click.option("-v", "--verbose", is_flag=True, help="Show the evidence of each finding and every DNS query made.")(func)
    func = click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for scripts (quiet: only the JSON on stdout).",
    )(func)
    return func


def dns_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--timeout",
        type=click.FloatRange(0.05, 60),
        default=2.0,
        show_default=True,
        help="Seconds to wait for each DNS answer (two attempts).",
    )(func)
    func = click.option(
        "--zone",
        "zones",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="Answer DNS from zone files: a *.zone file or a directory of them (repeatable).",
    )(func)
    func = click.option(
        "--nameserver",
        "nameservers",
        multiple=True,
        metavar="IP[:PORT]",
        help="Ask this DNS server instead of the system's resolver (repeatable).",
    )(func)
    return func


def storage_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--db", metavar="URL", help="A database URL instead of SQLite in --data (e.g. postgresql+psycopg://...).")(func)
    func = click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("maildoctor-data"),
        show_default=True,
        help="Directory of the SQLite database (shared with `maildoctor serve`).",
    )(func)
    return func


def open_database(data_dir: Path, db: str | None) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    from maildoctor.store.database import connect, migrate

    try:
        engine = connect(db or str(data_dir))
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot open the database {db or data_dir}: {str(exc).splitlines()[0]}")
    return engine


def seconds_of(text: str) -> float | None:
    """'30d', '12h', '90m' as seconds, or None when the text is not such a duration."""
    units = {"d": 86400, "h": 3600, "m": 60}
    return int(text[:-1]) * units[text[-1]] if text[:-1].isdigit() and text[-1:] in units else None


def parse_since(text: str) -> float:
    """'30d', '12h', '90m' (ago), or a date YYYY-MM-DD; a UNIX time."""
    import datetime
    import time as clock

    ago = seconds_of(text)
    if ago is not None:
        return clock.time() - ago
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()
    except ValueError:
        raise ValueError(f"--since {text!r}: give 30d, 12h, 90m or a date like 2026-11-01") from None


def build_resolver(nameservers: tuple[str, ...], zones: tuple[Path, ...], timeout: float) -> Resolver:
    try:
        return resolver_spec(nameservers, zones, timeout).build()
    except ZoneLoadError as exc:
        fail(f"cannot read zone file: {exc}")
    except ValueError as exc:
        fail(str(exc))


def resolver_spec(nameservers: tuple[str, ...], zones: tuple[Path, ...], timeout: float) -> ResolverSpec:
    return ResolverSpec(tuple(nameservers), tuple(str(z) for z in zones), timeout)


EXIT_INCOMPLETE = 3  # an area could not be checked (Nagios' UNKNOWN)
# What every command's JSON carries of its report besides its own fields.
STATUS_KEYS = ("complete", "incomplete", "score_text", "runs")


def allow_incomplete() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("allow_incomplete"))


def exit_status(report: Report, fail_on: str) -> int:
    """0 nothing at or above --fail-on, 1 something was, 3 incomplete (unless --allow-incomplete)."""
    if not report.complete and not allow_incomplete():
        return EXIT_INCOMPLETE
    worst = report.worst()
    threshold = None if fail_on == "never" else Severity.parse(fail_on)
    return 1 if threshold is not None and worst is not None and worst >= threshold else 0


def emit(report: Report, output_format: str, verbose: bool, fail_on: str) -> NoReturn:
    if output_format == "json":
        click.echo(render_json(report, verbose=verbose))
    else:
        render_terminal(report, Console(highlight=False), verbose=verbose)
    sys.exit(exit_status(report, fail_on))


def run_with_status(coro: Any, output_format: str, what: str) -> Any:
    console = Console(stderr=True)
    if output_format == "text" and console.is_terminal:
        with console.status(f"Auditing {what}…"):
            return aio.run(coro)
    return aio.run(coro)


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor check example.com
  maildoctor check example.com --ip 203.0.113.7 --format json
  maildoctor zone example.com.zone
  maildoctor spf example.com
  maildoctor spf eval --ip 203.0.113.7 --mail-from bounce@example.com
Run 'maildoctor COMMAND --help' for each command's options.""",
)
@click.version_option(__version__, prog_name="maildoctor")
def main() -> None:
    """Why do my mails end up in spam? maildoctor audits a sending domain, its DNS and its
    zone file, and says exactly what to change."""


@main.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor check example.com
  maildoctor check example.com --ip 203.0.113.7 --ip 2001:db8::25
  maildoctor check example.com --nameserver 127.0.0.1:5353 --format json
  maildoctor check example.com --zone zones/          # DNS answered from zone files
  maildoctor check example.com --fail-on warning      # for CI: exit 1 on any warning
  maildoctor check example.com --probe                # also connect to the MX hosts (port 25)
  maildoctor check example.com --smtp mail.example.com:587
  maildoctor check --domains-file customers.txt --format json > audits.jsonl
\b
Exit status: 0 nothing at or above --fail-on, 1 something was found, 2 bad input,
3 incomplete: an area could not be checked (--allow-incomplete gives 0 or 1 instead).""",
)
@click.argument("domain", required=False)
@click.option("--domains-file", type=click.File("r"), help="Audit every domain in this file (one per line, # comments; - for stdin).")
@click.option(
    "--concurrency", type=click.IntRange(1, 1000), default=50, show_default=True, help="Audits at once with --domains-file (per job)."
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes for --domains-file. [default: one per core, at most one per 200 domains]",
)
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address, IPv4 or IPv6 (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@click.option("--smtp", metavar="HOST[:PORT]", help="Connect to this SMTP server: greeting, EHLO, STARTTLS, certificate.")
@click.option("--probe", is_flag=True, help="Connect to every MX host on port 25, and fetch the MTA-STS policy over HTTPS.")
@click.option(
    "--cafile", type=click.Path(exists=True, dir_okay=False), help="Also trust the CA certificates in this PEM file (private CAs)."
)
@storage_options
@dns_options
@output_options
def check(
    domain: str | None,
    domains_file: Any,
    concurrency: int,
    jobs: int | None,
    ips: tuple[str, ...],
    selectors: tuple[str, ...],
    smtp: str | None,
    probe: bool,
    cafile: str | None,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Audit the mail set-up of DOMAIN over DNS (and, when asked, its SMTP servers); or of every
    domain in --domains-file, one line per domain (JSON lines with --format json).

    No connection to a mail server is made without --smtp or --probe."""
    if domains_file is not None:
        if domain:
            fail("give DOMAIN or --domains-file, not both")
        if ips or selectors or smtp:
            fail("--ip, --dkim-selector and --smtp describe one domain: they do not go with --domains-file")
        check_many(domains_file, concurrency, jobs, probe, cafile, data_dir, db, nameservers, zones, timeout, output_format, fail_on)
    if not domain:
        fail("give a DOMAIN (or --domains-file)")
    try:
        target = Target(
            domain=parse_domain(domain),
            ips=[parse_ip(i) for i in ips],
            dkim_selectors=list(selectors),
            smtp=smtp,
            probe=probe,
            cafile=cafile,
        )
        if smtp:
            parse_host_port(smtp, 25)
    except ValueError as exc:
        fail(str(exc))
    if db or (data_dir / "maildoctor.sqlite3").exists():  # selectors seen in ingested DMARC reports
        from maildoctor.feedback.ingest import selectors_seen

        target.known_selectors = selectors_seen(open_database(data_dir, db), target.domain)
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver), output_format, target.domain)
    emit(report, output_format, verbose, fail_on)


def check_many(
    lines: Any,
    concurrency: int,
    jobs: int | None,
    probe: bool,
    cafile: str | None,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    fail_on: str,
) -> NoReturn:
    from rich.progress import Progress

    from maildoctor.bulk import Finished, audit_many

    targets, problems = [], []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            targets.append(Target(domain=parse_domain(text), probe=probe, cafile=cafile))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    selectors, database = None, None
    if db or (data_dir / "maildoctor.sqlite3").exists():
        from maildoctor.feedback.ingest import selectors_seen

        engine = open_database(data_dir, db)
        selectors = functools.partial(selectors_seen, engine)
        database = db or str(data_dir)
    resolver = build_resolver(nameservers, zones, timeout)
    status = 2 if problems else 0
    for problem in problems:
        click.echo(f"maildoctor: {problem}", err=True)
    console = Console(stderr=True)

    threshold = None if fail_on == "never" else Severity.parse(fail_on)

    from maildoctor.findings import area_title

    incomplete_counts = not allow_incomplete()

    def show(done: Finished) -> int:
        """Print one audit; 1 when it has a finding at or above --fail-on, 3 when it is incomplete."""
        if output_format == "json":
            click.echo(done.line)
        else:
            click.echo(
                f"{done.target:40} {done.score:4.1f}/10  {done.findings:3} finding(s)"
                + (f"  worst: {done.worst[0]} {done.worst[1]}" if done.worst else "")
                + (f"  incomplete: {', '.join(area_title(a) for a in done.incomplete)}" if done.incomplete else "")
            )
        if done.incomplete and incomplete_counts:
            return EXIT_INCOMPLETE
        return int(threshold is not None and done.worst is not None and Severity.parse(done.worst[0]) >= threshold)

    async def run() -> int:
        worst = 0
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("Auditing", total=len(targets))
            async for report in audit_many(targets, resolver, concurrency, selectors):
                progress.advance(task)
                worst = max(worst, show(Finished.of(report)))
        return worst

    if jobs is None:
        from maildoctor.bulk import workers_for

        jobs = workers_for(len(targets), os.cpu_count() or 1)
    if jobs > 1:
        from maildoctor.bulk import audit_many_processes

        worst = 0
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("Auditing", total=len(targets))
            for done in audit_many_processes(
                [t.domain for t in targets], resolver_spec(nameservers, zones, timeout), jobs, concurrency, probe, cafile, database
            ):
                progress.advance(task)
                worst = max(worst, show(done))
        sys.exit(max(status, worst))
    sys.exit(max(status, aio.run(run())))


@main.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor zone example.com.zone
  maildoctor zone db.example --origin example.com --format json
  maildoctor zone example.com.zone --ip 203.0.113.7 -v
\b
No network is used: every DNS question is answered from the file.""",
)
@click.argument("zonefile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--origin", help="The zone's domain, when the file has no $ORIGIN and is not named DOMAIN.zone.")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@output_options
def zone(
    zonefile: Path, origin: str | None, ips: tuple[str, ...], selectors: tuple[str, ...], output_format: str, verbose: bool, fail_on: str
) -> None:
    """Audit a zone file offline, before it is published."""
    try:
        if origin:
            origin = parse_domain(origin)
        parsed_ips = [parse_ip(i) for i in ips]
        source = read_zone_source(zonefile, origin)
    except ValueError as exc:
        fail(str(exc))
    except ZoneLoadError as exc:
        report = Report(target=origin or zonefile.name, kind="zone")
        report.findings.append(
            make_finding(
                "zone.parse_error",
                f"{zonefile} does not parse",
                str(exc),
                evidence=[str(exc)],
                fix="Correct the line named above; nothing else was checked.",
            )
        )
        emit(report, output_format, verbose, fail_on)
    target = Target(domain=source.domain, ips=parsed_ips, dkim_selectors=list(selectors), known_selectors=source.dkim_selectors())
    report = run_with_status(run_audit(target, ZoneResolver(ZoneSet([source.loaded])), zone=source), output_format, str(zonefile))
    emit(report, output_format, verbose, fail_on)


class DomainOrCommand(click.Group):
    """`maildoctor spf DOMAIN` shows the tree; `maildoctor spf eval ...` evaluates."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["tree", *args]
        return super().parse_args(ctx, args)


@main.group(
    cls=DomainOrCommand,
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf example.com                  # the SPF tree: every include, lookups counted
  maildoctor spf example.com --format json
  maildoctor spf eval --ip 203.0.113.7 --mail-from bounce@example.com --helo mail.example.com""",
)
def spf() -> None:
    """SPF: show a domain's SPF tree (maildoctor spf DOMAIN), or evaluate one connection (spf eval)."""


@spf.command(
    "tree",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf example.com
  maildoctor spf example.com --ip 2001:db8::25 --nameserver 127.0.0.1:5353
  maildoctor spf tree example.com --format json""",
)
@click.argument("domain")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="Also say whether this sending IP is authorized (repeatable).")
@dns_options
@output_options
def spf_tree(
    domain: str,
    ips: tuple[str, ...],
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Print DOMAIN's SPF record and its whole include/redirect tree, with the DNS lookups each
    branch costs (what receivers count against the limit of 10), void lookups, the address
    ranges each branch authorizes, and every SPF finding."""
    try:
        target = Target(domain=parse_domain(domain), ips=[parse_ip(i) for i in ips])
    except ValueError as exc:
        fail(str(exc))
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver, areas=("spf",)), output_format, target.domain)
    tree = report.facts.get("spf")
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "schema": SCHEMA_VERSION,
                    "domain": target.domain,
                    "score": report.score,
                    "lookups": tree["total_lookups"] if tree else None,
                    "tree": tree,
                    **{k: v for k, v in report.to_json(verbose).items() if k in ("findings", "queries", *STATUS_KEYS)},
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        sys.exit(exit_status(report, fail_on))
    console = Console(highlight=False)
    if tree:
        render_tree(tree, console)
        console.print()
    render_terminal(report, console, verbose=verbose)
    sys.exit(exit_status(report, fail_on))


@spf.command(
    "eval",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf eval --ip 203.0.113.7 --mail-from bounce@example.com --helo mail.example.com
  maildoctor spf eval --ip 2001:db8::25 --helo mail.example.com          # the HELO identity
  maildoctor spf eval --ip 203.0.113.7 --mail-from a@example.com --format json
\b
Exit status: 0 pass, 1 any other result, 2 bad input.""",
)
@click.option("--ip", required=True, metavar="IP", help="The connecting client's address.")
@click.option("--mail-from", default="", metavar="ADDRESS", help="The envelope sender (MAIL FROM); empty checks the HELO name.")
@click.option("--helo", default="", metavar="NAME", help="The HELO/EHLO name the client gave.")
@dns_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Show every step of the evaluation and the DNS queries.")
def spf_eval(
    ip: str,
    mail_from: str,
    helo: str,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
) -> None:
    """Evaluate SPF as a receiver would (RFC 7208 check_host()): the result, the mechanism that
    decided it, and the explanation a receiver would give."""
    try:
        address = parse_ip(ip)
    except ValueError as exc:
        fail(str(exc))
    if not mail_from and not helo:
        fail("give --mail-from, --helo, or both")
    resolver = TracingResolver(build_resolver(nameservers, zones, timeout))
    evaluation = aio.run(check_identity(resolver, address, mail_from, helo or "unknown"))
    data: dict[str, Any] = {"schema": SCHEMA_VERSION, **evaluation.to_json()}
    data["receiver_says"] = receiver_words(evaluation.result.value, address, evaluation.domain, evaluation.explanation)
    data["queries"] = [q.to_json() for q in resolver.trace]
    if output_format == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        console = Console(highlight=False)
        render_evaluation(data, console)
        if verbose:
            console.print("\nSteps:\n" + "\n".join("  " + s for s in evaluation.steps))
            console.print(
                "DNS queries:\n"
                + "\n".join(f"  {q['name']} {q['type']}: {q['outcome']} {' | '.join(q['records'])}" for q in data["queries"])
            )
    sys.exit(0 if evaluation.result is SpfResult.PASS else 1)


def receiver_words(result: str, ip: str, domain: str, explanation: str) -> str:
    """What a receiver writes in Received-SPF for this result (the wording Gmail and others use)."""
    text = {
        "pass": f"domain of {domain} designates {ip} as permitted sender",
        "fail": f"domain of {domain} does not designate {ip} as permitted sender",
        "softfail": f"domain of transitioning {domain} does not designate {ip} as permitted sender",
        "neutral": f"{ip} is neither permitted nor denied by domain of {domain}",
        "none": f"domain of {domain} does not designate permitted sender hosts",
        "permerror": f"permanent error in processing the SPF record of {domain}",
        "temperror": f"temporary error in processing during lookup of {domain}",
    }[result]
    if result == "fail" and explanation and explanation != "DEFAULT":
        text += f" ({explanation})"
    return f"{result} ({text})"


@main.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor dkim example.com -s selector1          # one key, decoded
  maildoctor dkim example.com                       # the common selectors, discovered
  maildoctor dkim example.com -s s1 -s s2 --format json""",
)
@click.argument("domain")
@click.option(
    "--selector",
    "-s",
    "selectors",
    multiple=True,
    metavar="SELECTOR",
    help="A selector in use (repeatable); without it the common ones are tried.",
)
@dns_options
@output_options
def dkim(
    domain: str,
    selectors: tuple[str, ...],
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Show DOMAIN's DKIM key records decoded (key type, bits, flags, hash algorithms) and
    everything wrong with them."""
    try:
        target = Target(domain=parse_domain(domain), dkim_selectors=list(selectors))
    except ValueError as exc:
        fail(str(exc))
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver, areas=("dkim",)), output_format, target.domain)
    keys = report.facts.get("dkim", {})
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "schema": SCHEMA_VERSION,
                    "domain": target.domain,
                    "score": report.score,
                    "keys": keys,
                    **{k: v for k, v in report.to_json(verbose).items() if k in ("findings", "queries", *STATUS_KEYS)},
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        sys.exit(exit_status(report, fail_on))
    console = Console(highlight=False)
    render_keys(keys, target.domain, console)
    render_terminal(report, console, verbose=verbose)
    sys.exit(exit_status(report, fail_on))


@main.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor blocklists 203.0.113.7                       # one IP against every list
  maildoctor blocklists 203.0.113.7 2001:db8::25 example.com
  maildoctor blocklists 203.0.113.7 --nameserver 127.0.0.1 # ask your own resolver (public ones are refused)
  maildoctor blocklists example.com --lists my-lists.toml --format json
  maildoctor blocklists --self-test                        # which lists answer their test entry
\b
Exit status: 0 not listed at or above --fail-on, 1 listed, 2 bad input,
3 a list could not be asked (--allow-incomplete gives 0 or 1 instead).""",
)
@click.argument("targets", nargs=-1)
@click.option(
    "--lists",
    "lists_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Use the lists in this TOML file (the format of the shipped dnsbls.toml) instead.",
)
@click.option("--self-test", is_flag=True, help="Query each list's documented test entry (must be listed) and 127.0.0.1 (must not be).")
@click.option("--deadline", type=click.FloatRange(0.1, 120), default=10.0, show_default=True, help="Seconds for all the queries together.")
@dns_options
@output_options
def blocklists(
    targets: tuple[str, ...],
    lists_file: str | None,
    self_test: bool,
    deadline: float,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Look up IP addresses (IPv4, IPv6) and domains on the DNS blocklists receivers use: what
    each listing means, the list's reason, and where to request removal."""
    from maildoctor.checks.dnsbl import blocklist_findings, shipped_catalog
    from maildoctor.dnsbl.catalog import CatalogError, load_catalog
    from maildoctor.dnsbl.lookup import Subject, check_all
    from maildoctor.dnsbl.lookup import self_test as run_self_test
    from maildoctor.render.dnsbl import render_results, render_self_test

    if not targets and not self_test:
        fail("give at least one IP address or domain (or --self-test)")
    try:
        subjects = list(dict.fromkeys(Subject.parse(t) for t in targets))
        lists = load_catalog(lists_file) if lists_file else list(shipped_catalog())
    except (ValueError, CatalogError) as exc:
        fail(str(exc))
    resolver = TracingResolver(build_resolver(nameservers, zones, timeout))

    async def run() -> tuple[list[Any], dict[str, str]]:
        results = await check_all(resolver, subjects, lists, deadline)
        states = await run_self_test(resolver, lists, deadline) if self_test else {}
        return results, states

    results, states = run_with_status(run(), output_format, f"{len(subjects)} target(s) on {len(lists)} lists")
    report = Report(target=", ".join(s.text for s in subjects) or "self-test", kind="blocklists")
    report.findings = blocklist_findings(results)
    report.runs = [run_of("dnsbl", "blocklists", report.findings)] if subjects else []
    report.queries = [q.to_json() for q in resolver.trace]
    rows = [r.to_json() for r in results]
    broken = any(not s.startswith(("working", "no test", "unavailable")) for s in states.values())
    status = max(exit_status(report, fail_on), 1 if broken and fail_on != "never" else 0)
    if output_format == "json":
        data = {
            "schema": SCHEMA_VERSION,
            "kind": "blocklists",
            "targets": [s.text for s in subjects],
            "lists": len(lists),
            "results": rows,
            **({"self_test": states} if self_test else {}),
            **{k: v for k, v in report.to_json(verbose).items() if k in ("score", "findings", "queries", *STATUS_KEYS)},
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        sys.exit(status)
    console = Console(highlight=False)
    if states:
        render_self_test(states, console)
    if subjects:
        render_results(rows, console, verbose)
        render_terminal(report, console, verbose=verbose)
    sys.exit(status)


@main.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor message mail.eml                     # a raw message (.eml, "download original")
  maildoctor message headers.txt                  # only the headers pasted from "show original"
  maildoctor message mail.eml --client-ip 2001:db8::25 --helo mail.example.com --mail-from b@example.com
  cat mail.eml | maildoctor message -
  maildoctor message mail.eml --spamassassin 127.0.0.1:783 --rspamd http://127.0.0.1:11333
  maildoctor message headers.txt --zone example.com.zone   # DNS answered from a zone file
\b
Exit status: 0 nothing at or above --fail-on, 1 something was found, 2 bad input,
3 incomplete: an area could not be checked (--allow-incomplete gives 0 or 1 instead).""",
)
@click.argument("source", type=click.File("rb"))
@click.option("--client-ip", metavar="IP", default="", help="The IP that delivered the message (else read from the headers).")
@click.option("--helo", metavar="NAME", default="", help="The HELO/EHLO name it gave (else read from the headers).")
@click.option("--mail-from", metavar="ADDRESS", default="", help="The envelope sender (else read from the headers).")
@click.option("--spamassassin", metavar="HOST[:PORT]", help="Also score the message with this spamd (SpamAssassin).")
@click.option("--rspamd", metavar="URL", help="Also score the message with this rspamd (e.g. http://127.0.0.1:11333).")
@click.option("--no-domain-audit", is_flag=True, help="Do not check the sender domain's SPF, DKIM and DMARC records.")
@dns_options
@output_options
def message(
    source: Any,
    client_ip: str,
    helo: str,
    mail_from: str,
    spamassassin: str | None,
    rspamd: str | None,
    no_domain_audit: bool,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Explain why a received message went to spam: the connection, SPF, every DKIM signature,
    DMARC alignment, ARC, what the receiver's Authentication-Results say in plain words, the
    headers and structure, and (optionally) a content engine's score. SOURCE is a file or - for
    standard input."""
    from maildoctor.message.analyse import MessageOptions, analyse_message
    from maildoctor.render.message import render_message

    try:
        data = source.read()
        if client_ip:
            client_ip = parse_ip(client_ip)
        if spamassassin:
            parse_host_port(spamassassin, 783)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read {getattr(source, 'name', 'the input')}: {exc}")
    options = MessageOptions(
        client_ip=client_ip, helo=helo, mail_from=mail_from, spamassassin=spamassassin, rspamd=rspamd, audit_domain=not no_domain_audit
    )
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(analyse_message(data, resolver, options), output_format, "the message")
    if output_format == "json":
        click.echo(render_json(report))
        sys.exit(exit_status(report, fail_on))
    console = Console(highlight=False)
    if report.facts:
        render_message(report.facts, console)
    render_terminal(report, console, verbose=verbose)
    sys.exit(exit_status(report, fail_on))


@main.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor serve                                   # SMTP :2525, web http://127.0.0.1:8025, SQLite in ./maildoctor-data
  maildoctor serve --host 0.0.0.0 --smtp-port 25 --http-port 80 --domain test.example.com
  maildoctor serve --db postgresql+psycopg://md:secret@db/maildoctor --admin-token "$TOKEN"
  maildoctor serve --nameserver 127.0.0.1:5353        # DNS for the analysis, as in `check`
\b
Then open the web page, get an address, and send a mail to it (e.g. swaks --server 127.0.0.1:2525
--to md-xxxxxxxxxx@DOMAIN). Scripts: POST /api/tests, then GET /api/tests/ID.""",
)
@click.option("--domain", default=None, help="The domain of the test addresses (its MX must point here). [default: this host's name]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (SMTP and web).")
@click.option("--smtp-port", type=click.IntRange(1, 65535), default=2525, show_default=True)
@click.option("--http-port", type=click.IntRange(1, 65535), default=8025, show_default=True)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("maildoctor-data"),
    show_default=True,
    help="Directory for the SQLite database and the TLS certificate.",
)
@click.option("--db", metavar="URL", help="A database URL instead of SQLite in --data (e.g. postgresql+psycopg://...).")
@click.option(
    "--keep-days", type=click.FloatRange(0.01, 3650), default=7.0, show_default=True, help="Delete tests and messages after this many days."
)
@click.option(
    "--admin-token", envvar="MAILDOCTOR_ADMIN_TOKEN", help="Enables GET/DELETE /api/tests (listing, deletion) with this bearer token."
)
@click.option(
    "--max-size",
    type=click.IntRange(1024, 1 << 30),
    default=10 * 1024 * 1024,
    show_default=True,
    help="Largest message accepted, in bytes (552 beyond).",
)
@click.option("--max-recipients", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--max-connections-per-ip", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate for STARTTLS (default: a self-signed one in --data).",
)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM key of --tls-cert.")
@click.option("--no-tls", is_flag=True, help="Do not offer STARTTLS.")
@click.option(
    "--reports-address",
    default="reports",
    show_default=True,
    metavar="LOCAL",
    help="LOCAL@DOMAIN takes DMARC/TLS reports, bounces and complaints (as `reports ingest` does); '' turns it off.",
)
@click.option(
    "--grader-processes",
    type=click.IntRange(0, 64),
    default=None,
    help="Worker processes that grade messages; 0 grades in the server process. [default: the number of CPUs]",
)
@dns_options
def serve(
    domain: str | None,
    host: str,
    smtp_port: int,
    http_port: int,
    data_dir: Path,
    db: str | None,
    keep_days: float,
    admin_token: str | None,
    max_size: int,
    max_recipients: int,
    max_connections_per_ip: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    no_tls: bool,
    reports_address: str,
    grader_processes: int | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Run the test inbox: an SMTP server that accepts mail only for the addresses it hands out,
    and a web page (and REST API) that grades each message like a receiver would."""
    import logging
    import os
    import socket

    from maildoctor.inbox.server import ServeConfig
    from maildoctor.inbox.server import serve as run_server
    from maildoctor.inbox.smtpd import SmtpLimits

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        name = parse_domain(domain) if domain else (socket.getfqdn().lower() if "." in socket.getfqdn() else "localhost")
    except ValueError as exc:
        fail(str(exc))
    if (tls_cert is None) != (tls_key is None):
        fail("give both --tls-cert and --tls-key, or neither")
    config = ServeConfig(
        domain=name,
        host=host,
        smtp_port=smtp_port,
        http_port=http_port,
        data=data_dir,
        db=db,
        keep_days=keep_days,
        admin_token=admin_token,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls=not no_tls,
        limits=SmtpLimits(
            reports_local=reports_address,
            max_message_bytes=max_size,
            max_recipients=max_recipients,
            max_connections_per_ip=max_connections_per_ip,
        ),
        grader_processes=os.cpu_count() or 1 if grader_processes is None else grader_processes,
    )
    build_resolver(nameservers, zones, timeout)  # bad --nameserver or --zone: say so now, not in a worker
    from sqlalchemy.exc import SQLAlchemyError

    try:
        asyncio.run(run_server(config, resolver_spec(nameservers, zones, timeout)))  # aiosmtpd is tested on asyncio's loop
    except SQLAlchemyError as exc:
        fail(f"cannot open the database {db or data_dir}: {str(exc).splitlines()[0]}")
    except OSError as exc:
        fail(f"cannot listen: {exc}")
    except KeyboardInterrupt:
        pass


@main.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor reports ingest reports/                  # files, directories; xml, gz, zip, json, .eml, mbox
  maildoctor reports summary --domain example.com --since 30d
  maildoctor reports summary --format csv > sources.csv""",
)
def reports() -> None:
    """DMARC aggregate and TLS-RPT reports: ingest them, then see who sends as your domain."""


@reports.command(
    "ingest",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor reports ingest reports/
  maildoctor reports ingest 'google.com!example.com!1700000000!1700086399.zip' dmarc.mbox
  maildoctor reports ingest reports/ --format json
  MAILDOCTOR_IMAP_PASSWORD=... maildoctor reports ingest --imap imaps://dmarc@mail.example.com/INBOX""",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--imap",
    "imap_url",
    metavar="URL",
    help="Also fetch unseen mail from imaps://user@host[:port]/MAILBOX (password in MAILDOCTOR_IMAP_PASSWORD).",
)
@click.option("--imap-all", is_flag=True, help="Fetch every message of the mailbox, not only the unseen ones.")
@click.option("--imap-cafile", type=click.Path(exists=True, dir_okay=False), help="Trust this CA for the IMAP server (private CAs).")
@storage_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def reports_ingest(
    paths: tuple[Path, ...],
    imap_url: str | None,
    imap_all: bool,
    imap_cafile: str | None,
    data_dir: Path,
    db: str | None,
    output_format: str,
) -> None:
    """Read report files into the database: each report once (by organization and report id);
    files that cannot be read are kept aside with the reason and do not stop the others. The DKIM
    selectors seen are remembered for later audits of the domain."""
    import os

    from rich.progress import Progress

    from maildoctor.feedback.imap import ImapSource, add_results, fetch_and_ingest
    from maildoctor.feedback.ingest import ingest, report_files

    if not paths and not imap_url:
        fail("give files or directories to ingest, or --imap URL")
    source = None
    if imap_url:
        try:
            source = ImapSource.parse(imap_url)
        except ValueError as exc:
            fail(str(exc))
        if "MAILDOCTOR_IMAP_PASSWORD" not in os.environ:
            fail("set MAILDOCTOR_IMAP_PASSWORD to the IMAP password (kept out of the command line and shell history)")
    engine = open_database(data_dir, db)
    files = list(report_files(paths))
    console = Console(stderr=True)
    if output_format == "text" and console.is_terminal and len(files) > 1:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Ingesting", total=len(files))
            result = ingest(engine, files, progress=lambda _: progress.advance(task))
    else:
        result = ingest(engine, files)
    if source is not None:
        try:
            add_results(result, fetch_and_ingest(engine, source, os.environ["MAILDOCTOR_IMAP_PASSWORD"], imap_all, imap_cafile), "imap")
        except ValueError as exc:
            fail(str(exc))
    if output_format == "json":
        click.echo(json.dumps({"schema": SCHEMA_VERSION, **result.to_json()}, indent=2))
    else:
        click.echo(
            f"{result.files} file(s): {result.reports} DMARC aggregate report(s) with {result.records} record(s),"
            f" {result.tls_reports} TLS report(s), {result.failure_reports} failure report(s), {result.bounces} bounce(s),"
            f" {result.complaints} complaint(s), {result.reputation} reputation row(s) (SNDS, Postmaster Tools),"
            f" {result.duplicates} duplicate(s), {len(result.rejected)} rejected"
        )
        for where, reason in result.rejected:
            click.echo(f"  rejected {where}: {reason}")
        for where, repair in result.repaired:
            click.echo(f"  repaired {where}: {repair}")
        for where, warning in result.warnings:
            click.echo(f"  warning {where}: {warning}")
    sys.exit(1 if result.rejected else 0)


@reports.command(
    "summary",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor reports summary
  maildoctor reports summary --domain example.com --since 30d --format json
  maildoctor reports summary --since 2026-11-01 --format csv""",
)
@click.option("--domain", help="Only this domain.")
@click.option("--since", help="30d, 12h, 90m ago, or a date YYYY-MM-DD. [default: all the data there is]")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@storage_options
@dns_options
def reports_summary(
    domain: str | None,
    since: str | None,
    output_format: str,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Per domain: the sources that send as it (IP, reverse name, likely provider), their volume and
    aligned SPF/DKIM/DMARC pass rates, TLS-RPT failures, and what to do about what fails."""
    import csv
    import datetime

    from maildoctor.feedback.summary import data_period, summary_report

    try:
        start = parse_since(since) if since else 0.0
        domain = parse_domain(domain) if domain else None
    except ValueError as exc:
        fail(str(exc))
    engine = open_database(data_dir, db)
    resolver = build_resolver(nameservers, zones, timeout)
    report, summaries, tls = aio.run(summary_report(engine, resolver, domain, start))
    held = data_period(engine, domain)

    def day(when: float) -> str:
        return datetime.datetime.fromtimestamp(when, datetime.UTC).date().isoformat()

    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "schema": SCHEMA_VERSION,
                    "since": start,
                    "domains": [s.to_json() for s in summaries],
                    "data_period": {"begin": held[0], "end": held[1]} if held else None,
                    "tls": tls,
                    "failure_reports": report.facts["failure_reports"],
                    "score": report.score,
                    "findings": [f.to_json() for f in report.findings],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    elif output_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(
            [
                "domain",
                "source_ip",
                "reverse_name",
                "provider",
                "messages",
                "dkim_aligned_pass",
                "spf_aligned_pass",
                "dmarc_pass",
                "dkim_domains",
                "envelope_domains",
            ]
        )
        for summary in summaries:
            for s in summary.sources:
                writer.writerow(
                    [
                        summary.domain,
                        s.ip,
                        s.reverse_name,
                        s.provider,
                        s.messages,
                        s.dkim_pass,
                        s.spf_pass,
                        s.dmarc_pass,
                        " ".join(s.dkim_domains),
                        " ".join(s.envelope_domains),
                    ]
                )
    else:
        from rich.table import Table

        console = Console(highlight=False)
        if not summaries and not tls and not report.facts["failure_reports"] and not report.facts["reputation"]:
            if held is None:
                console.print("No reports yet. Ingest some with: maildoctor reports ingest PATH")
            else:  # the period excludes what there is: say which period holds data
                console.print(
                    f"No reports since {day(start)}. The reports held cover {day(held[0])} to {day(held[1])}:"
                    f" run again with --since {day(held[0])}, or without --since for all of them."
                )
        for entry in report.facts["failure_reports"]:
            sources = ", ".join(f"{ip} ({n})" for ip, n in sorted(entry["sources"].items(), key=lambda kv: -kv[1])[:5])
            console.print(f"{entry['domain']}: {entry['reports']} DMARC failure report(s), from {sources}")
        for summary in summaries:
            rate = summary.dmarc_pass / summary.messages if summary.messages else 0
            table = Table(
                title=f"{summary.domain}: {summary.messages} messages in {summary.reports} report(s), {rate:.0%} pass DMARC",
                title_justify="left",
                header_style="bold",
            )
            for column in ("source", "reverse name / provider", "messages", "DKIM", "SPF", "DMARC"):
                table.add_column(column, justify="right" if column in ("messages", "DKIM", "SPF", "DMARC") else "left")
            for s in summary.sources[:25]:
                style = "green" if s.rate(s.dmarc_pass) >= 0.9 else "yellow" if s.rate(s.dmarc_pass) >= 0.5 else "red"
                table.add_row(
                    s.ip,
                    " / ".join(x for x in (s.reverse_name, s.provider) if x) or "-",
                    str(s.messages),
                    f"{s.rate(s.dkim_pass):.0%}",
                    f"{s.rate(s.spf_pass):.0%}",
                    f"[{style}]{s.rate(s.dmarc_pass):.0%}[/{style}]",
                )
            console.print(table)
            if len(summary.sources) > 25:
                console.print(f"  … and {len(summary.sources) - 25} more sources (--format csv lists them all)")
            console.print()
        render_terminal(report, console)
    sys.exit(exit_status(report, "error"))


@main.group(context_settings=CONTEXT)
def bounces() -> None:
    """Bounces and complaints: classify them (reports ingest stores them)."""


@bounces.command(
    "classify",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor bounces classify bounce.eml
  maildoctor bounces classify bounces/*.eml --format json""",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def bounces_classify(files: tuple[Path, ...], output_format: str) -> None:
    """One line per bounced recipient: recipient, hard/soft, reason, status and the server's words;
    complaints (ARF) as feedback with their type."""
    from maildoctor.feedback.bounces import classify

    results = []
    for path in files:
        try:
            found = classify(path.read_bytes())
        except OSError as exc:
            fail(f"cannot read {path}: {exc}")
        results.append((path, found))
    if output_format == "json":
        click.echo(
            json.dumps(
                {"schema": SCHEMA_VERSION, "files": [{"file": str(p), "bounces": [b.to_json() for b in found]} for p, found in results]},
                indent=2,
            )
        )
        return
    for path, found in results:
        if not found:
            click.echo(f"{path}: not a bounce or complaint")
        for b in found:
            detail = f"feedback-type {b.feedback_type}" if b.reason == "feedback" else f"{b.status or '-'} {b.diagnostic[:100]}"
            click.echo(f"{path}: {b.recipient or '?'}  {b.kind}  {b.reason}  {detail}")


@main.group(context_settings=CONTEXT)
def suppressions() -> None:
    """The addresses to stop mailing, from the bounces and complaints ingested: export, list,
    remove, import."""


def parse_duration(text: str | None) -> float | None:
    """'30d', '12h', '90m' as seconds; None stays None."""
    if text is None:
        return None
    seconds = seconds_of(text)
    if seconds is None:
        raise click.BadParameter(f"{text!r}: give 30d, 12h or 90m", param_hint="--expire-soft-after")
    return seconds


EXPIRE_SOFT = click.option(
    "--expire-soft-after", metavar="DURATION", help="Drop soft-bounce suppressions whose last bounce is older than this (30d, 12h)."
)


@suppressions.command(
    "export",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor suppressions export > suppress.txt
  maildoctor suppressions export --format csv --expire-soft-after 30d""",
)
@click.option("--format", "output_format", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True)
@EXPIRE_SOFT
@storage_options
def suppressions_export(output_format: str, expire_soft_after: str | None, data_dir: Path, db: str | None) -> None:
    """Every address that complained, bounced hard, bounced soft 5 times or more, or was
    imported; less those removed (until they bounce again)."""
    import csv

    from maildoctor.feedback.ingest import suppressions as suppressed

    rows = suppressed(open_database(data_dir, db), parse_duration(expire_soft_after))
    if output_format == "json":
        click.echo(json.dumps({"schema": SCHEMA_VERSION, "suppressions": rows}, indent=2))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["address", "why", "reason", "bounces", "last_seen", "evidence"])
        for row in rows:
            writer.writerow([row["address"], row["why"], row["reason"], row["bounces"], row["last_seen"], row["evidence"]])
    else:
        for row in rows:
            click.echo(str(row["address"]))


@suppressions.command(
    "list",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor suppressions list
  maildoctor suppressions list --expire-soft-after 30d""",
)
@EXPIRE_SOFT
@storage_options
def suppressions_list(expire_soft_after: str | None, data_dir: Path, db: str | None) -> None:
    """The suppression list with the reason and the evidence of each address."""
    from maildoctor.feedback.ingest import suppressions as suppressed

    rows = suppressed(open_database(data_dir, db), parse_duration(expire_soft_after))
    click.echo(f"{len(rows)} suppressed address(es)")
    for row in rows:  # a line per address, then its evidence: fits any width
        bounces = f", {row['bounces']} bounce(s)" if row["bounces"] else ""
        click.echo(f"{row['address']}  {row['why']} ({row['reason']}){bounces}, last {str(row['last_seen'])[:10]}")
        if row["evidence"]:
            click.echo(f"    {row['evidence']}  [{row['source']}]")


@suppressions.command(
    "remove",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor suppressions remove jane@example.org
\b
A removed address is suppressed again when it bounces or complains after its removal.""",
)
@click.argument("addresses", nargs=-1, required=True)
@storage_options
def suppressions_remove(addresses: tuple[str, ...], data_dir: Path, db: str | None) -> None:
    """Take addresses off the suppression list (they were fixed, or suppressed by mistake)."""
    from maildoctor.feedback.ingest import change_suppressions

    count = change_suppressions(open_database(data_dir, db), _mailboxes(addresses), "remove")
    click.echo(f"{count} address(es) removed")


@suppressions.command(
    "import",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor suppressions import unsubscribed.txt --reason unsubscribed
  maildoctor suppressions import old-list.csv       # the first column holds the address""",
)
@click.argument("source", type=click.File("r"))
@click.option("--reason", default="imported", show_default=True, help="Why these addresses are suppressed.")
@storage_options
def suppressions_import(source: Any, reason: str, data_dir: Path, db: str | None) -> None:
    """Add addresses from a file (one per line, or a CSV whose first column is the address;
    # comments and a header line are skipped)."""
    import csv

    from maildoctor.feedback.ingest import change_suppressions

    found = [row[0] for row in csv.reader(line for line in source if line.strip() and not line.lstrip().startswith("#")) if row]
    addresses = [a for a in found if "@" in a]
    count = change_suppressions(open_database(data_dir, db), _mailboxes(addresses), "add", reason)
    click.echo(
        f"{count} address(es) imported"
        + (f", {len(found) - len(addresses)} line(s) without an address skipped" if len(found) > len(addresses) else "")
    )


def _mailboxes(addresses: Any) -> list[str]:
    from maildoctor.feedback.bounces import normal_address

    out = []
    for text in addresses:
        address = normal_address(text)
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain:
            fail(f"{text!r} is not an email address")
        out.append(address)
    return out
