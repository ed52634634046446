"""The terminal table of a domain's DKIM keys, and what dkim keygen prints."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from maildoctor.checks.common import quote_txt, zone_line
from maildoctor.checks.facts import DkimKey
from maildoctor.fix.dkim import POSTFIX_MILTER, DkimKeyPair, Rotation


def render_keys(keys: dict[str, DkimKey], domain: str, console: Console) -> None:
    if not keys:
        console.print(f"No DKIM key records found for {domain}.\n")
        return
    table = Table(title=f"DKIM keys of {domain}", title_justify="left", header_style="bold")
    for column in ("selector", "type", "bits", "hashes", "flags", "state"):
        table.add_column(column)
    for selector, key in sorted(keys.items()):
        state = "revoked" if key.revoked else "ok" if key.valid else "broken"
        style = {"ok": "green", "broken": "bold red", "revoked": "yellow"}[state]
        table.add_row(
            selector,
            key.key_type,
            str(key.bits or "-"),
            ":".join(key.hashes),
            ":".join(key.flags) or "-",
            f"[{style}]{state}[/{style}]",
        )
    console.print(table)
    console.print()


def render_keygen(pair: DkimKeyPair, key_path: str, record_path: str, rotation: Rotation | None, console: Console) -> None:
    console.print(
        f"[bold]New {pair.key_type} key{f' of {pair.bits} bits' if pair.key_type == 'rsa' else ''} for {escape(pair.domain)}, selector {escape(pair.selector)}[/bold]"
    )
    console.print(
        f"Private key: {escape(key_path)} (mode 0600: give it to the signer only, e.g. under /etc/opendkim/keys owned by"
        " opendkim; OpenDKIM refuses a key below a directory others can write, such as /tmp)"
    )
    console.print(f"\n[bold]Publish[/bold] (also in {escape(record_path)}):")
    console.print(
        escape(zone_line(pair.record_name, 3600, "TXT", quote_txt(pair.record))),
    )
    console.print(
        "\n[bold]OpenDKIM[/bold] (opendkim.conf: KeyTable file:/etc/opendkim/KeyTable, SigningTable refile:/etc/opendkim/SigningTable)"
    )
    for line in pair.opendkim(key_path):
        console.print(f"  {escape(line)}")
    console.print("\n[bold]rspamd[/bold]")
    console.print(escape(pair.rspamd(key_path)).rstrip())
    console.print("\n[bold]Postfix[/bold] (main.cf, OpenDKIM listening on inet:127.0.0.1:8891)")
    for line in POSTFIX_MILTER:
        console.print(f"  {escape(line)}")
    if pair.key_type == "ed25519":
        console.print("\n[yellow]note:[/yellow] not every receiver verifies ed25519 (RFC 8463) yet: sign with an RSA key as well.")
    if rotation is not None:
        console.print(f"\n[bold]Rotation[/bold] from {escape(', '.join(rotation.old_selectors))} to {escape(pair.selector)}")
        for step in rotation.steps:
            console.print(f"  {step.when.isoformat()}  {escape(step.what)}")
