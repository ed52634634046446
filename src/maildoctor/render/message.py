"""The terminal summary of a message analysis: connection, then each authentication method as we
evaluated it beside what the receiver recorded."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

GOOD = {"pass"}
NEUTRAL = {"none", "unverified", "neutral", "unknown"}


def _word(result: str | None) -> str:
    result = result or "unknown"
    style = "green" if result in GOOD else "yellow" if result in NEUTRAL else "bold red"
    return f"[{style}]{escape(result)}[/{style}]"


def render_message(facts: dict[str, Any], console: Console) -> None:
    conn = facts["connection"]
    console.print(
        f"[bold]Message[/bold]: {escape(facts.get('subject') or '(no subject)')}  from {escape(facts.get('from') or '?')}"
        + ("  [dim](headers only)[/dim]" if facts.get("headers_only") else "")
    )
    for label, key, field in (("client IP", "ip", "client_ip"), ("HELO", "helo", "helo"), ("MAIL FROM", "mail_from", "mail_from")):
        value = conn.get(field) or "unknown"
        source = conn["sources"].get(key, "")
        console.print(f"  {label:10} {escape(value)}" + (f"  [dim]({escape(source)})[/dim]" if source else ""))
    recorded = {(e["method"]): e for r in facts.get("receiver_results", []) for e in r["results"]}
    table = Table(title="Authentication", title_justify="left", header_style="bold")
    for column in ("method", "evaluated now", "receiver recorded", "details"):
        table.add_column(column, overflow="fold")
    spf = facts.get("spf")
    theirs = recorded.get("spf", {})
    table.add_row(
        "SPF",
        _word(spf["result"] if spf else None),
        _word(theirs.get("result")) if theirs else "-",
        escape(f"{spf['domain']}: {spf['mechanism'] or spf['reason']}" if spf else "no client IP known"),
    )
    for sig in facts.get("dkim", []):
        table.add_row(
            f"DKIM d={escape(sig['d'])} s={escape(sig['s'])}",
            _word(sig["result"]),
            _word(recorded["dkim"]["result"]) if "dkim" in recorded else "-",
            escape(sig["detail"]),
        )
    if not facts.get("dkim"):
        table.add_row("DKIM", _word("none"), _word(recorded["dkim"]["result"]) if "dkim" in recorded else "-", "no signature")
    dmarc = facts.get("dmarc")
    if dmarc:
        policy = f"policy {dmarc['policy']}" if dmarc["policy"] else "no policy published"
        table.add_row(
            "DMARC",
            _word(dmarc["result"]),
            _word(recorded["dmarc"]["result"]) if "dmarc" in recorded else "-",
            escape(f"From {dmarc['from_domain']}, {policy}, disposition {dmarc['disposition']}"),
        )
    arc = facts.get("arc", {})
    if arc.get("present"):
        table.add_row(
            "ARC",
            _word(arc["result"]),
            _word(recorded["arc"]["result"]) if "arc" in recorded else "-",
            escape(f"{arc['instances']} hop(s) {arc['reason']}"),
        )
    console.print(table)
    console.print()
