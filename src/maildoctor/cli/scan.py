"""`maildoctor scan`: every domain of a list audited, written as Parquet partitions."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from maildoctor.cli.common import CONTEXT, DomainOrCommand, dns_options, fail, resolver_spec
from maildoctor.scan.parquet import DOMAINS
from maildoctor.scan.run import PARTITION, read_domains, scan


@click.group(
    "scan",
    cls=DomainOrCommand,
    default_command="run",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor scan domains.txt --out scan/
  maildoctor scan domains.txt --out scan/ --resume --jobs 4""",
)
def scan_group() -> None:
    """Scans: audit every domain of a list (maildoctor scan FILE --out DIR)."""


@scan_group.command(
    "run",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor scan domains.txt --out scan/
  maildoctor scan domains.txt --out scan/ --jobs 4 --nameserver 127.0.0.1:53
  maildoctor scan domains.txt --out scan/ --resume          # after a scan was cut off
  maildoctor scan domains.txt --out /shared/scan --dask tcp://scheduler:8786
\b
The output: domains-NNNNN.parquet (a row per domain: score, complete, incomplete, findings, each
area's state) and findings-NNNNN.parquet (a row per finding), one pair per partition.""",
)
@click.argument("domains_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="The folder of the Parquet partitions."
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
    out_dir: Path,
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
    if any(out_dir.glob(f"{DOMAINS}-*.parquet")) and not resume:
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
