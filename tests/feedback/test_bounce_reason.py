"""The reason decision: the same words mean different reasons at different SMTP stages and with
different status codes; and the bounce formats that are not RFC 3464 DSNs."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from maildoctor.feedback.bounce_reason import REASONS, Answer, kind_of, reason_of, unwrapped
from maildoctor.feedback.bounces import classify, remote_host, smtp_command


def test_the_stage_decides_what_unknown_user_means() -> None:
    words = "550 5.0.0 <a@example.net>... User unknown"
    assert reason_of(Answer(words, "5.0.0", "RCPT")) == "userunknown"
    assert reason_of(Answer(words, "5.0.0", "DATA")) == "filtered"  # a content filter speaking
    assert reason_of(Answer(words, "5.0.0", "MAIL")) == "rejected"  # the sender was refused
    assert reason_of(Answer("550 5.1.1 no such mailbox", "5.1.1")) == "userunknown"  # the code is enough
    assert reason_of(Answer("550 5.1.1 relay access denied", "5.1.1", "RCPT")) == "norelaying"  # words more precise than the code


def test_status_codes_words_and_fallbacks() -> None:
    assert reason_of(Answer("452 4.2.2 over quota", "4.2.2", "RCPT")) == "mailboxfull"
    assert reason_of(Answer("552 5.3.4 message size exceeds fixed limit", "5.3.4")) == "mesgtoobig"
    assert (
        reason_of(Answer("554 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org", "5.7.1", "RCPT"))
        == "blocked"
    )
    assert reason_of(Answer("550 5.7.1 email rejected due to security policies", "5.7.1", "DATA")) == "policyviolation"
    assert reason_of(Answer("554 5.6.0 This message has been scored as spam", "5.6.0", "DATA")) == "spamdetected"
    assert reason_of(Answer("451 4.4.1 connection timed out", "4.4.1")) == "expired"
    assert reason_of(Answer("DNS Error: DNS type 'mx' lookup of example.jp responded with code NXDOMAIN", "4.0.0")) == "networkerror"
    assert reason_of(Answer("550 5.7.1 nothing we know", "5.7.1")) == "securityerror"  # the class of the code
    assert reason_of(Answer("something odd happened", "")) == "onhold"
    assert reason_of(Answer("", "")) == "undefined"
    assert reason_of(Answer("", "4.0.0", action="delayed")) == "expired"
    assert reason_of(Answer("250 2.0.0 ok", "2.0.0")) == "delivered"


def test_kind() -> None:
    assert (kind_of("userunknown"), kind_of("mailboxfull"), kind_of("vacation")) == ("hard", "soft", "n/a")
    assert (kind_of("notaccept", "5.1.10"), kind_of("notaccept", "4.3.2")) == ("hard", "soft")


def test_multiline_answers_and_the_command_answered() -> None:
    assert (
        unwrapped("550-5.7.1 Messages with multiple 550-5.7.1 addresses in From: are not accepted")
        == "550-5.7.1 Messages with multiple addresses in From: are not accepted"
    )
    assert smtp_command("said: 550 User unknown (in reply to\n    RCPT TO command)") == "RCPT"
    assert smtp_command("SMTP error from remote mail server after end of data: 554 spam") == "DATA"
    assert smtp_command(">>> MAIL From:<a@b.example>\n<<< 553 sender rejected\n>>> RCPT To:<c@d.example>") == "MAIL"
    assert smtp_command("192.0.2.1 does not like recipient.") == "RCPT"
    assert smtp_command("nothing said") == ""


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300),
    st.sampled_from(["", "5.1.1", "4.2.2", "5.7.26", "2.0.0", "5.9.99"]),
    st.sampled_from(["", "RCPT", "DATA", "MAIL", "EHLO"]),
)
def test_any_answer_gets_a_known_reason(text: str, status: str, command: str) -> None:
    assert reason_of(Answer(text, status, command)) in REASONS


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_classify_without_an_exception(data: bytes) -> None:
    assert all(b.reason in REASONS for b in classify(data))


def test_amazon_ses_notifications_through_sns() -> None:
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [
                {
                    "emailAddress": "Gone@Example.net",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
    }
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.org"}], "complaintFeedbackType": "abuse"},
    }
    for notification, expected in (
        (bounce, ("gone@example.net", "userunknown", "hard")),
        (complaint, ("angry@example.org", "feedback", "n/a")),
    ):
        sns = json.dumps({"Type": "Notification", "Message": json.dumps(notification)})
        mail = f"From: no-reply@sns.amazonaws.com\r\nSubject: AWS Notification Message\r\n\r\n{sns}\r\n\r\n--\r\nunsubscribe here\r\n"
        [found] = classify(mail.encode())
        assert (found.recipient, found.reason, found.kind) == expected


def test_auto_replies_and_dsn_blocks_without_blank_lines() -> None:
    away = b"From: Kim <kim@example.org>\r\nSubject: Out of Office: hello\r\nAuto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n"
    [reply] = classify(away)
    assert (reply.recipient, reply.reason, reply.kind) == ("kim@example.org", "vacation", "n/a")
    dsn = (
        b"From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; full@example.jp\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 550 5.2.2 Mailbox Full\r\n"
        b"Final-Recipient: rfc822; gone@example.jp\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User Unknown\r\n--B--\r\n"
    )
    assert [(b.recipient, b.reason) for b in classify(dsn)] == [("full@example.jp", "mailboxfull"), ("gone@example.jp", "userunknown")]


def test_what_some_mtas_say_besides_the_words() -> None:
    base = (
        b"From: postmaster@mta.example\r\nSubject: Delivery report\r\n{extra}MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        b"failed\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mta.example\r\n\r\n"
        b"Final-Recipient: rfc822; who@example.jp\r\nAction: failed\r\nStatus: 5.0.0\r\nDiagnostic-Code: smtp; 550 No such user\r\n--B--\r\n"
    )
    plain = classify(base.replace(b"{extra}", b""))[0]
    powermta = classify(base.replace(b"{extra}", b"X-PowerMTA-BounceCategory: quota-issues\r\n"))[0]
    mcafee = classify(base.replace(b"{extra}", b"X-NAI-Header: Modified by McAfee Email Gateway\r\n"))[0]
    # unknown stage: a filter's words; PowerMTA's own category wins; McAfee quotes its RCPT TO check
    assert (plain.reason, powermta.reason, mcafee.reason) == ("filtered", "mailboxfull", "userunknown")


def test_providers_own_meanings_follow_the_remote_server() -> None:
    dmarc = "550 5.7.509 Access denied, sending domain [EXAMPLE.JP] does not pass DMARC verification and has a DMARC policy of reject"
    assert reason_of(Answer(dmarc, "5.7.509", "DATA", host="apc.olc.protection.outlook.com")) == "blocked"
    assert reason_of(Answer(dmarc, "5.7.509", "DATA")) == "policyviolation"  # the same words elsewhere
    orange = "550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]"
    assert reason_of(Answer(orange, "5.2.0", host="smtp-in.orange.fr")) == "spamdetected"
    docomo = "550 Unknown user someone@docomo.ne.jp"
    assert reason_of(Answer(docomo, "5.0.0", "DATA", host="mfsmax.docomo.ne.jp")) == "rejected"
    assert reason_of(Answer(docomo, "5.0.0", "RCPT", host="mfsmax.docomo.ne.jp")) == "userunknown"
    assert remote_host("dns; MX.Example.NET", "") == "mx.example.net"
    assert remote_host("", "host mx1.example.org[192.0.2.1] said: 550 no") == "mx1.example.org"


def test_the_data_file_names_only_known_reasons() -> None:
    from maildoctor.feedback import bounce_reason

    data = bounce_reason._file()
    named = set(data["phrases"]) | set(data["status"].values()) | set(data["hard"]) | {r for _, r in data["fixed"]["rules"]}
    named |= set(data["mtas"]["categories"].values())
    for provider in data["providers"]["list"]:
        named |= {r for _, _, r in provider.get("said", [])} | set(provider.get("codes", {}).get("meaning", {}).values())
        named |= set(provider.get("stage", {}).values())
    assert named <= REASONS, named - REASONS
    assert bounce_reason._providers() and bounce_reason._data()  # every pattern compiles


def test_unknown_charsets_do_not_stop_the_reading() -> None:
    for charset in ("utf-9", "us-ascii\x00", "\xfftf-8"):
        mail = (
            f"From: MAILER-DAEMON@mx.example\r\nSubject: =?{charset}?Q?Out_of_office?=\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: text/plain; charset="{charset}"\r\n\r\n<gone@example.net>: 550 5.1.1 user unknown'
            f" (in reply to RCPT TO command)\r\n"
        ).encode("latin-1")
        assert [(b.recipient, b.reason) for b in classify(mail)] == [("gone@example.net", "userunknown")]
