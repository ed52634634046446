"""The message parser and the whole analysis on hostile input: any bytes give a report, never a crash."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.message.analyse import analyse_message
from maildoctor.message.options import MessageOptions
from maildoctor.message.parse import address_domain, parse_message

MIME = (
    b"From: a@example.com\nTo: b@example.net\nSubject: hi\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/alternative; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nplain words\n"
    b"--XX\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    b'<p>Hello <a href=3D"https://bit.ly/x">https://bank.example</a><img src=3D"cid:1"></p>\n--XX--\n'
)


def test_pasted_headers_with_stray_lines_and_lf() -> None:
    parsed = parse_message(b"\n\n  \nReceived: from a\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\nFrom: x@example.com\n")
    assert parsed.headers[0] == ("Received", "from a by b; Mon, 1 Jan 2024 00:00:00 +0000")
    assert not parsed.has_body and parsed.raw.endswith(b"\r\n")


def test_mime_parts_links_and_images() -> None:
    parsed = parse_message(MIME)
    assert [p.content_type for p in parsed.parts] == ["text/plain", "text/html"]
    assert parsed.text.strip() == "plain words" and parsed.images == 1
    assert parsed.links[0].href == "https://bit.ly/x" and parsed.links[0].text == "https://bank.example"


def test_address_domains() -> None:
    assert address_domain("<Info@Example.COM>") == "example.com"
    assert address_domain("no-at-sign") == "" and address_domain("x@[192.0.2.1]") == "" and address_domain("@example.com") == ""


@given(st.binary(max_size=2000))
@settings(max_examples=150, deadline=None)
def test_any_bytes_parse(data: bytes) -> None:
    parsed = parse_message(data)
    assert isinstance(parsed.headers, list) and isinstance(parsed.problems, list)


header_names = st.sampled_from(
    [
        "From",
        "To",
        "Date",
        "Message-ID",
        "DKIM-Signature",
        "Authentication-Results",
        "Received-SPF",
        "Received",
        "ARC-Seal",
        "List-Unsubscribe",
        "Content-Type",
        "Subject",
    ]
)
header_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)


@given(st.lists(st.tuples(header_names, header_values), max_size=12), st.binary(max_size=400))
@settings(max_examples=120, deadline=None)
def test_any_headers_and_body_give_a_report(headers: list[tuple[str, str]], body: bytes) -> None:
    raw = (
        b"".join(f"{n}: {v}".encode("utf-8", "surrogateescape").replace(b"\n", b" ").replace(b"\r", b" ") + b"\r\n" for n, v in headers)
        + b"\r\n"
        + body
    )
    report = asyncio.run(analyse_message(raw, ZoneResolver(ZoneSet([])), MessageOptions(audit_domain=False)))
    assert report.kind == "message" and all(f.id for f in report.findings)
