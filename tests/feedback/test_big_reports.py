"""A 200 MB aggregate report of a million records, as large receivers send it: gzipped and zipped
at far better than 16:1. Each is ingested in a child process whose peak memory is measured: it
must stay under 200 MB, and every record and message must be counted."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

RECORDS = 1_000_000
# about 200 bytes per record: the minimum RFC 7489 asks of one
RECORD = (
    "<record><row><source_ip>198.51.{a}.{b}</source_ip><count>{count}</count><policy_evaluated><disposition>none"
    "</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>big.example"
    "</header_from></identifiers><auth_results><spf><domain>big.example</domain><result>fail</result></spf></auth_results>"
    "</record>\n"
)
HEAD = (
    "<?xml version='1.0'?>\n<feedback><report_metadata><org_name>bigreporter.example</org_name><email>noreply@bigreporter.example"
    "</email><report_id>{report_id}</report_id><date_range><begin>1763000000</begin><end>1763086399</end></date_range>"
    "</report_metadata><policy_published><domain>big.example</domain><p>none</p></policy_published>\n"
)
CHILD = """
import json, resource, sys
from pathlib import Path
from sqlalchemy import func, select
from maildoctor.feedback.ingest import ingest
from maildoctor.store.database import connect, dmarc_records, migrate
engine = connect(sys.argv[2]); migrate(engine)
result = ingest(engine, [Path(sys.argv[1])])
with engine.connect() as conn:
    messages = conn.execute(select(func.sum(dmarc_records.c.count))).scalar()
print(json.dumps({"records": result.records, "messages": messages, "rejected": result.rejected,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def report_chunks(report_id: str) -> Iterator[tuple[bytes, int]]:
    """The report in pieces of 10,000 records, each with the messages it holds."""
    yield HEAD.format(report_id=report_id).encode(), 0
    for start in range(0, RECORDS, 10_000):
        counts = [1 + (n % 7) for n in range(start, start + 10_000)]
        yield (
            "".join(RECORD.format(a=(n >> 8) & 255, b=n & 255, count=c) for n, c in zip(range(start, start + 10_000), counts)).encode(),
            sum(counts),
        )
    yield b"</feedback>\n", 0


def ingested(path: Path, database: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(database)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("packing", ["gzip", "zip"])
def test_a_million_records_packed_far_better_than_16_to_1(tmp_path: Path, packing: str, capsys: pytest.CaptureFixture[str]) -> None:
    packed = tmp_path / ("big.xml.gz" if packing == "gzip" else "big.zip")
    size = messages = 0
    if packing == "gzip":
        with gzip.open(packed, "wb", compresslevel=6) as out:
            for chunk, count in report_chunks("big-gzip"):
                out.write(chunk)
                size, messages = size + len(chunk), messages + count
    else:
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("big.xml", "w", force_zip64=True) as out:
            for chunk, count in report_chunks("big-zip"):
                out.write(chunk)
                size, messages = size + len(chunk), messages + count
    assert size > 200 << 20 and size / packed.stat().st_size > 16  # the case that was corrupted
    found = ingested(packed, tmp_path / "db")
    assert found["rejected"] == [] and found["records"] == RECORDS and found["messages"] == messages
    with capsys.disabled():
        print(
            f"\n{packing}: {size >> 20} MB report, {size / packed.stat().st_size:.0f}:1, {RECORDS:,} records,"
            f" peak {found['peak_mb']:.0f} MB ingesting it"
        )
    assert found["peak_mb"] < 200, f"peak {found['peak_mb']:.0f} MB"
