"""`maildoctor message`: why a received message went to spam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from maildoctor.cli.common import (
    CONTEXT,
    build_resolver,
    dns_options,
    exit_status,
    fail,
    finish,
    output_options,
    run_with_status,
)
from maildoctor.render.json import render_json
from maildoctor.render.terminal import render_terminal
from maildoctor.target import parse_host_port, parse_ip


@click.command(
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
    from maildoctor.message.analyse import analyse_message
    from maildoctor.message.options import MessageOptions
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
    unreadable = next((f for f in report.findings if f.id == "msg.parse_error"), None)
    if unreadable is not None and not report.facts:  # nothing was analysed: an input error, not a score
        fail(f"{getattr(source, 'name', 'the input')} is not a mail message: {unreadable.detail}")
    if output_format == "json":
        click.echo(render_json(report))
        finish(exit_status(report, fail_on))
    console = Console(highlight=False)
    if report.facts:
        render_message(report.facts.to_json(), console)
    render_terminal(report, console, verbose=verbose)
    finish(exit_status(report, fail_on))
