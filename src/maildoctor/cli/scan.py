"""`maildoctor scan`: every domain of a list audited, written as Parquet partitions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from maildoctor.cli.common import CONTEXT, DomainOrCommand, dns_options, fail, resolver_spec
from maildoctor.render.json import versioned
from maildoctor.scan.parquet import DOMAINS, has_scan
from maildoctor.scan.run import PARTITION, read_domains, scan


@click.group(
    "scan",
    cls=DomainOrCommand,
    default_command="run",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor scan domains.txt --out scan/
  maildoctor scan domains.txt --out scan/ --resume --jobs 4
  maildoctor scan report scan/ --html report.html""",
)
def scan_group() -> None:
    """Scans: audit every domain of a list (maildoctor scan FILE --out DIR), and their statistics (scan report)."""


@scan_group.command(
    "run",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor scan domains.txt --out scan/
  maildoctor scan domains.txt --out scan/ --jobs 4 --nameserver 127.0.0.1:53
  maildoctor scan domains.txt --out scan/ --resume          # after a scan was cut off
  maildoctor scan domains.txt --out /shared/scan --dask tcp://scheduler:8786
  maildoctor scan domains.txt --out s3://bucket/scan --dask tcp://scheduler:8786   # with s3fs installed
\b
The output: domains-NNNNN.parquet (a row per domain: score, complete, incomplete, findings, each
area's state) and findings-NNNNN.parquet (a row per finding), one pair per partition.""",
)
@click.argument("domains_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    metavar="DIR|URL",
    required=True,
    help="The folder of the Parquet partitions, or a URL fsspec understands (s3://bucket/scan, with s3fs installed).",
)
@click.option("--resume", is_flag=True, help="Keep the partitions already written and scan the rest.")
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes, each with its own resolver.")
@click.option("--partition", type=click.IntRange(1, 1_000_000), default=PARTITION, show_default=True, help="Domains a partition.")
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Run the partitions on a Dask cluster (tcp://scheduler:8786); --out must be a folder every worker reaches.",
)
@dns_options
def run(
    domains_file: Path,
    out_dir: str,
    resume: bool,
    jobs: int,
    partition: int,
    dask_address: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Audit every domain of DOMAINS_FILE (one a line) and write the results as Parquet."""
    domains, bad = read_domains(domains_file)
    if bad:
        fail(f"{domains_file}: {len(bad)} line(s) are no domain name, the first: {bad[0]!r}")
    if not domains:
        fail(f"{domains_file}: no domain")
    try:
        written = has_scan(out_dir)
    except (ImportError, ValueError, OSError) as exc:  # an unknown protocol, its package missing, a bucket not there
        fail(f"--out {out_dir}: {exc}")
    if written and not resume:
        fail(f"{out_dir} holds a scan already: give --resume to finish it, or another --out")
    spec = resolver_spec(nameservers, zones, timeout)
    try:
        spec.build()  # a bad nameserver or zone is said now, not in every worker
    except ValueError as exc:
        fail(str(exc))
    with Progress(
        TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True, disable=not sys.stderr.isatty()
    ) as bar:
        task = bar.add_task("scan", total=len(domains))
        advance = lambda n: bar.advance(task, n)  # noqa: E731
        if dask_address:
            from maildoctor.scan.cluster import scan_on_cluster  # only a cluster scan loads Dask

            try:
                audited = scan_on_cluster(dask_address, domains, out_dir, spec, partition, advance)
            except OSError as exc:
                fail(f"the Dask scheduler {dask_address}: {exc}")
        else:
            audited = scan(domains, out_dir, spec, jobs, partition, advance)
    click.echo(f"{audited} domains audited ({len(domains) - audited} already written) into {out_dir}")


@scan_group.command(
    "report",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor scan report scan/
  maildoctor scan report scan/ --html report.html
  maildoctor scan report scan/ --format json""",
)
@click.argument("scan_dir", metavar="DIR|URL")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML report with charts.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def report(scan_dir: str, html_path: Path | None, output_format: str) -> None:
    """The statistics of a scan: SPF, DKIM and DMARC, the DMARC policies, the most common errors,
    the SPF lookup counts and the mail providers."""
    from maildoctor.scan.report import html_report, statistics  # matplotlib is loaded only for a report

    try:
        written = has_scan(scan_dir)
    except (ImportError, ValueError, OSError) as exc:
        fail(f"{scan_dir}: {exc}")
    if not written:
        fail(f"{scan_dir} holds no scan (no {DOMAINS}-*.parquet)")
    stats = statistics(scan_dir)
    if html_path is not None:
        try:
            html_path.write_text(html_report(stats, f"maildoctor scan of {stats['domains']} domains"), "utf-8")
        except OSError as exc:
            fail(f"cannot write {html_path}: {exc.strerror}")
    if output_format == "json":
        click.echo(json.dumps(versioned({"kind": "scan_report", **stats}), indent=2))
        return
    click.echo(f"{stats['domains']} domains, {stats['complete']} audited completely")
    for area, share in stats["pass_share"].items():
        click.echo(f"  {area:<7} pass {share:6.1%}")
    click.echo("DMARC policies: " + ", ".join(f"{p} {n}" for p, n in stats["dmarc_policies"].items()))
    click.echo("Providers: " + ", ".join(f"{p} {n}" for p, n in stats["providers"].items()))
    click.echo("Most common errors: " + ", ".join(f"{f['id']} {f['domains']}" for f in stats["top_findings"][:8]))
    if html_path is not None:
        click.echo(f"Wrote {html_path}")
