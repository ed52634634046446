"""The terminal report: score on top, findings grouped by area, coloured by severity, each with its fix."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from maildoctor import findings as findings_module
from maildoctor.findings import Finding, Report, Severity
from maildoctor.render.summary import verdict_words

STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.NOTICE: "cyan",
    Severity.INFO: "dim",
}
AREA_TITLES = {**findings_module.AREA_TITLES, "mx": "MX (receiving mail)"}


def score_style(score: float) -> str:
    return "bold green" if score >= 9 else "bold yellow" if score >= 6 else "bold red"


INDENT = 11
# What the command line offers for a finding: the findings themselves are worded for every front
# end (the inbox's page has no options), the terminal adds how to act on them here.
RESOLVER_TIP = "--nameserver 127.0.0.1 asks your own resolver; --spamhaus-dqs-key KEY asks Spamhaus through DQS."
CLI_TIPS = {  # finding id: (the report kinds whose command has the option, the tip)
    "dkim.no_keys_found": (("domain", "zone"), "--dkim-selector SELECTOR names the selector in use."),
    "spf.missing": (("domain", "zone"), "--ip IP checks the suggested record against each sending address."),
    "dnsbl.unavailable": (("domain", "blocklists"), "--nameserver IP[:PORT] asks another resolver."),
    "dnsbl.query_refused": (("domain", "blocklists"), RESOLVER_TIP),
    "dnsbl.public_resolver": (("domain", "blocklists"), RESOLVER_TIP),
}


def _print_finding(console: Console, f: Finding, verbose: bool, kind: str = "") -> None:
    console.print(Text.assemble((f" {str(f.severity).upper():8} ", STYLE[f.severity]), " ", (f.title, "bold"), (f"  [{f.id}]", "dim")))
    console.print(Padding(Text(f.detail), (0, 0, 0, INDENT)))
    for i, line in enumerate(f.fix.splitlines()):
        if line.startswith("  "):
            # a record to paste: printed whole, never wrapped or cut by us
            console.print(Text(" " * INDENT + line, style="green"), soft_wrap=True)
        else:
            console.print(Padding(Text.assemble(("Fix: " if i == 0 else "", "bold green"), line), (0, 0, 0, INDENT)))
    kinds, tip = CLI_TIPS.get(f.id, ((), ""))
    if kind in kinds:
        console.print(Padding(Text.assemble(("Tip: ", "bold"), tip), (0, 0, 0, INDENT)))
    if verbose and f.evidence:
        console.print(Padding(Text("Evidence:\n" + "\n".join("  " + e for e in f.evidence), style="dim"), (0, 0, 0, INDENT)))
    if verbose and f.refs:
        console.print(Padding(Text("See: " + "; ".join(f.refs), style="dim"), (0, 0, 0, INDENT)))


AREA_STYLE = {
    "pass": ("PASS", "bold green"),
    "fail": ("FAIL", "bold red"),
    "unavailable": ("UNAVAILABLE", "bold magenta"),
    "not_checked": ("NOT CHECKED", "dim"),
}
VERIFIED_SHOWN = 3  # lines per area without --verbose


def _print_areas(console: Console, report: Report, verbose: bool) -> None:
    """Each area's state, what it cost and what was verified: pass only where a check ran to an answer."""
    # areas a command does not cover (`maildoctor dkim` asks only DKIM) need no line each
    areas = [a for a in report.areas() if not (a.state == "not_checked" and a.reason == findings_module.NOT_ASKED)]
    if not areas:
        return
    console.print()
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(no_wrap=True)
    grid.add_column()
    for area in areas:
        label, style = AREA_STYLE[area.state]
        lines = list(area.verified) if verbose else list(area.verified[:VERIFIED_SHOWN])
        if len(area.verified) > len(lines):
            lines.append(f"… and {len(area.verified) - len(lines)} more (--verbose shows them)")
        said = Text()
        if area.reason:
            said.append(area.reason, "cyan" if area.state == "pass" else style)
        for line in lines:
            said.append(("\n" if said else "") + line, "dim")
        grid.add_row(
            Text(f" {label}", style),
            Text(f"-{area.points_lost:g}" if area.points_lost else "", "dim"),
            Text(AREA_TITLES.get(area.area, area.area), "bold"),
            said,
        )
    console.print(grid)


def render_terminal(report: Report, console: Console, verbose: bool = False) -> None:
    score = report.score
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in Severity}
    summary = "  ".join(f"{n} {str(s)}" for s, n in sorted(counts.items(), reverse=True) if n) or "no findings"
    incomplete = report.incomplete_text()
    missing = bool(incomplete)
    console.print(
        Panel(
            Text.assemble(
                ("maildoctor ", "bold"),
                (report.kind + " audit of ", ""),
                (report.target, "bold"),
                "\n",
                ("Score: ", ""),
                (f"{score:.1f}/10", score_style(score) if not missing else "bold magenta"),
                (incomplete, "bold magenta"),
                "   ",
                (summary, "dim"),
                # a verdict only on what checks looked at (a feedback summary with no reports ran none)
                *(("\n", (verdict_words(score, not missing), "")) if report.runs else ()),
            ),
            expand=False,
        )
    )
    _print_areas(console, report, verbose)
    for area, findings in report.by_area().items():
        console.print()
        console.rule(Text(AREA_TITLES.get(area, area), style="bold"), align="left")
        for finding in findings:
            _print_finding(console, finding, verbose, report.kind)
    if not report.findings and report.complete and report.runs:
        console.print("\n[green]Nothing to fix in the areas checked.[/green]")
    if verbose and report.queries:
        console.print()
        console.rule(Text(f"DNS queries ({len(report.queries)})", style="bold"), align="left")
        table = Table(show_header=True, header_style="bold", box=None)
        for col in ("name", "type", "outcome", "records", "ms"):
            table.add_column(col)
        for q in report.queries:
            table.add_row(q["name"], q["type"], q["outcome"], escape(" | ".join(q["records"]))[:120], f"{q['ms']:.1f}")
        console.print(table)
