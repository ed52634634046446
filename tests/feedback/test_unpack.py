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
