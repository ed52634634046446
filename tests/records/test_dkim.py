from hypothesis import given
from hypothesis import strategies as st

from maildoctor.records.dkim import inspect_key, parse_dkim_key
from tests.keys import ed25519_p, rsa_p


def test_tags_flags_and_key() -> None:
    record = parse_dkim_key(f"v=DKIM1; k=rsa; h=sha256:sha1; t=y:s; n=notes here; p={rsa_p()}")
    assert not record.problems
    assert record.hashes == ["sha256", "sha1"] and record.flags == ["y", "s"]
    assert record.key is not None and (record.key.kind, record.key.bits) == ("rsa", 2048)


def test_defaults_when_tags_are_absent() -> None:
    record = parse_dkim_key(f"p={rsa_p()}")
    assert record.key_type == "rsa" and record.hashes == ["sha1", "sha256"] and not record.problems


def test_whitespace_inside_p_is_folding_whitespace() -> None:
    key = rsa_p()
    record = parse_dkim_key(f"v=DKIM1; p={key[:100]} {key[100:]}")
    assert not record.problems and record.public_key == key


def test_pkcs1_rsa_keys_are_read() -> None:
    import base64

    der = base64.b64decode(rsa_p())
    # the PKCS#1 RSAPublicKey is the BIT STRING inside the SubjectPublicKeyInfo (after 24 bytes for 2048-bit keys)
    info, error = inspect_key("rsa", base64.b64encode(der[24:]).decode())
    assert error == "" and info is not None and info.encoding == "pkcs1" and info.bits == 2048


def test_ed25519() -> None:
    assert parse_dkim_key(f"v=DKIM1; k=ed25519; p={ed25519_p()}").key.bits == 256  # type: ignore[union-attr]
    assert parse_dkim_key(f"v=DKIM1; k=ed25519; p={rsa_p()}").problems[0].check_id == "dkim.bad_key"


def test_escaped_record_is_one_problem_and_cleans_up() -> None:
    record = parse_dkim_key(f"v=DKIM1\\; k=rsa\\;   p={rsa_p()}")
    assert {p.check_id for p in record.problems} == {"dkim.record_escaped", "dkim.record_malformed"}
    assert record.cleaned() == f"v=DKIM1; k=rsa; p={rsa_p()}"


def test_revoked_and_missing_p() -> None:
    assert parse_dkim_key("v=DKIM1; p=").revoked
    assert parse_dkim_key("v=DKIM1; k=rsa").problems[0].message.startswith("no p=")


def test_version_must_be_first() -> None:
    assert any("first" in p.message for p in parse_dkim_key(f"k=rsa; v=DKIM1; p={rsa_p()}").problems)


@given(st.text(max_size=300))
def test_any_text_parses_without_exceptions(text: str) -> None:
    record = parse_dkim_key(text)
    for problem in record.problems:
        assert 0 <= problem.position <= len(text) or problem.position == -1
    record.cleaned()


@given(
    st.lists(
        st.sampled_from(
            [
                "v=DKIM1",
                "k=rsa",
                "k=ed25519",
                "p=",
                "p=AAAA",
                "p=!!",
                "h=sha1",
                "t=y",
                "=",
                "x",
                "\\",
                '"',
                "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
            ]
        ),
        max_size=8,
    )
)
def test_tag_soup_never_raises(parts: list[str]) -> None:
    parse_dkim_key(";".join(parts))
