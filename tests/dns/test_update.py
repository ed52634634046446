"""Dynamic updates (RFC 2136) signed with TSIG, sent to a private BIND on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.update import TsigKey, UpdateError, read_tsig_key, send_update
from maildoctor.records import change
from tests.bind import bind_primary

ZONE = """$ORIGIN upd.test.
$TTL 300
@ IN SOA ns.upd.test. h.upd.test. 1 7200 3600 1209600 300
@ IN NS ns
ns IN A 127.0.0.1
@ IN TXT "v=spf1 -all"
"""


def txt(port: int, name: str) -> list[str]:
    async def ask() -> list[str]:
        resolver = LiveResolver([Nameserver.parse(f"127.0.0.1:{port}")], timeout=2)
        try:
            return (await resolver.query(name, "TXT")).texts()
        finally:
            resolver.close()

    return asyncio.run(ask())


def test_a_signed_update_changes_the_zone(tmp_path: Path) -> None:
    with bind_primary(tmp_path / "bind", "upd.test", ZONE) as bind:
        key = read_tsig_key(bind.key_file)
        assert key.algorithm == "hmac-sha256" and key.name == "maildoctor-fix"
        changes = [
            change.replace("upd.test", None, "TXT", '"v=spf1 -all"', '"v=spf1 ip4:192.0.2.7 -all"'),
            change.add("_dmarc.upd.test", 300, "TXT", '"v=DMARC1; p=none; rua=mailto:d@upd.test"'),
        ]
        send_update("upd.test", changes, "127.0.0.1", bind.port, key)
        assert txt(bind.port, "upd.test") == ["v=spf1 ip4:192.0.2.7 -all"]
        assert txt(bind.port, "_dmarc.upd.test") == ["v=DMARC1; p=none; rua=mailto:d@upd.test"]


def test_an_update_without_the_right_key_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    with bind_primary(tmp_path / "bind", "upd.test", ZONE) as bind:
        wrong = TsigKey("maildoctor-fix", "hmac-sha256", "c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBrZXk=")
        with pytest.raises(UpdateError, match="refused the update|failed"):
            send_update("upd.test", [change.add("x.upd.test", 300, "TXT", '"x"')], "127.0.0.1", bind.port, wrong)
        with pytest.raises(UpdateError, match="REFUSED"):
            send_update("upd.test", [change.add("x.upd.test", 300, "TXT", '"x"')], "127.0.0.1", bind.port, None)
        assert txt(bind.port, "x.upd.test") == []


def test_a_key_file_that_is_not_one_is_said_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("secret = nope\n")
    with pytest.raises(UpdateError, match="not a BIND key file"):
        read_tsig_key(bad)
