"""What `maildoctor fix` prints: the change set explained (each change with the findings it
resolves), the mail server's settings for Postfix with their Exim and Exchange equivalents, the
steps no DNS change makes, and what the audit of the patched zone proved."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from maildoctor.fix.plan import FixPlan
from maildoctor.records.change import RecordChange, SettingChange

# The same setting on the other MTAs users run (what a Postfix parameter is called there).
EQUIVALENTS = {
    "myhostname": ("Exim: primary_hostname = {value}", "Exchange: the connector's 'Fully-qualified domain name' field: {value}"),
    "smtp_helo_name": ("Exim: helo_data = {value} (on the smtp transport)", "Exchange: the Send connector's FQDN: {value}"),
    "smtp_bind_address": (
        "Exim: interface = {value} (on the smtp transport)",
        "Exchange: send from {value} (the server's only or first address)",
    ),
    "smtp_bind_address6": (
        "Exim: interface = {value} (on the smtp transport)",
        "Exchange: send from {value} (the server's only or first address)",
    ),
    "smtpd_tls_security_level": (
        "Exim: tls_advertise_hosts = * (with tls_certificate and tls_privatekey)",
        "Exchange: assign a certificate to the SMTP service (Enable-ExchangeCertificate -Services SMTP)",
    ),
    "smtp_tls_security_level": ("Exim: on by default once a certificate is set", "Exchange: TLS is on for the Send connector by default"),
    "smtpd_tls_protocols": ("Exim: tls_require_ciphers = NORMAL:-VERS-TLS1.0:-VERS-TLS1.1", "Exchange: disable TLS 1.0/1.1 in SCHANNEL"),
}


def describe_change(change: RecordChange) -> str:
    owner = f"{change.name}."
    if change.op == "add":
        return f"+ {owner} {change.ttl if change.ttl is not None else 3600} IN {change.type} {change.new}"
    if change.op == "remove":
        return f"- {owner} IN {change.type} {change.old}"
    return f"~ {owner} IN {change.type} {change.old}\n    → {change.new}"


def render_plan(plan: FixPlan, console: Console, written: str | None = None) -> None:
    changes = plan.changes
    records = [p for p in changes.records if isinstance(p.change, RecordChange)]
    console.print(
        f"[bold]Change set for {escape(changes.domain)}[/bold]: {len(records)} record change{'s' if len(records) != 1 else ''},"
        f" {len(changes.settings)} mail server setting{'s' if len(changes.settings) != 1 else ''},"
        f" {len(changes.steps)} other step{'s' if len(changes.steps) != 1 else ''}"
    )
    for planned in records:
        assert isinstance(planned.change, RecordChange)
        console.print(escape(describe_change(planned.change)))
        console.print(f"    [dim]resolves {escape(', '.join(planned.resolves))}: {escape('; '.join(planned.reasons))}[/dim]")
    if changes.settings:
        console.print("\n[bold]Mail server settings[/bold] (Postfix: postconf -e 'setting = value', then postfix reload)")
        for planned in changes.settings:
            setting = planned.change
            assert isinstance(setting, SettingChange)
            console.print(
                f"  {escape(setting.config_line())}   [dim]({setting.file}; resolves {escape(', '.join(planned.resolves))})[/dim]"
            )
            for other in EQUIVALENTS.get(setting.setting, ()):
                console.print(f"    [dim]{escape(other.format(value=setting.value))}[/dim]")
    if changes.steps:
        console.print("\n[bold]Steps no DNS change makes[/bold]")
        done_ids = set(plan.resolved())
        for step in changes.steps:
            done = " [green](resolved by the changes above)[/green]" if step.finding_id in done_ids else ""
            console.print(f"  [bold]{escape(step.finding_id)}[/bold] ({step.severity}) {escape(step.title)}{done}")
            for line in step.fix.splitlines():
                console.print(f"    {escape(line)}")
    for conflict in changes.conflicts:
        console.print(f"[yellow]conflict:[/yellow] {escape(conflict)}")
    for note in plan.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if plan.patch is not None and plan.patch.outside:
        console.print("\n[bold]Outside this zone[/bold] (for the owner of those names, e.g. your hosting provider for a PTR)")
        for change in plan.patch.outside:
            console.print(f"  {escape(describe_change(change))}")
    console.print()
    if plan.after is None:
        console.print("Not verified: without a zone file the change set is the audit's; publish it, then run maildoctor check again.")
    else:
        resolved, new = plan.resolved(), plan.new_problems()
        console.print(
            "[bold]Verified[/bold]: "
            + ("the patched zone, audited again, " if plan.patch is not None else "the domain, audited again after the update, ")
            + (f"no longer has {escape(', '.join(resolved))}" if resolved else "resolves none of the findings")
            + ("; [bold red]new errors: " + escape(", ".join(new)) + "[/bold red]" if new else "; no new error")
            + f" ({plan.rounds} round{'s' if plan.rounds != 1 else ''})."
        )
    if written:
        serial = f" (serial {plan.patch.serial[0]} → {plan.patch.serial[1]})" if plan.patch and plan.patch.serial else ""
        console.print(f"Wrote {escape(written)}{serial}.")
