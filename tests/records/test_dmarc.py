from hypothesis import given
from hypothesis import strategies as st

from maildoctor.records.dmarc import is_dmarc_record, looks_like_dmarc, parse_dmarc


def test_valid_record() -> None:
    record = parse_dmarc("v=DMARC1; p=quarantine; sp=reject; pct=50; rua=mailto:a@example.com!10m,mailto:b@example.net")
    assert record.valid
    assert record.policy == "quarantine" and record.subdomain_policy == "reject" and record.pct == 50
    assert [(u.domain, u.max_size) for u in record.rua] == [("example.com", "10m"), ("example.net", "")]


def test_whitespace_and_trailing_separator_are_allowed() -> None:
    assert parse_dmarc("v = DMARC1 ;  p = reject ; ").valid


def test_all_errors_are_collected_with_positions() -> None:
    record = parse_dmarc("v=DMARC1; p=maybe; pct=-1; adkim=relaxed")
    assert [(p.check_id, p.term) for p in record.problems] == [
        ("dmarc.invalid_tag_value", "p=maybe"),
        ("dmarc.invalid_pct", "pct=-1"),
        ("dmarc.invalid_tag_value", "adkim=relaxed"),
    ]
    assert record.problems[0].position == record.text.index("p=maybe")


def test_version_must_come_first_and_be_exact() -> None:
    messages = [p.message for p in parse_dmarc("p=reject; v=DMARC1").problems]
    assert "the record must start with v=DMARC1" in messages and "v= must be the first tag" in messages
    assert any("upper case" in p.message for p in parse_dmarc("v=dmarc1; p=none").problems)
    assert looks_like_dmarc("v=dmarc1; p=none") and not is_dmarc_record("v=dmarc1; p=none")


def test_missing_policy_and_duplicate_tags() -> None:
    record = parse_dmarc("v=DMARC1; rua=mailto:a@example.com; rua=mailto:b@example.com")
    messages = " ".join(p.message for p in record.problems)
    assert "no p= tag" in messages and "given twice" in messages


def test_report_uris() -> None:
    record = parse_dmarc("v=DMARC1; p=none; rua=mailto:not-an-address, http://example.com/r, mailto:ok@example.org!5q")
    assert len([p for p in record.problems if p.check_id == "dmarc.invalid_uri"]) == 3
    assert record.rua == []


def test_unknown_tags_are_kept_apart() -> None:
    assert parse_dmarc("v=DMARC1; p=none; rue=mailto:a@example.com").unknown_tags == ["rue"]


@given(st.text())
def test_any_text_parses_or_reports_problems(text: str) -> None:
    record = parse_dmarc(text)
    for problem in record.problems:
        assert 0 <= problem.position <= len(text)


@given(st.lists(st.sampled_from(["v=DMARC1", "p=none", "p=x", "pct=101", "rua=mailto:a@b.c", "=", "x", " ", "fo=1:d"]), max_size=8))
def test_tag_soup_never_raises(parts: list[str]) -> None:
    parse_dmarc(";".join(parts))
