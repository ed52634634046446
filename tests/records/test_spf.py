import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maildoctor.records.spf import is_spf_record, parse_macro_string, parse_spf


def test_terms_qualifiers_and_modifiers() -> None:
    record = parse_spf(
        "v=spf1 -ip4:192.0.2.0/24 ~ip6:2001:DB8::/32 a:mail.example.com/24//64 mx/28 ptr ?include:_spf.example.net exists:%{i}.bl.example.org redirect=_spf.example.com exp=why.example.com unknown-mod=x"
    )
    assert record.valid
    assert [(m.qualifier, m.kind) for m in record.mechanisms] == [
        ("-", "ip4"),
        ("~", "ip6"),
        ("+", "a"),
        ("+", "mx"),
        ("+", "ptr"),
        ("?", "include"),
        ("+", "exists"),
    ]
    assert record.mechanisms[0].network == ipaddress.ip_network("192.0.2.0/24")
    assert (record.mechanisms[2].cidr4, record.mechanisms[2].cidr6) == (24, 64)
    assert record.mechanisms[3].domain is None and record.mechanisms[3].cidr4 == 28
    assert record.redirect and record.redirect.value.text == "_spf.example.com"
    assert [m.name for m in record.modifiers] == ["redirect", "exp", "unknown-mod"]


def test_version_is_case_insensitive_and_must_end_the_first_term() -> None:
    assert is_spf_record("V=SPF1 -all") and is_spf_record("v=spf1")
    assert not is_spf_record("v=spf10 -all") and not is_spf_record("v=spf1-all")


@pytest.mark.parametrize(
    "text,term",
    [
        ("v=spf1 ip4:192.0.2.1/33", "ip4:192.0.2.1/33"),
        ("v=spf1 ip4:192.0.2.01", "ip4:192.0.2.01"),
        ("v=spf1 ip6:2001:db8::/129", "ip6:2001:db8::/129"),
        ("v=spf1 a:museum", "a:museum"),
        ("v=spf1 a:example.123", "a:example.123"),
        ("v=spf1 include:", "include:"),
        ("v=spf1 all:x", "all:x"),
        ("v=spf1 foo", "foo"),
        ("v=spf1 exists:%{q}.example.com", "exists:%{q}.example.com"),
        ("v=spf1 exists:%{i0}.example.com", "exists:%{i0}.example.com"),
        ("v=spf1 a:%example.com", "a:%example.com"),
        ("v=spf1 redirect=a.example.com redirect=b.example.com", "redirect=b.example.com"),
    ],
)
def test_syntax_errors_name_the_term_and_position(text: str, term: str) -> None:
    problems = parse_spf(text).problems
    assert problems and problems[-1].term == term and problems[-1].position == text.index(term)


def test_all_errors_are_collected() -> None:
    record = parse_spf("v=spf1 ip4:1.2.3 a:museum foo -all")
    assert [p.term for p in record.problems] == ["ip4:1.2.3", "a:museum", "foo"]


def test_non_ascii_and_control_characters() -> None:
    assert parse_spf("v=spf1 a:ex\u00e4mple.com -all").problems
    assert parse_spf("v=spf1 ip4:192.0.2.5\n -all").problems


def test_macros() -> None:
    macro, errors = parse_macro_string("%{ir}.%{v}._spf.%{d2}%%%_%-", allow_exp_letters=False)
    assert not errors
    letters = [(p.letter, p.digits, p.reverse) for p in macro.parts if p.letter]
    assert letters == [("i", 0, True), ("v", 0, False), ("d", 2, False)]
    assert macro.parts[-1].literal == "% %20"
    assert parse_macro_string("%{c}", allow_exp_letters=False)[1]
    assert not parse_macro_string("%{c} from %{r}", allow_exp_letters=True)[1]


@given(st.text(max_size=200))
def test_any_text_gives_a_record_or_positioned_errors(text: str) -> None:
    record = parse_spf(text)
    for problem in record.problems:
        assert 0 <= problem.position <= len(text)


TERMS = st.sampled_from(
    [
        "a",
        "mx",
        "ptr",
        "all",
        "-all",
        "~all",
        "?all",
        "+all",
        "ip4:192.0.2.1",
        "ip4:192.0.2.0/24",
        "ip6:2001:db8::/32",
        "a:example.com/24",
        "mx//64",
        "include:_spf.example.com",
        "exists:%{i}.x.example.com",
        "redirect=example.org",
        "exp=%{d}",
        "%",
        "%{",
        "a:",
        ":",
        "/",
        "=",
        "ip4:",
        "v=spf1",
        "x=y",
        "a/0//0",
        "%{l1r+-}",
    ]
)


@given(st.lists(TERMS, max_size=12), st.sampled_from([" ", "  ", ""]))
def test_term_soup_never_raises(terms: list[str], separator: str) -> None:
    record = parse_spf("v=spf1 " + separator.join(terms))
    assert record.valid == (not record.problems)
