"""A zone with nothing to fix, and one broken copy of it per finding that `maildoctor fix` can fix."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.checks.common import quote_txt
from tests.keys import rsa_p

ORIGIN = "fixme.test"


def good_lines() -> dict[str, str]:
    """The zone's records by role; a broken zone replaces or drops some of them."""
    return {
        "soa": "@ IN SOA ns1.fixme.test. hostmaster.fixme.test. ( 2026010101 7200 3600 1209600 3600 )",
        "ns": "@ IN NS ns1",
        "ns_a": "ns1 IN A 192.0.2.53",
        "mx": "@ IN MX 10 mail",
        "mail_a": "mail IN A 192.0.2.25",
        "mail_aaaa": "mail IN AAAA 2001:db8::25",
        "spf": '@ IN TXT "v=spf1 mx -all"',
        "dmarc": '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@fixme.test"',
        "mtasts": '_mta-sts IN TXT "v=STSv1; id=2026010101"',
        "tlsrpt": '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@fixme.test"',
        "dkim": "$DKIM IN TXT " + quote_txt("v=DKIM1; k=rsa; p=" + rsa_p()),
    }


@dataclass(frozen=True)
class Broken:
    finding: str
    lines: dict[str, str | None]  # role -> its broken line (None: left out); new roles are added
    ips: list[str] = field(default_factory=list)


def _key() -> str:
    return rsa_p()


BROKEN = [
    Broken("spf.missing", {"spf": None}),
    Broken("spf.multiple_records", {"spf2": '@ IN TXT "v=spf1 a -all"'}),
    Broken("spf.plus_all", {"spf": '@ IN TXT "v=spf1 mx +all"'}),
    Broken("spf.no_all", {"spf": '@ IN TXT "v=spf1 mx"'}),
    Broken("spf.ptr_mechanism", {"spf": '@ IN TXT "v=spf1 mx ptr -all"'}),
    Broken("spf.neutral_all", {"spf": '@ IN TXT "v=spf1 mx ?all"'}),
    Broken("spf.ip_not_authorized", {}, ips=["198.51.100.7"]),
    Broken("dmarc.missing", {"dmarc": None}),
    Broken("dmarc.policy_none", {"dmarc": '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@fixme.test"'}),
    Broken("dmarc.no_rua", {"dmarc": '_dmarc IN TXT "v=DMARC1; p=reject"'}),
    Broken("dmarc.unknown_tag", {"dmarc": '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@fixme.test; foo=bar"'}),
    Broken("mtasts.missing", {"mtasts": None}),
    Broken("mtasts.txt_invalid", {"mtasts": '_mta-sts IN TXT "v=STSv1"'}),
    Broken("tlsrpt.missing", {"tlsrpt": None}),
    Broken("zone.localhost_record", {"localhost": "localhost IN A 127.0.0.1"}),
    Broken("zone.owner_missing_dot", {"www": "fixme.test IN A 192.0.2.80"}),
    Broken("dkim.testing_mode", {"dkim": "$DKIM IN TXT " + quote_txt("v=DKIM1; t=y; k=rsa; p=" + _key())}),
    Broken("dkim.record_escaped", {"dkim": "$DKIM IN TXT " + quote_txt("v=DKIM1\\; k=rsa\\; p=" + _key())}),
    Broken("mx.cname", {"mx": "@ IN MX 10 mx", "mx_cname": "mx IN CNAME mail"}),
    Broken("mx.null_with_others", {"null_mx": "@ IN MX 0 ."}),
]


def zone_text(lines: dict[str, str | None], selector: str = "s1") -> str:
    body = [line.replace("$DKIM", f"{selector}._domainkey") for line in lines.values() if line is not None]
    return f"$ORIGIN {ORIGIN}.\n$TTL 3600\n" + "\n".join(body) + "\n"


def broken_zone(broken: Broken) -> str:
    return zone_text({**good_lines(), **broken.lines})
