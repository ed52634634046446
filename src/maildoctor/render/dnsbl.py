"""The terminal table of blocklist results, and of the lists' self-test."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

RESULT_STYLE = {"critical": "bold white on red", "error": "bold red", "warning": "yellow", "notice": "cyan"}


def render_results(results: list[dict[str, Any]], console: Console, verbose: bool) -> None:
    shown = results if verbose else [r for r in results if r["status"] != "clean"]
    clean: dict[str, int] = {}
    for r in results:
        if r["status"] == "clean":
            clean[r["target"]] = clean.get(r["target"], 0) + 1
    if shown:
        table = Table(title="Blocklists", title_justify="left", header_style="bold", show_lines=False)
        for column in ("target", "list", "result", "reason", "delisting"):
            table.add_column(column, overflow="fold")
        for r in sorted(shown, key=lambda r: (r["target"], r["status"] != "listed", r["name"])):
            if r["status"] == "listed":
                style = RESULT_STYLE.get(r["severity"], "bold red")
                result = f"[{style}]listed[/{style}] {escape('; '.join(r['meanings']))} ({', '.join(r['codes'])})"
            elif r["status"] == "refused":
                result = f"[magenta]query refused[/magenta]: {escape(r['detail'])}"
            elif r["status"] == "unavailable":
                result = f"[dim]unavailable: {escape(r['detail'])}[/dim]"
            else:
                result = "[green]not listed[/green]"
            table.add_row(
                r["target"],
                f"{escape(r['name'])}\n[dim]{r['list']}[/dim]",
                result,
                escape(r["reason"]),
                r["delist"] if r["status"] == "listed" else "",
            )
        console.print(table)
    for target, count in clean.items():
        console.print(
            f"[green]{target}: not listed on {count} list{'s' if count > 1 else ''}[/green]" + ("" if verbose else " (-v shows them)")
        )
    console.print()


def render_self_test(states: dict[str, str], console: Console) -> None:
    table = Table(title="Blocklist self-test (test entry listed, 127.0.0.1 not listed)", title_justify="left", header_style="bold")
    table.add_column("list")
    table.add_column("state")
    for zone, state in sorted(states.items()):
        style = "green" if state == "working" else "dim" if state.startswith(("no test", "unavailable")) else "bold red"
        table.add_row(zone, f"[{style}]{escape(state)}[/{style}]")
    console.print(table)
    console.print()
