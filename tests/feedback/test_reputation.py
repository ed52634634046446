"""Microsoft SNDS exports and Google Postmaster Tools traffic stats, written from their documented
formats: parsed leniently, stored once per day, and the warnings the summary gives."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from maildoctor.feedback.ingest import ingest
from maildoctor.feedback.reputation import looks_like_postmaster, looks_like_snds, parse_postmaster, parse_snds, reputation_findings
from maildoctor.feedback.summary import observations
from tests.conftest import ZONES
from tests.test_cli import run

# The SNDS data feed: no header; IP, activity start/end, RCPT, DATA, recipients, filter result,
# complaint rate, trap period start/end, trap hits, sample HELO, sample MAIL FROM, comments.
SNDS = """192.0.2.10,11/20/2025 12:00 AM,11/20/2025 11:59 PM,1200,1200,1180,GREEN,< 0.1%,11/20/2025 12:00 AM,11/20/2025 11:59 PM,0,mail.shop.test,news@shop.test,
192.0.2.10,11/21/2025 12:00 AM,11/21/2025 11:59 PM,1500,1500,1490,YELLOW,0.4%,11/21/2025 12:00 AM,11/21/2025 11:59 PM,3,mail.shop.test,news@shop.test,
198.51.100.7,11/21/2025 12:00 AM,11/21/2025 11:59 PM,300,300,300,RED,2.5%,,,12,mta.mailer.test,bounce@mailer.test,
not-an-ip,11/21/2025 12:00 AM,11/21/2025 11:59 PM,1,1,1,GREEN,< 0.1%,,,0,x,y,
"""
SNDS_WEB = (
    "IP Address,Activity start,Activity end,RCPT commands,DATA commands,Message recipients,Filter result,Complaint rate,"
    "Trap message start,Trap message end,Trap hits,Sample HELO,JMR P1 Sender,Comments\n"
    "203.0.113.5,11/22/2025 12:00 AM,11/22/2025 11:59 PM,10,10,10,GREEN,< 0.1%,,,0,h,s,\n"
)


def postmaster(days: dict[str, tuple[float, str]]) -> bytes:
    """The API's trafficStats.list answer: per day the spam rate and the domain's reputation."""
    return json.dumps(
        {
            "trafficStats": [
                {
                    "name": f"domains/shop.test/trafficStats/{day}",
                    "userReportedSpamRatio": rate,
                    "domainReputation": reputation,
                    "ipReputations": [
                        {"reputation": "HIGH", "ipCount": "1", "sampleIps": ["192.0.2.10"]},
                        {"reputation": "BAD", "ipCount": "1", "sampleIps": ["198.51.100.7"]},
                    ]
                    if reputation == "BAD"
                    else [],
                    "spfSuccessRatio": 1.0,
                    "dkimSuccessRatio": 0.98,
                    "dmarcSuccessRatio": 0.98,
                    "outboundEncryptionRatio": 1.0,
                    "deliveryErrors": [{"errorClass": "TEMPORARY_ERROR", "errorType": "RATE_LIMIT_EXCEEDED", "errorRatio": 0.02}],
                }
                for day, (rate, reputation) in days.items()
            ]
            + [{"name": "not a traffic stat"}]
        }
    ).encode()


def test_snds_rows_are_read_and_a_bad_row_is_a_warning() -> None:
    assert looks_like_snds(SNDS.encode()) and looks_like_snds(SNDS_WEB.encode()) and not looks_like_snds(b"<?xml version='1.0'?>")
    parsed = parse_snds(SNDS.encode(), "snds.csv")
    assert [(o.subject, o.data["filter_result"], o.data["trap_hits"]) for o in parsed.observations] == [
        ("192.0.2.10", "GREEN", 0),
        ("192.0.2.10", "YELLOW", 3),
        ("198.51.100.7", "RED", 12),
    ]
    assert parsed.observations[1].data["complaint_rate"] == 0.004 and parsed.observations[0].data["complaint_rate_text"] == "< 0.1%"
    assert len(parsed.warnings) == 1 and "line 4" in parsed.warnings[0]
    assert [o.subject for o in parse_snds(SNDS_WEB.encode(), "web.csv").observations] == ["203.0.113.5"]  # the header skipped


def test_postmaster_days_and_the_warnings_of_the_summary() -> None:
    data = postmaster({"20251120": (0.0005, "HIGH"), "20251121": (0.0015, "MEDIUM")})
    assert looks_like_postmaster(data)
    parsed = parse_postmaster(data, "postmaster.json")
    assert [o.data["spam_rate"] for o in parsed.observations] == [0.0005, 0.0015] and len(parsed.warnings) == 1
    assert [f.id for f in reputation_findings(parsed.observations)] == ["feedback.spam_rate_high"]  # the latest day counts
    worse = parse_postmaster(postmaster({"20251122": (0.004, "BAD")}), "p.json").observations
    found = {f.id: f for f in reputation_findings(worse)}
    assert set(found) == {"feedback.spam_rate_over_limit", "feedback.gmail_reputation_bad"}
    assert "0.40%" in found["feedback.spam_rate_over_limit"].title and "198.51.100.7" in found["feedback.gmail_reputation_bad"].evidence[0]
    snds = {f.id: f for f in reputation_findings(parse_snds(SNDS.encode(), "snds.csv").observations)}
    assert set(snds) == {"feedback.snds_yellow", "feedback.snds_red", "feedback.snds_trap_hits"}


def test_ingested_once_per_day_and_shown_in_the_summary(engine: Engine, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "snds.csv").write_text(SNDS)
    (exports / "postmaster.json").write_bytes(postmaster({"20251121": (0.004, "LOW")}))
    first = ingest(engine, [exports])
    assert first.reputation == 4 and not first.rejected and len(first.warnings) == 2
    again = ingest(engine, [exports])  # the same export again: replaces, does not add
    assert again.reputation == 4 and len(observations(engine)) == 4
    assert [o.subject for o in observations(engine, ip="198.51.100.7")] == ["198.51.100.7"]


def test_cli(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "snds.csv").write_text(SNDS)
    (exports / "postmaster.json").write_bytes(postmaster({"20251121": (0.004, "LOW")}))
    done = run("reports", "ingest", str(exports), "--data", str(tmp_path / "data"))
    assert done.returncode == 0 and "4 reputation row(s)" in done.stdout and "warning" in done.stdout and "line 4" in done.stdout
    summary = run("reports", "summary", "--data", str(tmp_path / "data"), "--format", "json", "--zone", str(ZONES))
    ids = {f["id"] for f in json.loads(summary.stdout)["findings"]}
    assert {"feedback.snds_red", "feedback.spam_rate_over_limit", "feedback.gmail_reputation_low"} <= ids
