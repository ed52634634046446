"""What users type as a domain, normalized as receivers see it."""

import pytest

from maildoctor.target import parse_domain


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("straße.de", "xn--strae-oqa.de"),  # IDNA 2008: ß is kept, not mapped to ss (IDNA 2003's strasse.de)
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("ＥＸＡＭＰＬＥ.com", "example.com"),  # full-width letters map to ASCII (UTS #46)
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("münchen.de。", "xn--mnchen-3ya.de"),  # an ideographic full stop as the root dot
        ("xn--strae-oqa.de", "xn--strae-oqa.de"),
        ("user@straße.de", "xn--strae-oqa.de"),
        ("_dmarc.example.com", "_dmarc.example.com"),  # DNS labels with underscores are not IDNA's to refuse
    ],
)
def test_names_are_encoded_by_uts46(typed: str, expected: str) -> None:
    assert parse_domain(typed) == expected


@pytest.mark.parametrize("typed", ["xn--zz.de", "☃.net", "a\u200db.de", "-bad.de", "com", "exa mple.com", "x" * 64 + ".com"])
def test_invalid_names_are_a_clear_error(typed: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        parse_domain(typed)
