"""The summary a report opens with: the verdict in words and the fixes worth most first."""

from __future__ import annotations

from maildoctor.render.summary import fix_first, verdict_words


def finding(check_id: str, severity: str, fix: str) -> dict[str, str]:
    return {"id": check_id, "title": f"title of {check_id}", "severity": severity, "fix": fix}


def test_the_fixes_worth_most_come_first_with_their_records_apart() -> None:
    findings = [
        finding("mtasts.missing", "notice", 'Publish:\n  _mta-sts.example.org. 3600 IN TXT "v=STSv1; id=1"'),
        finding("spf.missing", "critical", 'Publish one TXT record:\n  example.org. 3600 IN TXT "v=spf1 mx ~all"'),
        finding("spf.rrtype99", "error", "Publish it as TXT: the records are those of the fix of spf.missing (…)."),
        finding("dnssec.unsigned", "info", "Sign the zone."),
        finding("dmarc.missing", "error", 'Publish:\n  _dmarc.example.org. 3600 IN TXT "v=DMARC1; p=none"'),
        finding("dkim.key_1024", "warning", "Use a 2048-bit key."),
    ]
    first = fix_first(findings)
    assert [f["id"] for f in first] == ["spf.missing", "dmarc.missing", "dkim.key_1024"]  # the pointer to another fix is not repeated
    assert first[0]["records"] == ['example.org. 3600 IN TXT "v=spf1 mx ~all"'] and first[0]["points"] == 3.0
    assert first[2]["records"] == [] and first[2]["words"] == "Use a 2048-bit key."
    assert fix_first([finding("dnssec.unsigned", "info", "Sign the zone.")]) == []  # worth no points


def test_the_verdict_never_reads_well_for_an_incomplete_report() -> None:
    assert verdict_words(10.0, complete=False).startswith("Not the whole story")
    assert verdict_words(9.5, True).startswith("Well set up") and verdict_words(3.0, True).startswith("Likely to be junked")
