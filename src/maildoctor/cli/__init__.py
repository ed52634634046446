"""The command line: parse arguments, build a target and a resolver, run, render. One module per
command group; this one makes the `maildoctor` group of them all."""

from __future__ import annotations

import importlib

import click

from maildoctor import __version__
from maildoctor.cli.common import CONTEXT

# Each command's module, imported only when the command runs (or --help lists them all): a
# command starts without loading what the others need (SQLAlchemy, httpx, Dask, matplotlib),
# which took a second of CPU at every start.
COMMANDS = {
    "audience": "maildoctor.cli.audience:audience",
    "bimi": "maildoctor.cli.build:bimi",
    "blocklists": "maildoctor.cli.blocklists:blocklists",
    "bounces": "maildoctor.cli.bounces:bounces",
    "check": "maildoctor.cli.audit:check",
    "compliance": "maildoctor.cli.compliance:compliance_command",
    "dkim": "maildoctor.cli.dkim:dkim",
    "dmarc": "maildoctor.cli.build:dmarc",
    "fix": "maildoctor.cli.fix:fix",
    "message": "maildoctor.cli.message:message",
    "monitor": "maildoctor.cli.monitor:monitor",
    "mta-sts": "maildoctor.cli.build:mta_sts",
    "plan": "maildoctor.cli.plan:plan",
    "reports": "maildoctor.cli.reports:reports",
    "scan": "maildoctor.cli.scan:scan_group",
    "serve": "maildoctor.cli.serve:serve",
    "shape": "maildoctor.cli.shape:shape",
    "spf": "maildoctor.cli.spf:spf",
    "suppressions": "maildoctor.cli.suppressions:suppressions",
    "zone": "maildoctor.cli.zone:zone",
}


class LazyGroup(click.Group):
    """The top-level group: its commands are named in COMMANDS and imported when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, name = COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
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
