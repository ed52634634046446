"""`maildoctor dkim`: the DKIM keys of a domain, decoded; `dkim keygen`: a new key pair with the
signer's configuration to use it."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import click
from rich.console import Console

from maildoctor.checks.common import quote_txt, zone_line
from maildoctor.checks.facts import audit_facts
from maildoctor.cli.common import (
    CONTEXT,
    DomainOrCommand,
    build_resolver,
    dns_options,
    exit_status,
    fail,
    finish,
    output_options,
    run_with_status,
)
from maildoctor.engine import run_audit
from maildoctor.facts import jsonable
from maildoctor.fix.dkim import KEY_TYPES, MIN_RSA_BITS, generate, rotation_plan
from maildoctor.render.dkim import render_keygen, render_keys
from maildoctor.render.json import command_document, dumps
from maildoctor.render.terminal import render_terminal
from maildoctor.target import Target, parse_domain


@click.group(
    cls=DomainOrCommand,
    default_command="keys",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor dkim example.com -s selector1          # the keys published, decoded (dkim keys)
  maildoctor dkim keygen example.com -s s2026 --out keys/""",
)
def dkim() -> None:
    """DKIM: show a domain's keys (maildoctor dkim DOMAIN), or make a new key pair (dkim keygen)."""


@dkim.command(
    "keys",
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
def dkim_keys(
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
    keys = audit_facts(report).dkim or {}
    if output_format == "json":
        click.echo(dumps(command_document(report, verbose, domain=target.domain, keys=jsonable(keys))))
        finish(exit_status(report, fail_on))
    console = Console(highlight=False)
    render_keys(keys, target.domain, console)
    render_terminal(report, console, verbose=verbose)
    finish(exit_status(report, fail_on))


@dkim.command(
    "keygen",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor dkim keygen example.com -s s2026 --out keys/
  maildoctor dkim keygen example.com -s ed2026 --type ed25519 --out keys/
  maildoctor dkim keygen example.com -s s2026 --bits 3072 --out keys/ --nameserver 127.0.0.1:5353
\b
Writes SELECTOR.private (PEM, mode 0600) and SELECTOR.txt (the DNS record) into --out, and
prints the record and the lines OpenDKIM, rspamd and Postfix need. When the domain already
publishes keys, it also prints the plan to rotate to the new one.""",
)
@click.argument("domain")
@click.option("--selector", "-s", required=True, metavar="SELECTOR", help="The new key's selector (e.g. s2026).")
@click.option("--type", "key_type", type=click.Choice(KEY_TYPES), default="rsa", show_default=True, help="The key's algorithm.")
@click.option("--bits", type=int, default=MIN_RSA_BITS, show_default=True, help="RSA key size (2048 to 4096).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory for the key files.")
@dns_options
def dkim_keygen(
    domain: str,
    selector: str,
    key_type: str,
    bits: int,
    out_dir: Path,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Make a DKIM key pair for DOMAIN: the private key for the signer, the public key record for
    the DNS, the signer's configuration, and a rotation plan when keys exist."""
    try:
        name = parse_domain(domain)
        pair = generate(name, selector.lower(), key_type, bits)
    except ValueError as exc:
        fail(str(exc))
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(Target(domain=name), resolver, areas=("dkim",)), "text", name)
    published = sorted(audit_facts(report).dkim or {})
    if pair.selector in published:
        fail(f"{pair.record_name} already holds a key: choose a new selector, so that mail signed with the old key still verifies")
    key_path, record_path = out_dir / f"{pair.selector}.private", out_dir / f"{pair.selector}.txt"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the key is never readable by others, not even briefly
        with os.fdopen(fd, "wb") as handle:
            handle.write(pair.private_pem)
        record_path.write_text(zone_line(pair.record_name, 3600, "TXT", quote_txt(pair.record)) + "\n", "utf-8")
    except FileExistsError:
        fail(f"{key_path} exists: maildoctor does not overwrite a private key")
    except OSError as exc:
        fail(f"cannot write into {out_dir}: {exc.strerror}")
    rotation = rotation_plan(pair, published, datetime.date.today())
    render_keygen(pair, str(key_path), str(record_path), rotation, Console(highlight=False, soft_wrap=True))
