"""Record changes: the fix of a finding as DNS changes a program can apply. Applied to the example
zone, the changes of its audit make the findings they fix go away."""

from __future__ import annotations

import json
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from maildoctor.records import change
from maildoctor.records.change import RecordChange
from tests.conftest import EXAMPLES
from tests.test_cli import run


def test_a_change_says_what_it_changes() -> None:
    assert change.add("_dmarc.example.org.", 3600, "TXT", '"v=DMARC1; p=none"').zone_lines() == [
        '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=none"'
    ]
    swapped = change.replace("example.org", None, "TXT", '"v=spf1 +all"', '"v=spf1 mx ~all"')
    assert swapped.zone_lines() == ['; remove: example.org. IN TXT "v=spf1 +all"', 'example.org. 3600 IN TXT "v=spf1 mx ~all"']
    assert change.remove("localhost.example.org", "A", "127.0.0.1").to_json() == {
        "op": "remove",
        "name": "localhost.example.org",
        "type": "A",
        "ttl": None,
        "old": "127.0.0.1",
        "new": "",
    }
    for bad in (("move", "", ""), ("add", "old", "new"), ("remove", "", "new"), ("replace", "", "new")):
        with pytest.raises(ValueError):
            RecordChange(bad[0], "example.org", "TXT", 3600, old=bad[1], new=bad[2])


def _apply(zone: dns.zone.Zone, changes: list[dict[str, object]]) -> None:
    for c in changes:
        assert c["op"] in ("add", "replace", "remove"), c  # a zone audit asks for no MTA setting
        name = dns.name.from_text(str(c["name"]), origin=dns.name.root)
        rdtype = dns.rdatatype.from_text(str(c["type"]))
        if c["old"]:
            rdataset = zone.get_rdataset(name, rdtype)
            assert rdataset is not None, f"nothing to {c['op']} at {name} {c['type']}"
            old = dns.rdata.from_text(dns.rdataclass.IN, rdtype, str(c["old"]))
            assert old in rdataset, f"{c['old']} is not at {name}"
            rdataset.discard(old)
            if not rdataset:
                zone.delete_rdataset(name, rdtype)
        if c["new"]:
            rdataset = zone.find_rdataset(name, rdtype, create=True)
            rdataset.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, str(c["new"])), int(c["ttl"] or 3600))


def test_the_changes_of_the_example_audit_fix_what_they_say(tmp_path: Path) -> None:
    source = EXAMPLES / "afspraakmanager.be.zone"
    before = json.loads(run("zone", str(source), "--format", "json").stdout)
    fixed_ids = {f["id"] for f in before["findings"] if f["changes"]}
    assert {"spf.missing", "dmarc.missing", "zone.owner_missing_dot", "zone.localhost_record"} <= fixed_ids
    zone = dns.zone.from_text(source.read_text(), relativize=False, check_origin=False)
    _apply(zone, [c for f in before["findings"] for c in f["changes"]])
    patched = tmp_path / "afspraakmanager.be.zone"
    patched.write_text(zone.to_text(relativize=False))
    after = json.loads(run("zone", str(patched), "--format", "json").stdout)
    assert not fixed_ids & {f["id"] for f in after["findings"]}, [f["id"] for f in after["findings"]]
    assert after["score"] > before["score"]


def test_a_setting_change_is_one_parameter_of_a_known_mta() -> None:
    setting = change.postfix("smtp_tls_security_level", "may")
    assert setting.to_json() == {
        "op": "set",
        "software": "postfix",
        "file": "main.cf",
        "setting": "smtp_tls_security_level",
        "value": "may",
    }
    assert setting.config_line() == "smtp_tls_security_level = may"
    for software, name, value in (("sendmail", "x", "y"), ("postfix", "", "y"), ("postfix", "x", "a\nb")):
        with pytest.raises(ValueError):
            change.SettingChange(software, name, value)
