"""The MTA-STS policy parser and MX pattern matching (RFC 8461 §3.2, §4.1)."""

from hypothesis import given
from hypothesis import strategies as st

from maildoctor.records.mtasts_policy import mx_pattern_matches, parse_mtasts_policy


def test_a_good_policy_with_crlf_or_lf() -> None:
    for newline in ("\r\n", "\n"):
        policy = parse_mtasts_policy(
            newline.join(["version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.net", "max_age: 604800", ""])
        )
        assert policy.problems == [] and policy.mode == "enforce" and policy.max_age == 604800
        assert policy.mx == ["mail.example.com", "*.example.net"]


def test_every_problem_is_reported() -> None:
    policy = parse_mtasts_policy("version: STSv2\nmode: on\nmax_age: soon\nmx: bad host\ngarbage\n")
    text = " | ".join(policy.problems)
    assert "STSv2" in text and "'on'" in text and "soon" in text and "bad host" in text and "garbage" in text


def test_limits_and_required_lines() -> None:
    assert any("one year" in p for p in parse_mtasts_policy("version: STSv1\nmode: none\nmax_age: 40000000").problems)
    assert any("no 'mx:'" in p for p in parse_mtasts_policy("version: STSv1\nmode: enforce\nmax_age: 86400").problems)
    assert parse_mtasts_policy("version: STSv1\nmode: none\nmax_age: 86400").problems == []  # mode none needs no mx
    assert parse_mtasts_policy("").problems  # empty file
    short = parse_mtasts_policy("version: STSv1\nmode: enforce\nmx: a.b.test\nmax_age: 300")
    assert short.problems == [] and "under a day" in short.notes[0]


def test_duplicate_keys_and_upper_case() -> None:
    problems = parse_mtasts_policy("version: STSv1\nMode: enforce\nmode: testing\nmx: a.test\nmax_age: 1").problems
    assert any("lower case" in p for p in problems) and any("twice" in p for p in problems)


def test_mx_patterns() -> None:
    assert mx_pattern_matches("mail.example.com", "MAIL.example.com.")
    assert mx_pattern_matches("*.example.com", "mx1.example.com")
    assert not mx_pattern_matches("*.example.com", "example.com")
    assert not mx_pattern_matches("*.example.com", "a.b.example.com")  # one label only
    assert not mx_pattern_matches("mail.example.com", "mail.example.org")


@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    policy = parse_mtasts_policy(text)
    assert isinstance(policy.problems, list)
