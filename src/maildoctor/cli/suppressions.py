"""`maildoctor suppressions`: the addresses to stop mailing, managed by hand too."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from maildoctor.cli.common import (
    CONTEXT,
    fail,
    open_database,
    seconds_of,
    storage_options,
)
from maildoctor.render.json import dumps, versioned


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor suppressions export > suppress.txt
  maildoctor suppressions list""",
)
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
    from maildoctor.feedback.ingest import suppressions as suppressed
    from maildoctor.render.feedback import write_suppressions_csv

    rows = suppressed(open_database(data_dir, db), parse_duration(expire_soft_after))
    if output_format == "json":
        click.echo(dumps(versioned({"suppressions": rows})))
    elif output_format == "csv":
        write_suppressions_csv(rows, sys.stdout)
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
