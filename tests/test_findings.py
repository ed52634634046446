"""Reports: one fix per problem (findings that would print the same records point to the worst
one's fix), and each area's state derived from the check runs."""

from __future__ import annotations

import json

from maildoctor.findings import CheckRun, Finding, Severity, area_results, share_fixes
from maildoctor.records import change
from tests.conftest import EXAMPLES
from tests.test_cli import run

RECORD = 'example.org. 3600 IN TXT "v=spf1 mx ~all"'


def finding(check_id: str, severity: Severity, fix: str, *changes: change.RecordChange) -> Finding:
    return Finding(check_id, severity, f"title of {check_id}", "detail", fix=fix, changes=changes)


def test_the_worse_finding_keeps_the_records_the_others_point_to_it() -> None:
    add = change.add("example.org", 3600, "TXT", '"v=spf1 mx ~all"')
    drop = change.remove("example.org", "SPF", '"v=spf1 mx ~all"')
    findings = [
        finding("spf.rrtype99", Severity.WARNING, f"Publish it as TXT, and remove the SPF-type record:\n  {RECORD}", add, drop),
        finding("spf.missing", Severity.CRITICAL, f"Publish one TXT record:\n  {RECORD}", add),
        finding("dmarc.missing", Severity.ERROR, 'Publish:\n  _dmarc.example.org. 3600 IN TXT "v=DMARC1; p=none"'),
    ]
    shared = share_fixes(findings)
    assert shared[1] == findings[1] and shared[2] == findings[2]
    assert shared[0].fix == (
        "Publish it as TXT, and remove the SPF-type record: the records are those of the fix of spf.missing (title of spf.missing)."
    )
    assert shared[0].changes == (drop,)  # what only this fix changes stays


def test_the_example_message_report_prints_the_spf_record_once() -> None:
    report = json.loads(
        run(
            "message",
            str(EXAMPLES / "afspraakmanager.be-gmail-headers.txt"),
            "--zone",
            str(EXAMPLES / "afspraakmanager.be.zone"),
            "--format",
            "json",
        ).stdout
    )
    printed = [f["id"] for f in report["findings"] if 'IN TXT "v=spf1' in f["fix"]]
    assert printed == ["spf.missing"]
    missing = next(f for f in report["findings"] if f["id"] == "spf.missing")
    assert "'+all' is replaced by ~all" in missing["detail"] and "'ptr' is left out" in missing["detail"]


# -- area states: derived from the runs, never from the absence of findings -------------------------


def states(runs: list[CheckRun], found: list[Finding] = (), verified: dict[str, list[str]] | None = None) -> dict[str, tuple[str, str]]:
    return {a.area: (a.state, a.reason) for a in area_results(runs, list(found), verified or {})}


def test_an_area_passes_only_when_a_check_of_it_ran_to_an_answer() -> None:
    runs = [
        CheckRun("spf", "check_spf", "ran"),
        CheckRun("smtp", "check_smtp", "skipped", "not asked: no connection to a mail server was requested"),
        CheckRun("dnsbl", "check_blocklists", "unavailable", "DNS questions failed: x A (timeout)"),
        CheckRun("dkim", "check_dkim_keys", "crashed", "KeyError: 'p'"),
    ]
    assert states(runs) == {
        "spf": ("pass", ""),
        "smtp": ("not_checked", "not asked: no connection to a mail server was requested"),
        "dnsbl": ("unavailable", "DNS questions failed: x A (timeout)"),
        "dkim": ("unavailable", "KeyError: 'p'"),
    }


def test_a_problem_fails_its_area_and_says_what_was_not_checked_to_the_end() -> None:
    runs = [CheckRun("dnsbl", "check_blocklists", "unavailable", "2 blocklists could not be queried")]
    listed = finding("dnsbl.listed", Severity.ERROR, "")
    refused = finding("dnsbl.unavailable", Severity.WARNING, "")  # says the area is unavailable: not a problem of the setup
    (area,) = area_results(runs, [listed, refused], {"dnsbl": ["192.0.2.1 on X (x.test): listed"]})
    assert area.state == "fail" and area.reason.startswith("title of dnsbl.listed; not checked to the end: 2 blocklists")
    assert area.points_lost == 2.0 and area.verified == ("192.0.2.1 on X (x.test): listed",)
    assert states(runs, [refused])["dnsbl"][0] == "unavailable"


def test_notices_leave_a_pass_and_a_folded_finding_fails_its_own_area() -> None:
    runs = [CheckRun("mtasts", "check_mtasts", "ran"), CheckRun("spf", "check_spf", "ran"), CheckRun("mx", "check_mx", "ran")]
    notice = finding("mtasts.missing", Severity.NOTICE, "")
    folded = finding("spf.missing", Severity.CRITICAL, "")
    cause = Finding("domain.nxdomain", Severity.CRITICAL, "gone", "", folded=(folded,))
    result = {a.area: a for a in area_results(runs, [notice, cause], {})}
    assert result["mtasts"].state == "pass" and result["mtasts"].reason == "title of mtasts.missing" and result["mtasts"].points_lost == 0.1
    assert result["spf"].state == "fail" and result["spf"].points_lost == 0  # scored under its cause
    assert result["domain"].state == "fail" and result["domain"].points_lost == 3.0


def test_a_part_that_was_asked_and_not_checked_keeps_the_area_from_passing() -> None:
    runs = [CheckRun("rdns", "check_reverse_dns", "ran"), CheckRun("rdns", "rdns_parts", "partial", "2001:db8::1: not checked")]
    assert states(runs) == {"rdns": ("not_checked", "2001:db8::1: not checked")}
    assert states(runs, [finding("rdns.ptr_missing", Severity.ERROR, "")])["rdns"][0] == "fail"


def test_a_crash_of_maildoctor_is_its_areas_not_an_area_of_its_own() -> None:
    runs = [CheckRun("spf", "check_spf", "crashed", "boom")]
    assert states(runs, [finding("engine.check_crashed", Severity.ERROR, "")]) == {"spf": ("unavailable", "boom")}
