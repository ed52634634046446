import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maildoctor.dns.wire import MxData, NameData, Question, parse_reply

QNAME = dns.name.from_text("www.example.com.")
Q_A = Question.of("www.example.com", dns.rdatatype.A)


def reply_to(name: str, rdtype: str, *rrsets: dns.rrset.RRset) -> bytes:
    query = dns.message.make_query(name, rdtype)
    response = dns.message.make_response(query)
    for rrset in rrsets:
        response.answer.append(rrset)
    return response.to_wire()


def test_cname_chain_and_compressed_names() -> None:
    wire = reply_to(
        "www.example.com.",
        "MX",
        dns.rrset.from_text("www.example.com.", 300, "IN", "CNAME", "mail.example.com."),
        dns.rrset.from_text("mail.example.com.", 60, "IN", "MX", "10 mx1.example.com.", "20 mx2.example.com."),
    )
    reply = parse_reply(wire, Question.of("www.example.com.", dns.rdatatype.MX))
    assert reply is not None and reply.rcode == 0
    targets, records, ttl = reply.chain(QNAME, dns.rdatatype.MX)
    assert [t.to_text() for t in targets] == ["mail.example.com."]
    assert sorted(r.exchange.to_text() for r in records) == ["mx1.example.com.", "mx2.example.com."] and ttl == 60


def test_a_reply_to_another_question_is_not_ours() -> None:
    assert parse_reply(reply_to("other.example.com.", "A"), Q_A) is None
    assert parse_reply(reply_to("www.example.com.", "AAAA"), Q_A) is None
    assert parse_reply(dns.message.make_query("www.example.com.", "A").to_wire(), Q_A) is None


def test_question_matching_ignores_case() -> None:
    assert parse_reply(reply_to("WWW.Example.COM.", "A"), Q_A) is not None


@pytest.mark.parametrize("cut", [5, 13, 30])
def test_truncated_bytes_are_a_format_error(cut: int) -> None:
    wire = reply_to("www.example.com.", "A", dns.rrset.from_text("www.example.com.", 60, "IN", "A", "192.0.2.1"))
    with pytest.raises(dns.exception.FormError):
        parse_reply(wire[:cut], Q_A)


@given(st.binary(max_size=300))
def test_any_bytes_give_a_reply_none_or_a_format_error(data: bytes) -> None:
    try:
        parse_reply(data, Q_A)
    except dns.exception.FormError:
        pass


def test_questions_in_wire_form() -> None:
    assert Question.of("WWW.Example.com.", dns.rdatatype.A).section == dns.message.make_query("www.example.com.", "A").to_wire()[12:]
    escaped = Question.of("a\\.b.example.com", dns.rdatatype.TXT)
    assert escaped.labels == (b"a.b", b"example", b"com") and escaped.name == dns.name.from_text("a\\.b.example.com.")
    assert Question.of(".", dns.rdatatype.NS).section == b"\x00\x00\x02\x00\x01"
    for bad in ("a..example.com", "x" * 64 + ".com", ("x" * 60 + ".") * 5 + "com"):
        with pytest.raises(ValueError):
            Question.of(bad, dns.rdatatype.A)


@pytest.mark.parametrize(
    ("rdtype", "texts"),
    [
        ("TXT", ['"v=spf1 -all"', '"a\\"b\\\\c" "\\195\\169t\\009\\000"', '""']),
        ("A", ["192.0.2.1", "127.0.0.1"]),
        ("AAAA", ["2001:db8::1", "::ffff:192.0.2.1", "2001:db8:0:1:0:0:0:1", "fe80::"]),
        ("MX", ["10 mx1.example.com.", "0 ."]),
        ("PTR", ["host.example.net."]),
        ("CAA", ['0 issue "letsencrypt.org"']),
        ("TLSA", ["3 1 1 " + "ab" * 32]),
    ],
)
def test_records_read_as_dnspython_reads_them(rdtype: str, texts: list[str]) -> None:
    """The fast decoders give the same data and presentation as dnspython's rdata."""
    wire = reply_to("www.example.com.", rdtype, dns.rrset.from_text("www.example.com.", 60, "IN", rdtype, *texts))
    reply = parse_reply(wire, Question.of("www.example.com", dns.rdatatype.from_text(rdtype)))
    assert reply is not None
    expected = dns.message.from_wire(wire).answer[0]
    mine = [rd for _, _, _, rd in reply.records]
    assert [rd.to_text() for rd in mine] == [rd.to_text() for rd in expected]
    for name in ("address", "strings", "preference", "exchange", "target"):
        assert [getattr(rd, name, None) for rd in mine] == [getattr(rd, name, None) for rd in expected]


def test_compression_pointers_must_point_back() -> None:
    wire = bytearray(reply_to("www.example.com.", "A", dns.rrset.from_text("www.example.com.", 60, "IN", "A", "192.0.2.1")))
    answer = 12 + len(Q_A.section)
    assert wire[answer] == 0xC0  # the owner is a pointer to the question's name
    wire[answer + 1] = answer  # now it points at itself
    with pytest.raises(dns.exception.FormError):
        parse_reply(bytes(wire), Q_A)


def test_mx_hosts_as_checks_compare_them() -> None:
    wire = reply_to(
        "www.example.com.",
        "MX",
        dns.rrset.from_text("www.example.com.", 60, "IN", "MX", "10 MX1.Example.COM.", "0 .", "5 we\\.ird.example."),
    )
    reply = parse_reply(wire, Question.of("www.example.com", dns.rdatatype.MX))
    assert reply is not None
    from maildoctor.dns.live import interpret

    answer = interpret(reply, Question.of("www.example.com", dns.rdatatype.MX), "www.example.com", "MX")
    assert sorted(answer.mx_hosts) == [(0, "."), (5, "we\\.ird.example"), (10, "mx1.example.com")]


# Valid replies of the kinds the checks read, with EDNS, authority and additional records, to mutate.
def _valid_replies() -> list[tuple[bytes, Question]]:
    cases = []
    for name, rdtype, texts in [
        ("www.example.com.", "A", ["192.0.2.1", "192.0.2.2"]),
        ("example.com.", "MX", ["10 mx1.example.com.", "20 mx2.example.com."]),
        ("example.com.", "TXT", ['"v=spf1 include:_spf.example.net -all"', '"a" "b"']),
        ("1.2.0.192.in-addr.arpa.", "PTR", ["mail.example.com."]),
    ]:
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(name, 300, "IN", rdtype, *texts))
        response.authority.append(dns.rrset.from_text("example.com.", 300, "IN", "NS", "ns1.example.com."))
        response.additional.append(dns.rrset.from_text("ns1.example.com.", 300, "IN", "A", "192.0.2.53"))
        cases.append((response.to_wire(), Question.of(name, dns.rdatatype.from_text(rdtype))))
    return cases


VALID = _valid_replies()


@given(st.sampled_from(range(len(VALID))), st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flips_in_valid_replies_give_a_reply_none_or_a_format_error(case: int, flips: list[tuple[int, int]]) -> None:
    wire, question = VALID[case]
    mutated = bytearray(wire)
    for position, bit in flips:
        mutated[position % len(mutated)] ^= 1 << bit
    try:
        reply = parse_reply(bytes(mutated), question)
    except dns.exception.FormError:
        return
    if reply is not None:  # whatever survived is well-formed data of the question
        reply.chain(question.labels, question.rdtype)
        for _, _, _, data in reply.records:
            data.to_text()


@given(st.sampled_from(range(len(VALID))), st.integers(0, 400))
def test_valid_replies_cut_anywhere_are_a_format_error(case: int, cut: int) -> None:
    wire, question = VALID[case]
    cut = cut % len(wire)
    with pytest.raises(dns.exception.FormError):
        parse_reply(wire[: max(cut, 12 + len(question.section))] if cut >= 12 else wire[:cut], question)


@pytest.mark.parametrize("section", [6, 8, 10])  # ANCOUNT, NSCOUNT, ARCOUNT
def test_counts_that_lie_never_change_the_answer(section: int) -> None:
    """A lie is a format error, or (where the sections it miscounts still parse: the authority
    and additional sections are walked only when the reply does not end with an OPT record)
    a reply whose data for the question is unchanged."""
    for wire, question in VALID:
        expected = parse_reply(wire, question)
        assert expected is not None
        for more in (1, 3, 200):
            mutated = bytearray(wire)
            mutated[section : section + 2] = (int.from_bytes(wire[section : section + 2], "big") + more).to_bytes(2, "big")
            try:
                reply = parse_reply(bytes(mutated), question)
            except dns.exception.FormError:
                continue
            assert reply is not None  # the data of the question stays what the real records say
            got = reply.chain(question.labels, question.rdtype)
            want = expected.chain(question.labels, question.rdtype)
            assert [d.to_text() for d in got[1]] == [d.to_text() for d in want[1]] and got[0] == want[0]


def test_counts_that_lie_are_a_format_error_without_a_final_opt_record() -> None:
    for wire, question in VALID:
        stripped = bytearray(wire[:-11])  # the OPT record removed: the sections are walked
        stripped[10:12] = (int.from_bytes(wire[10:12], "big") - 1 + 2).to_bytes(2, "big")
        with pytest.raises(dns.exception.FormError):
            parse_reply(bytes(stripped), question)


def test_pointer_loops_in_every_section_are_a_format_error() -> None:
    wire, question = VALID[1]  # MX: names in the answer data, the authority and the additional section
    for offset in range(12 + len(question.section), len(wire) - 1):
        if wire[offset] == 0xC0:
            mutated = bytearray(wire)
            mutated[offset + 1] = offset & 0xFF  # a pointer to itself
            if offset > 0xFF:
                continue
            try:
                reply = parse_reply(bytes(mutated), question)
            except dns.exception.FormError:
                continue
            # a pointer the fast path skips (in a section only walked over) cannot loop there either
            assert reply is not None


def test_the_extended_rcode_is_read_from_the_opt_record() -> None:
    query = dns.message.make_query("www.example.com.", "A", use_edns=0)
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.BADVERS)
    wire = response.to_wire()
    assert wire[3] & 0x0F == 0  # the header alone says NOERROR
    reply = parse_reply(wire, Q_A)
    assert reply is not None and reply.rcode == dns.rcode.BADVERS and reply.edns


def test_records_of_another_class_are_left_out() -> None:
    wire = reply_to("www.example.com.", "TXT", dns.rrset.from_text("www.example.com.", 60, "CH", "TXT", '"chaos"'))
    reply = parse_reply(wire, Question.of("www.example.com", dns.rdatatype.TXT))
    assert reply is not None and reply.records == ()


def test_an_error_reply_without_a_question_is_taken_and_a_noerror_one_is_not() -> None:
    header = bytearray(dns.message.make_query("www.example.com.", "A").to_wire()[:12])
    header[2], header[4:12] = 0x81, bytes(8)
    for rcode, taken in [(dns.rcode.FORMERR, True), (dns.rcode.NOTIMP, True), (dns.rcode.NOERROR, False), (dns.rcode.NXDOMAIN, False)]:
        header[3] = rcode
        reply = parse_reply(bytes(header), Q_A)
        assert (reply is not None) is taken and (reply is None or reply.rcode == rcode)


def test_a_question_of_another_class_or_opcode_is_not_ours() -> None:
    wire = bytearray(reply_to("www.example.com.", "A", dns.rrset.from_text("www.example.com.", 60, "IN", "A", "192.0.2.1")))
    qclass = 12 + len(Q_A.section) - 2
    other_class = bytes(wire[:qclass]) + b"\x00\x03" + bytes(wire[qclass + 2 :])
    assert parse_reply(other_class, Q_A) is None
    wire[2] |= 0x28  # opcode 5, UPDATE
    assert parse_reply(bytes(wire), Q_A) is None


@given(st.lists(st.binary(min_size=1, max_size=12), min_size=0, max_size=4))
def test_names_in_records_are_written_as_dnspython_writes_them(labels: list[bytes]) -> None:
    """Plain names take a short way to text; every name must come out as dnspython writes it."""
    expected = dns.name.Name((*labels, b"")).to_text()
    assert NameData(tuple(labels)).to_text() == expected
    assert MxData(10, tuple(labels)).to_text() == f"10 {expected}"
    host = NameData(tuple(labels)).host
    if host is not None:
        assert host == expected.rstrip(".").lower()


def test_a_plain_name_keeps_its_case_in_text_and_is_lowered_as_a_host() -> None:
    record = NameData((b"Mail", b"Example", b"com"))
    assert (record.to_text(), record.host) == ("Mail.Example.com.", "mail.example.com")
    assert NameData((b"a b", b"com")).host is None
