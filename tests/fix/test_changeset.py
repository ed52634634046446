"""The change set of a report: each change once with every finding it resolves, a second record
of a kind a name holds once refused as a conflict, the MTA settings apart, the rest as steps."""

from __future__ import annotations

from maildoctor.findings import Finding, Report, Severity
from maildoctor.fix.changeset import change_set
from maildoctor.records import change
from maildoctor.testing.dnsserver import TestDnsServer
from tests.test_cli import run

SPF_A = change.add("ex.test", 3600, "TXT", '"v=spf1 mx -all"')
SPF_B = change.add("ex.test", 3600, "TXT", '"v=spf1 a -all"')


def finding(finding_id: str, severity: Severity, *changes: change.RecordChange | change.SettingChange, fix: str = "do it") -> Finding:
    return Finding(finding_id, severity, f"title of {finding_id}", "detail", fix=fix, changes=changes)


def test_one_change_for_two_findings_and_no_second_spf_record() -> None:
    report = Report("ex.test", "domain")
    report.findings = [
        finding("auth.spf_fail", Severity.WARNING, SPF_A),
        finding("spf.missing", Severity.ERROR, SPF_A),
        finding("spf.other", Severity.WARNING, SPF_B),
        finding("smtp.no_starttls", Severity.ERROR, change.postfix("smtpd_tls_security_level", "may")),
        finding("rdns.multiple_ptr", Severity.WARNING, fix="Keep one PTR."),
        finding("dnssec.unsigned", Severity.INFO, fix="Sign the zone."),
    ]
    changes = change_set(report)
    assert [p.change for p in changes.records] == [SPF_A]
    assert changes.records[0].resolves == ["spf.missing", "auth.spf_fail"]  # the worse first
    assert len(changes.conflicts) == 1 and changes.conflicts[0].startswith("spf.other would add ex.test TXT")
    assert [p.change.config_line() for p in changes.settings] == ["smtpd_tls_security_level = may"]  # type: ignore[union-attr]
    assert [s.finding_id for s in changes.steps] == ["rdns.multiple_ptr"]  # information is no step


def test_fix_of_a_domain_lists_the_servers_settings_with_exim_and_exchange(dns_server: TestDnsServer) -> None:
    done = run("fix", "rdns.test", "--ip", "2001:db8::77", "--nameserver", dns_server.address, "--allow-incomplete")
    assert done.returncode == 0, done.stderr
    assert "smtp_helo_name = mail.rdns.test" in done.stdout and "Exim: helo_data = mail.rdns.test" in done.stdout
    assert "smtp_bind_address6 = 2001:db8::77" in done.stdout
    assert "Not verified: without a zone file" in done.stdout
    script = run(
        "fix", "rdns.test", "--ip", "2001:db8::77", "--nameserver", dns_server.address, "--format", "nsupdate", "--allow-incomplete"
    )
    assert script.stdout.startswith("zone rdns.test.\n") and script.stdout.endswith("send\n")
    assert "\n; outside rdns.test, for its owner: add 7.7.0.0" in script.stdout  # the PTR: not in the update


def test_a_finding_unseen_because_the_second_audit_could_not_check_is_not_resolved() -> None:
    from maildoctor.findings import CheckRun
    from maildoctor.fix.plan import FixPlan
    from maildoctor.target import Target

    before = Report("ex.test", "domain")
    before.findings = [finding("dmarc.missing", Severity.ERROR, fix="publish one")]
    before.runs = [CheckRun("dmarc", "check_dmarc", "ran")]
    after = Report("ex.test", "domain")
    after.runs = [CheckRun("dmarc", "check_dmarc", "unavailable", "DNS questions failed")]  # the DNS failed this time
    plan = FixPlan(target=Target(domain="ex.test"), before=before, changes=change_set(before), after=after)
    assert plan.resolved() == []
    after.runs = [CheckRun("dmarc", "check_dmarc", "ran")]
    assert plan.resolved() == ["dmarc.missing"]
