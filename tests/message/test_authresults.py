"""Authentication-Results and Received-SPF as big receivers write them, and their plain-word reading."""

from maildoctor.message.authresults import explain, ip_in_comment, parse_authentication_results, parse_received_spf
from maildoctor.message.connection import parse_received

GMAIL = (
    "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=abc; spf=pass (google.com: domain of"
    " bounce@example.com designates 192.0.2.1 as permitted sender) smtp.mailfrom=bounce@example.com;"
    " dmarc=fail (p=REJECT sp=REJECT dis=QUARANTINE) header.from=example.com"
)
OUTLOOK = (
    "spf=softfail (sender IP is 198.51.100.7) smtp.mailfrom=example.org; dkim=none (message not signed)"
    " header.d=none;dmarc=fail action=quarantine header.from=example.org;compauth=fail reason=001"
)
YAHOO = "atlas-production.v2.mail.yahoo.com; dkim=perm_fail header.i=@example.net header.s=k1; spf=pass smtp.mailfrom=example.net; dmarc=pass(p=NONE) header.from=example.net;"


def test_gmail() -> None:
    parsed = parse_authentication_results(GMAIL)
    assert parsed.authserv_id == "mx.google.com"
    methods = {r.method: r for r in parsed.results}
    assert methods["dkim"].properties["header.i"] == "@example.com" and methods["spf"].result == "pass"
    assert ip_in_comment(methods["spf"].comment) == "192.0.2.1"
    assert "reject" in explain(methods["dmarc"]) and "quarantine" in explain(methods["dmarc"])


def test_outlook_without_authserv_id_and_compauth() -> None:
    parsed = parse_authentication_results(OUTLOOK)
    methods = {r.method: r for r in parsed.results}
    assert methods["spf"].result == "softfail" and methods["compauth"].reason == "001"
    assert "Microsoft" in explain(methods["compauth"]) and "Junk" in explain(methods["compauth"])


def test_yahoo_and_unusual_results() -> None:
    parsed = parse_authentication_results(YAHOO)
    assert [r.result for r in parsed.results] == ["perm_fail", "pass", "pass"]
    assert explain(parsed.results[0])  # unknown words are shown as they are


def test_received_spf() -> None:
    parsed = parse_received_spf(
        "pass (mail.example.net: domain of a@example.com designates 2001:db8::5 as permitted"
        ' sender) client-ip=2001:db8::5; envelope-from="a@example.com"; helo=mx.example.com;'
    )
    spf = parsed.results[0]
    assert spf.result == "pass" and spf.properties["client-ip"] == "2001:db8::5" and spf.properties["helo"] == "mx.example.com"
    assert parsed.authserv_id == "mail.example.net"


def test_received_headers_of_several_mtas() -> None:
    postfix = parse_received("from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.net (Postfix) with ESMTPS id X")
    assert (postfix.helo, postfix.reverse_name, postfix.ip, postfix.by) == (
        "mail.example.com",
        "mail.example.com",
        "192.0.2.1",
        "mx.example.net",
    )
    gmail = parse_received("from out.example.org (out.example.org. [2001:db8::25]) by mx.google.com with ESMTPS id y")
    assert gmail.ip == "2001:db8::25" and gmail.reverse_name == "out.example.org"
    exim = parse_received("from host.isp.example ([198.51.100.9] helo=laptop) by smtp.example.com with esmtpsa")
    assert (exim.helo, exim.reverse_name, exim.ip) == ("laptop", "host.isp.example", "198.51.100.9")
    v6 = parse_received("from [IPv6:2001:db8::9] (unknown [IPv6:2001:db8::9]) by mx.example.com")
    assert v6.ip == "2001:db8::9" and v6.reverse_name == ""
    assert parse_received("by localhost with LMTP") is None
