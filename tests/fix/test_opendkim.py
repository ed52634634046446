"""The keys of `maildoctor dkim keygen`, in use: Debian's OpenDKIM, configured with the KeyTable and
SigningTable lines keygen prints, signs for a private Postfix (keygen's milter lines) that relays
to `maildoctor serve`, which grades the message dkim=pass against the record keygen wrote."""

from __future__ import annotations

import shutil
import smtplib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer
from tests.inbox.conftest import SENDER
from tests.inbox.server import start_inbox
from tests.message.signing import message
from tests.postfix import private_postfix
from tests.processes import free_port, listening, stop, wait_until
from tests.test_cli import run

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"


def printed(output: str, label: str) -> str:
    """The line keygen printed after a label (KeyTable:, SigningTable:)."""
    return next(line.split(label, 1)[1].strip() for line in output.splitlines() if label in line)


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """keygen's output, the key directory, and the zone with the record it wrote. The keys live
    under /run: OpenDKIM refuses a key with a world-writable directory above it (/tmp is one),
    as it should."""
    zone_file = tmp_path / "sender.test.zone"
    zone_file.write_text(SENDER)
    key_dir = Path(tempfile.mkdtemp(prefix="maildoctor-keys-", dir="/run")) / "keys"
    try:
        done = run("dkim", "keygen", "sender.test", "-s", "s2026", "--out", str(key_dir), "--zone", str(zone_file))
        assert done.returncode == 0, done.stderr
        yield done.stdout, key_dir, SENDER + (key_dir / "s2026.txt").read_text()
    finally:
        shutil.rmtree(key_dir.parent, ignore_errors=True)


@pytest.fixture
def opendkim(keys: tuple[str, Path, str], tmp_path: Path) -> Iterator[int]:
    output, key_dir, _ = keys
    assert Path(OPENDKIM).exists(), "opendkim is missing: make test installs Debian's opendkim"
    home = tmp_path / "opendkim"
    home.mkdir()
    (home / "KeyTable").write_text(printed(output, "KeyTable:") + "\n")
    (home / "SigningTable").write_text(printed(output, "SigningTable:") + "\n")
    port = free_port()
    (home / "opendkim.conf").write_text(
        "\n".join(
            [
                "Syslog no",
                "LogWhy yes",
                "Mode s",
                f"Socket inet:{port}@127.0.0.1",
                f"KeyTable file:{home}/KeyTable",
                f"SigningTable refile:{home}/SigningTable",
                "Canonicalization relaxed/simple",
                f"PidFile {home}/opendkim.pid",
            ]
        )
        + "\n"
    )
    log = home / "opendkim.log"
    with log.open("w") as out:
        process = subprocess.Popen([OPENDKIM, "-f", "-v", "-x", str(home / "opendkim.conf")], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(port), process, "opendkim", 20, log.read_text)
        yield port
    finally:
        stop(process)


def test_a_keygen_key_signs_in_postfix_through_opendkim_and_serve_grades_it_pass(
    keys: tuple[str, Path, str], opendkim: int, tmp_path: Path
) -> None:
    output, _, zone = keys
    milter = [
        line.strip() for line in output.splitlines() if line.strip().startswith(("smtpd_milters", "non_smtpd_milters", "milter_default"))
    ]
    assert milter[0] == "smtpd_milters = inet:127.0.0.1:8891"
    milter[0] = f"smtpd_milters = inet:127.0.0.1:{opendkim}"  # the test's OpenDKIM listens on a free port
    with TestDnsServer(ZoneSet([load_zone_text(zone, None)])) as dns:
        inbox = start_inbox(tmp_path / "data", dns.address)
        try:
            with private_postfix(inbox.smtp_port, milter) as (port, log):
                test = inbox.new_test()
                with smtplib.SMTP("127.0.0.1", port, local_hostname="app.sender.test", timeout=10) as client:
                    client.sendmail("bounce@sender.test", [test["address"]], message("alice@sender.test", subject="Signed by OpenDKIM"))
                report = inbox.wait_graded(test["id"], seconds=60)["report"]
        finally:
            inbox.stop()
    dkim = report["facts"]["dkim"]
    assert [(s["d"], s["s"], s["result"]) for s in dkim] == [("sender.test", "s2026", "pass")], (dkim, log.read_text()[-1500:])
    assert report["facts"]["dmarc"]["result"] == "pass"
