"""SpamAssassin's spamd, installed from Debian and started here on loopback (network tests off),
scoring one ham and one spammy message end to end; rspamd's reply format."""

from __future__ import annotations

import asyncio

from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.message.analyse import analyse_message
from maildoctor.message.options import MessageOptions
from maildoctor.probes.contentengines import ask_spamd, parse_rspamd_reply
from tests.processes import free_port

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
HAM = (
    b"Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.net with ESMTPS\r\n"
    b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: Minutes of Tuesday\r\n"
    b"Date: Tue, 10 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\n\r\nthe minutes of Tuesday's meeting are below."
    b" We agreed to move the review to Thursday.\r\n\r\nAlice\r\n"
)
SPAM = (
    b"From: WINNER <prize@example.org>\r\nTo: bob@example.net\r\nSubject: YOU WON!!! CLAIM NOW $$$\r\n\r\n"
    + GTUBE.encode()
    + b"\r\nCongratulations you are a winner, claim your prize\r\n"
)


def test_spamd_scores_ham_low_and_spam_high(spamd: str) -> None:
    ham = asyncio.run(ask_spamd(spamd, HAM))
    spam = asyncio.run(ask_spamd(spamd, SPAM))
    assert not ham.error and not spam.error
    assert ham.threshold == spam.threshold == 5.0
    assert ham.score < ham.threshold and ham.action == "ham"
    assert spam.score >= 1000 and spam.action == "spam" and "GTUBE" in {r.name for r in spam.rules}


def test_the_message_report_includes_the_engine(spamd: str) -> None:
    options = MessageOptions(spamassassin=spamd, audit_domain=False)
    report = asyncio.run(analyse_message(SPAM, ZoneResolver(ZoneSet([])), options))
    finding = next(f for f in report.findings if f.id == "content.engine_score")
    assert finding.severity.name == "CRITICAL" and "GTUBE" in finding.detail  # 1000 points: twice the threshold and more
    assert report.facts.to_json()["content_engines"][0]["score"] >= 1000


def test_an_engine_that_does_not_answer_is_information() -> None:
    result = asyncio.run(ask_spamd(f"127.0.0.1:{free_port()}", HAM, timeout=2))
    assert result.error and "cannot connect" in result.error


def test_a_message_whose_engine_does_not_answer_has_its_content_unavailable() -> None:
    options = MessageOptions(spamassassin=f"127.0.0.1:{free_port()}", audit_domain=False)
    report = asyncio.run(analyse_message(HAM, ZoneResolver(ZoneSet([])), options))
    assert "content.engine_unavailable" in {f.id for f in report.findings}
    content = next(a for a in report.areas() if a.area == "content")
    assert content.state == "unavailable" and "SpamAssassin" in content.reason and not report.complete


def test_rspamd_reply() -> None:
    reply = {
        "action": "add header",
        "score": 9.5,
        "required_score": 15,
        "symbols": {
            "BAYES_SPAM": {"name": "BAYES_SPAM", "score": 5.1, "description": "Message probably spam"},
            "R_SPF_ALLOW": {"name": "R_SPF_ALLOW", "score": -0.2},
        },
    }
    result = parse_rspamd_reply(reply)
    assert (result.score, result.threshold, result.action) == (9.5, 15.0, "add header")
    assert [r.name for r in result.rules] == ["BAYES_SPAM", "R_SPF_ALLOW"]
    assert parse_rspamd_reply({"error": "bad"}).error
