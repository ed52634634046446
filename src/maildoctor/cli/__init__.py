"""The command line: parse arguments, build a target and a resolver, run, render. One module per
command group; this one makes the `maildoctor` group of them all."""

from __future__ import annotations

import click

from maildoctor import __version__
from maildoctor.cli.audience import audience
from maildoctor.cli.audit import check
from maildoctor.cli.blocklists import blocklists
from maildoctor.cli.bounces import bounces
from maildoctor.cli.build import bimi, dmarc, mta_sts
from maildoctor.cli.common import CONTEXT
from maildoctor.cli.compliance import compliance_command
from maildoctor.cli.dkim import dkim
from maildoctor.cli.fix import fix
from maildoctor.cli.message import message
from maildoctor.cli.monitor import monitor
from maildoctor.cli.plan import plan
from maildoctor.cli.reports import reports
from maildoctor.cli.reports_summary import reports_summary
from maildoctor.cli.scan import scan_group
from maildoctor.cli.serve import serve
from maildoctor.cli.shape import shape
from maildoctor.cli.spf import spf
from maildoctor.cli.suppressions import suppressions
from maildoctor.cli.zone import zone


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


reports.add_command(reports_summary)
for command in (
    audience,
    bimi,
    blocklists,
    bounces,
    check,
    compliance_command,
    dkim,
    dmarc,
    fix,
    message,
    monitor,
    mta_sts,
    plan,
    reports,
    scan_group,
    serve,
    shape,
    spf,
    suppressions,
    zone,
):
    main.add_command(command)
