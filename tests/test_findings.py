"""One fix per problem: findings that would print the same records point to the worst one's fix."""

from __future__ import annotations

import json

from maildoctor.findings import Finding, Severity, share_fixes
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
