import dns.name

from maildoctor.records.zonefile import scan_zone

ORIGIN = dns.name.from_text("example.com.")


def test_entries_keep_line_owner_text_and_ttl() -> None:
    text = '$TTL 300\n@ IN SOA ns h (\n 1 2 3 4 5 )\nwww 60 IN A 192.0.2.1\n   IN AAAA 2001:db8::1\nexample.com IN TXT "a;b"\n'
    entries = scan_zone(text, ORIGIN)
    assert [(e.line, e.owner.to_text(), e.owner_text, e.ttl, e.effective_ttl, e.rdtype) for e in entries] == [
        (2, "example.com.", "@", None, 300, "SOA"),
        (4, "www.example.com.", "www", 60, 60, "A"),
        (5, "www.example.com.", None, None, 300, "AAAA"),
        (6, "example.com.example.com.", "example.com", None, 300, "TXT"),
    ]
    assert entries[3].rdata == '"a;b"'


def test_origin_changes_and_class_before_ttl() -> None:
    entries = scan_zone("$ORIGIN sub.example.com.\nmail IN 120 A 192.0.2.1\n", ORIGIN)
    assert entries[0].owner.to_text() == "mail.sub.example.com." and entries[0].ttl == 120


def test_without_ttl_directive_the_last_ttl_carries_over() -> None:
    entries = scan_zone("a 100 IN A 192.0.2.1\nb IN A 192.0.2.2\n", ORIGIN)
    assert [e.effective_ttl for e in entries] == [100, 100]
