"""Record changes applied to a zone file as written: found by their data, the rest of the file
untouched, the serial counted up."""

from __future__ import annotations

import datetime

import dns.name
import yaml

from maildoctor.records import change
from maildoctor.records.changeformats import nsupdate_script, octodns_yaml
from maildoctor.records.zonepatch import next_serial, patch_zone, split_comment

ORIGIN = dns.name.from_text("ex.test.")
ZONE = """$ORIGIN ex.test.
$TTL 3600
@ IN SOA ns.ex.test. h.ex.test. (
      7       ; serial
      7200 3600 1209600 3600 )
@ IN TXT "v=spf1 mx -all" ; the SPF record
  IN MX 10 mail ; inherits @
www  600 IN A 192.0.2.1
     600 IN AAAA 2001:db8::1
mail IN A 192.0.2.25
"""


def test_a_replaced_record_keeps_its_owner_ttl_and_comment_and_the_serial_counts_up() -> None:
    spf = change.replace("ex.test", None, "TXT", '"v=spf1 mx -all"', '"v=spf1 mx ip4:192.0.2.7 -all"')
    patch = patch_zone(ZONE, ORIGIN, [spf])
    lines = patch.text.splitlines()
    assert '@\tIN\tTXT\t"v=spf1 mx ip4:192.0.2.7 -all" ; the SPF record' in lines
    assert "  IN MX 10 mail ; inherits @" in lines  # the next entry still inherits the apex
    assert "      8       ; serial" in lines and patch.serial == (7, 8)
    assert patch.applied == [spf] and not patch.missing and not patch.outside


def test_data_is_matched_by_meaning_not_spelling() -> None:
    mx = change.remove("ex.test", "MX", "10 mail.ex.test.")  # absolute, where the file writes it relative
    patch = patch_zone(ZONE, ORIGIN, [mx])
    assert "IN MX 10 mail" not in patch.text and patch.applied == [mx]


def test_removing_the_entry_that_names_an_owner_writes_the_owner_on_the_next() -> None:
    patch = patch_zone(ZONE, ORIGIN, [change.remove("www.ex.test", "A", "192.0.2.1")])
    assert "www 600 IN AAAA 2001:db8::1" in patch.text.splitlines()
    assert "192.0.2.1\n" not in patch.text


def test_an_added_record_goes_after_its_owner_with_why() -> None:
    added = change.add("mail.ex.test", 3600, "AAAA", "2001:db8::25")
    patch = patch_zone(ZONE, ORIGIN, [added], {added: "mx.ipv4_only"})
    lines = patch.text.splitlines()
    assert lines[-2:] == ["; maildoctor fix: mx.ipv4_only", "mail\t3600\tIN\tAAAA\t2001:db8::25"]


def test_what_the_file_does_not_hold_is_said_not_guessed() -> None:
    outside = change.add("1.2.0.192.in-addr.arpa", 3600, "PTR", "mail.ex.test.")
    absent = change.remove("ex.test", "TXT", '"v=spf1 -all"')
    patch = patch_zone(ZONE, ORIGIN, [outside, absent])
    assert patch.outside == [outside] and patch.missing == [absent] and patch.applied == []
    assert patch.text == ZONE and patch.serial is None  # nothing applied: nothing changes


def test_serials() -> None:
    today = datetime.date(2026, 12, 2)
    assert next_serial(2024010101, today) == 2026120200  # date-based and older: today's first
    assert next_serial(2026120205, today) == 2026120206  # today's already: the next of today
    assert next_serial(7, today) == 8 and next_serial(2**32 - 1, today) == 1


def test_comments_are_found_outside_quotes() -> None:
    assert split_comment('_dmarc IN TXT "v=DMARC1; p=none" ; why') == ('_dmarc IN TXT "v=DMARC1; p=none" ', "; why")
    assert split_comment('x IN TXT "a \\" ; b"') == ('x IN TXT "a \\" ; b"', "")


def test_the_change_set_for_nsupdate_and_octodns() -> None:
    changes = [
        change.replace("ex.test", None, "TXT", '"v=spf1 mx -all"', '"v=spf1 mx ip4:192.0.2.7 -all"'),
        change.add("_dmarc.ex.test", 3600, "TXT", '"v=DMARC1; p=none; rua=mailto:d@ex.test"'),
    ]
    script = nsupdate_script("ex.test", changes, server="192.0.2.53")
    assert script.splitlines() == [
        "server 192.0.2.53",
        "zone ex.test.",
        'update delete ex.test. TXT "v=spf1 mx -all"',
        'update add ex.test. 3600 TXT "v=spf1 mx ip4:192.0.2.7 -all"',
        'update add _dmarc.ex.test. 3600 TXT "v=DMARC1; p=none; rua=mailto:d@ex.test"',
        "send",
    ]
    records = yaml.safe_load(octodns_yaml("ex.test", changes))
    assert records[""] == [{"type": "TXT", "ttl": 3600, "value": "v=spf1 mx ip4:192.0.2.7 -all"}]
    assert records["_dmarc"][0]["value"] == "v=DMARC1\\; p=none\\; rua=mailto:d@ex.test"  # octoDNS escapes ;
