"""maildoctor fix --apply nsupdate: the change set sent to a real BIND (TSIG), and the domain
audited again at it; the fixed zone written with --write."""

from __future__ import annotations

import json
from pathlib import Path

from maildoctor.render.json import SCHEMA_VERSION
from tests.bind import bind_primary
from tests.fix.broken_zones import BROKEN, ORIGIN, broken_zone
from tests.render.test_json_schema import validate
from tests.test_cli import run

NO_DMARC = next(b for b in BROKEN if b.finding == "dmarc.missing")


def test_apply_sends_the_update_and_audits_again(tmp_path: Path) -> None:
    with bind_primary(tmp_path / "bind", ORIGIN, broken_zone(NO_DMARC)) as bind:
        server = f"127.0.0.1:{bind.port}"
        done = run(
            "fix", ORIGIN, "--nameserver", server, "--apply", "nsupdate", "--server", server,
            "--tsig-key", str(bind.key_file), "--format", "json", "--allow-incomplete",
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        document = json.loads(done.stdout)
        assert document["schema"] == SCHEMA_VERSION and document["verified"] and "dmarc.missing" in document["resolved"]
        validate(document, "fix")
        again = json.loads(run("check", ORIGIN, "--nameserver", server, "--format", "json", "--allow-incomplete").stdout)
        assert "dmarc.missing" not in {f["id"] for f in again["findings"]}


def test_a_refused_update_is_a_clear_error(tmp_path: Path) -> None:
    with bind_primary(tmp_path / "bind", ORIGIN, broken_zone(NO_DMARC)) as bind:
        other = tmp_path / "other.key"
        other.write_text('key "maildoctor-fix" { algorithm hmac-sha256; secret "c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBrZXk="; };\n')
        server = f"127.0.0.1:{bind.port}"
        done = run("fix", ORIGIN, "--nameserver", server, "--apply", "nsupdate", "--server", server, "--tsig-key", str(other))
        assert done.returncode == 2 and done.stderr.startswith("maildoctor: error: ") and "Traceback" not in done.stderr


def test_write_gives_the_fixed_zone_and_patch_the_diff(tmp_path: Path) -> None:
    broken = tmp_path / f"{ORIGIN}.zone"
    broken.write_text(broken_zone(NO_DMARC))
    fixed = tmp_path / "fixed.zone"
    done = run("fix", "--zone", str(broken), "--write", str(fixed))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verified" in done.stdout and f"Wrote {fixed}" in done.stdout and "_dmarc" in fixed.read_text()
    after = json.loads(run("zone", str(fixed), "--format", "json").stdout)
    assert "dmarc.missing" not in {f["id"] for f in after["findings"]}
    diff = run("fix", "--zone", str(broken), "--format", "patch").stdout
    assert diff.startswith(f"--- a/{ORIGIN}.zone\n+++ b/{ORIGIN}.zone\n") and "+_dmarc\t3600\tIN\tTXT" in diff
    document = json.loads(run("fix", "--zone", str(broken), "--format", "json").stdout)
    validate(document, "fix")
    assert document["verified"] and document["new_problems"] == [] and document["serial"][0] == 2026010101


def test_fix_needs_a_domain_or_a_zone() -> None:
    done = run("fix")
    assert done.returncode == 2 and "give a DOMAIN" in done.stderr
