"""Header and structure checks of a message, one case per finding."""

from maildoctor.message.parse import parse_message
from maildoctor.message.structure import structure_findings


def ids(raw: bytes) -> set[str]:
    return {f.id for f in structure_findings(parse_message(raw))}


GOOD_HEAD = (
    b"Received: from a (a [192.0.2.1]) by b\r\nFrom: A <a@example.com>\r\nTo: b@example.net\r\n"
    b"Date: Mon, 21 Oct 2013 15:10:29 +0200\r\nMessage-ID: <1@example.com>\r\nSubject: Meeting notes\r\n"
)


def test_a_plain_personal_message_is_clean() -> None:
    assert ids(GOOD_HEAD + b"\r\nHello.\r\n") == set()


def test_missing_and_malformed_headers() -> None:
    assert ids(b"Received: from a by b\r\nTo: b@example.net\r\n\r\nHi\r\n") >= {"msg.no_message_id", "msg.no_date", "msg.bad_from"}
    assert "msg.no_message_id" in ids(GOOD_HEAD.replace(b"<1@example.com>", b"1-no-brackets") + b"\r\nx\r\n")
    assert "msg.no_date" in ids(GOOD_HEAD.replace(b"Mon, 21 Oct 2013 15:10:29 +0200", b"yesterday") + b"\r\nx\r\n")
    assert "msg.bad_from" in ids(GOOD_HEAD + b"From: c@example.org\r\n\r\nx\r\n")  # two From headers
    assert "msg.bad_from" in ids(GOOD_HEAD.replace(b"A <a@example.com>", b"a, b@example.com") + b"\r\nx\r\n")


def test_an_excerpt_of_headers_is_not_blamed_for_what_was_not_pasted() -> None:
    assert ids(b"From: a@example.com\r\nSubject: hi\r\n") == set()


def test_bulk_mail_and_one_click_unsubscribe() -> None:
    bulk = GOOD_HEAD + b"List-Id: <news.example.com>\r\n\r\nNews. Unsubscribe here.\r\n"
    assert "msg.no_unsubscribe" in ids(bulk)
    mailto_only = GOOD_HEAD + b"List-Unsubscribe: <mailto:u@example.com>\r\n\r\nNews\r\n"
    assert "msg.no_one_click" in ids(mailto_only)
    one_click = GOOD_HEAD + (
        b"List-Unsubscribe: <https://example.com/u?t=1>, <mailto:u@example.com>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nNews\r\n"
    )
    assert not ids(one_click) & {"msg.no_unsubscribe", "msg.no_one_click"}


def test_body_structure() -> None:
    html_only = GOOD_HEAD + (
        b"Content-Type: text/html\r\n\r\n<p>Hi <a href='https://bit.ly/z'>https://mybank.example/login</a>"
        b"<img src='a.png'><img src='b.png'></p>\r\n"
    )
    assert ids(html_only) >= {"msg.html_only", "msg.image_only", "msg.link_mismatch", "msg.url_shortener"}
    attachment = GOOD_HEAD + (
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="invoice.pdf.exe"\r\n\r\nMZ\r\n--B--\r\n'
    )
    assert "msg.risky_attachment" in ids(attachment)
    big = GOOD_HEAD + b"\r\n" + b"x" * (11 * 1024 * 1024)
    assert "msg.too_large" in ids(big)


def test_subjects_and_phrases() -> None:
    assert "msg.subject_shouting" in ids(GOOD_HEAD.replace(b"Meeting notes", b"FREE MONEY FOR YOU") + b"\r\nx\r\n")
    assert "msg.subject_shouting" in ids(GOOD_HEAD.replace(b"Meeting notes", b"Act fast!!! $$$") + b"\r\nx\r\n")
    assert "msg.subject_shouting" not in ids(GOOD_HEAD.replace(b"Meeting notes", b"Q3 KPI review (EMEA)") + b"\r\nx\r\n")
    assert "content.spammy_phrases" in ids(GOOD_HEAD + b"\r\nCongratulations you are a winner, claim your prize\r\n")
