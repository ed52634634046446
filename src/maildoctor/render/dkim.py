"""The terminal table of a domain's DKIM keys."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from maildoctor.checks.facts import DkimKey


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
