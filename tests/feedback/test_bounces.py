"""Bounce and complaint classification against the labelled corpus (Sisimai's answers), and the
suppression list."""
from __future__ import annotations

import collections
import json
from pathlib import Path

from sqlalchemy.engine import Engine

from maildoctor.feedback.bounces import classify
from maildoctor.feedback.bounce_reason import REASONS
from maildoctor.feedback.ingest import SOFT_BOUNCES_TO_SUPPRESS, ingest, suppressions
from tests.conftest import CORPORA
from tests.test_cli import run

CORPUS = CORPORA / "bounces"
LABELS = [json.loads(line) for line in (CORPUS / "labels.jsonl").read_text().splitlines()]
# The goal: 95% of the reasons agree with the labels.
FLOOR = 0.95
KIND_FLOOR = 0.96  # hard or soft, where the label gives one


def agreement() -> tuple[float, float, collections.Counter[tuple[str, str]]]:
    """Over the bounces the reference classifier could read (the rows labelled bounce=false are
    DragonFly bounces, newer than Sisimai 4.25: see the next test): the share of reasons and of
    hard/soft that agree, and the confusion table."""
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    kinds = collections.Counter()
    for label in (row for row in LABELS if row["bounce"]):
        found = classify((CORPUS / label["file"]).read_bytes())
        mine = next((b for b in found if b.recipient == label["recipient"].lower()), found[0] if len(found) == 1 else None)
        confusion[(label["reason"], mine.reason if mine else "missing")] += 1
        if label["kind"] in ("hard", "soft"):
            kinds[mine is not None and mine.kind == label["kind"]] += 1
    right = sum(v for (want, got), v in confusion.items() if want == got)
    return right / sum(confusion.values()), kinds[True] / sum(kinds.values()), confusion


def test_agreement_with_the_labelled_corpus(capsys) -> None:  # noqa: ANN001
    rate, kind_rate, confusion = agreement()
    with capsys.disabled():
        print(f"\nbounce classification: {rate:.1%} of {sum(confusion.values())} reasons and {kind_rate:.1%} of hard/soft"
              " agree with the corpus labels. Confusion table (label: agreeing, then what was said instead):")
        for label in sorted({want for want, _ in confusion}, key=lambda w: -sum(v for (x, _), v in confusion.items() if x == w)):
            others = ", ".join(f"{got} {count}" for (want, got), count in sorted(confusion.items(), key=lambda kv: -kv[1])
                               if want == label and got != label)
            print(f"  {label:16} {confusion[(label, label)]:3}{'   instead: ' + others if others else ''}")
    assert rate >= FLOOR and kind_rate >= KIND_FLOOR


def test_bounces_the_reference_could_not_read() -> None:
    """Sisimai 4.25 does not read DragonFly Mail Agent's bounces; we do. The corpus names most of
    their recipients after the reason they stand for (blocked@..., mesgtoobig@...)."""
    unread = [row["file"] for row in LABELS if not row["bounce"]]
    named = right = 0
    for name in unread:
        [bounce] = classify((CORPUS / name).read_bytes())
        local = bounce.recipient.split("@")[0]
        if local in REASONS:
            named += 1
            right += bounce.reason == local
    assert len(unread) == 19 and named == 15 and right >= 13


def test_a_complaint_and_a_dsn() -> None:
    [complaint] = classify((CORPUS / "arf-16.eml").read_bytes())
    assert (complaint.recipient, complaint.reason, complaint.kind, complaint.feedback_type) == ("kijitora@example.com", "feedback", "n/a", "abuse")
    [bounce] = classify((CORPUS / "lhost-postfix-03.eml").read_bytes())
    assert bounce.recipient == "kijitora@example.net" and bounce.reply_code == "550" and bounce.reason == "filtered"
    assert classify(b"not a message at all \x00\xff") == [] and classify(b"From: a@b.c\r\nSubject: hello\r\n\r\nhi") == []


def dsn(recipient: str, status: str, text: str) -> bytes:
    return (f"From: MAILER-DAEMON@mx.test\r\nTo: news@shop.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; {text}\r\n--B--\r\n").encode()


def test_suppressions(engine: Engine, tmp_path: Path) -> None:
    files = {"hard.eml": dsn("gone@example.net", "5.1.1", "550 5.1.1 user unknown"),
             "complaint.eml": (CORPUS / "arf-16.eml").read_bytes()}
    for n in range(SOFT_BOUNCES_TO_SUPPRESS):
        files[f"full{n}.eml"] = dsn("full@example.net", "4.2.2", "452 4.2.2 mailbox full")
    files["once.eml"] = dsn("busy@example.net", "4.2.2", "452 4.2.2 mailbox full")
    inbox = tmp_path / "bounces"
    inbox.mkdir()
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    result = ingest(engine, [inbox])
    assert result.bounces == 7 and result.complaints == 1 and not result.rejected
    why = {r["address"]: r["why"] for r in suppressions(engine)}
    assert why == {"gone@example.net": "hard bounce", "kijitora@example.com": "complaint", "full@example.net": "repeated soft bounces"}


def test_cli(tmp_path: Path) -> None:
    (tmp_path / "b.eml").write_bytes(dsn("gone@example.net", "5.1.1", "550 5.1.1 user unknown"))
    line = run("bounces", "classify", str(tmp_path / "b.eml"))
    assert line.returncode == 0 and "gone@example.net  hard  userunknown  5.1.1" in line.stdout
    run("reports", "ingest", str(tmp_path / "b.eml"), "--data", str(tmp_path / "data"))
    exported = run("suppressions", "export", "--data", str(tmp_path / "data"), "--format", "csv")
    assert exported.stdout.splitlines()[1].startswith("gone@example.net,hard bounce,userunknown,1,")
