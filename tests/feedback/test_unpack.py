"""Report containers: gzip and zip read as streams, exactly, whatever the compression ratio."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

from maildoctor.feedback.aggregate import AggregateRecord, parse_aggregate
from maildoctor.feedback.unpack import unpack
from tests.feedback.test_aggregate import META, record


def report(records: int) -> bytes:
    return (f"<?xml version='1.0'?><feedback>{META}" + "".join(record(n % 50 + 1) for n in range(records)) + "</feedback>").encode()


def test_a_gzip_that_compresses_better_than_16_to_1_is_read_whole() -> None:
    data = report(3000)  # about 1.1 MB, compressing some 25:1 as large receivers' reports do
    packed = gzip.compress(data, 9)
    assert len(data) > 1 << 20 and len(data) / len(packed) > 16
    [document] = list(unpack("big.xml.gz", io.BytesIO(packed)))
    assert document.stream.read() == data
    [document] = list(unpack("big.xml.gz", io.BytesIO(packed)))
    assert sum(1 for item in parse_aggregate(document.stream, "big.xml") if isinstance(item, AggregateRecord)) == 3000


def test_a_very_high_ratio_gzip_and_zip_come_out_byte_for_byte() -> None:
    data = b"<x>" + b" " * (40 << 20) + b"</x>"  # 40 MB that compresses about 1000:1
    digest = hashlib.sha256(data).hexdigest()
    packed = gzip.compress(data, 6)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.xml", data)
    for name, blob in (("r.xml.gz", packed), ("r.zip", zipped.getvalue())):
        [document] = list(unpack(name, io.BytesIO(blob)))
        hasher, size = hashlib.sha256(), 0
        while chunk := document.stream.read(1 << 16):
            hasher.update(chunk)
            size += len(chunk)
        assert size == len(data) and hasher.hexdigest() == digest, name


BOMB = """
import io, sys, zipfile
sys.path.insert(0, sys.argv[1])
from maildoctor.feedback.aggregate import ReportError, parse_aggregate
from maildoctor.feedback.unpack import unpack

class Spaces(io.RawIOBase):  # 300 MiB of whitespace after the root's start tag, never held whole
    def __init__(self, prefix, size):
        self.prefix, self.left = prefix, size
    def readable(self):
        return True
    def readinto(self, buffer):
        if self.prefix:
            n = min(len(buffer), len(self.prefix)); buffer[:n] = self.prefix[:n]; self.prefix = self.prefix[n:]; return n
        n = min(len(buffer), self.left); buffer[:n] = b" " * n; self.left -= n; return n

outcome = []
for where in ("text", "tag"):
    prefix = b"<?xml version='1.0'?><feedback>" if where == "text" else b"<?xml version='1.0'?><feedback "
    try:
        list(parse_aggregate(io.BufferedReader(Spaces(prefix, 300 << 20)), "bomb.xml"))
        outcome.append("parsed")
    except ReportError as exc:
        outcome.append(str(exc))
zipped = io.BytesIO()
with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
    with archive.open("bomb.xml", "w") as member:
        member.write(b"<?xml version='1.0'?><feedback>")
        for _ in range(1000):
            member.write(b" " * (1 << 20))  # 1,000 MiB of spaces
        member.write(b"</feedback>")
for document in unpack("bomb.zip", io.BytesIO(zipped.getvalue())):
    try:
        list(parse_aggregate(document.stream, document.name))
        outcome.append("parsed")
    except ReportError as exc:
        outcome.append(str(exc))
# VmHWM: this program's own peak (ru_maxrss would carry the parent's across fork and exec)
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) // 1024)
print("\\n".join(outcome))
"""


def test_whitespace_bombs_are_refused_by_rule_in_bounded_memory() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-c", BOMB, str(ROOT / "src")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak_mb, *outcomes = done.stdout.splitlines()
    assert len(outcomes) == 3 and all("more than 1 MB of text without markup" in o for o in outcomes), outcomes
    assert int(peak_mb) < 150  # the zip alone is a 1 MB file; nothing grows with the bomb
