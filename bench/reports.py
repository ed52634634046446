"""Benchmark: DMARC aggregate report ingestion.

    python bench/reports.py                        # 200 reports of 500 records, and one generated 200 MB report
    python bench/reports.py --big-mb 50 --peer parsedmarc

Each run ingests into a fresh SQLite database; the big report is ingested in a child process whose
peak memory is read from the kernel. With --peer parsedmarc, parsedmarc (offline, no DNS) parses
the same small reports, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nsd import print_table  # noqa: E402

RECORD = (
    "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated><disposition>none</disposition>"
    "<dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row><identifiers><header_from>{domain}</header_from>"
    "<envelope_from>{domain}</envelope_from></identifiers><auth_results><dkim><domain>{domain}</domain>"
    "<selector>s{sel}</selector><result>{dkim}</result></dkim><spf><domain>{domain}</domain><result>{spf}</result></spf>"
    "</auth_results></record>\n"
)


def head(org: str, report_id: str, domain: str) -> str:
    return (
        f"<?xml version='1.0'?>\n<feedback><report_metadata><org_name>{org}</org_name><email>noreply@{org}</email>"
        f"<report_id>{report_id}</report_id><date_range><begin>1763000000</begin><end>1763086399</end></date_range>"
        f"</report_metadata><policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p>"
        f"<pct>100</pct></policy_published>\n"
    )


def record(rng: random.Random, domain: str) -> str:
    ok = rng.random() < 0.8
    return RECORD.format(
        ip=f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
        count=rng.randrange(1, 50),
        dkim="pass" if ok else "fail",
        spf="pass" if ok or rng.random() < 0.3 else "fail",
        domain=domain,
        sel=rng.randrange(3),
    )


def write_small(directory: Path, reports: int, records: int) -> int:
    rng = random.Random(7)
    for n in range(reports):
        domain = f"shop{n % 20}.example"
        text = head("google.com", f"small-{n}", domain) + "".join(record(rng, domain) for _ in range(records)) + "</feedback>\n"
        (directory / f"google.com!{domain}!{n}.xml.gz").write_bytes(gzip.compress(text.encode()))
    return reports * records


def write_big(path: Path, megabytes: int) -> int:
    rng = random.Random(11)
    count = 0
    with path.open("w") as out:
        out.write(head("bigreporter.example", "big-1", "big.example"))
        while out.tell() < megabytes << 20:
            out.write("".join(record(rng, "big.example") for _ in range(1000)))
            count += 1000
        out.write("</feedback>\n")
    return count


CHILD = """
import resource, sys, time, json
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from maildoctor.store.database import connect, migrate
from maildoctor.feedback.ingest import ingest
engine = connect(sys.argv[2]); migrate(engine)
started = time.perf_counter()
result = ingest(engine, [Path(sys.argv[1])])
print(json.dumps({"seconds": time.perf_counter() - started, "records": result.records, "rejected": result.rejected,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PEER = """
import json, sys, time
from pathlib import Path
import parsedmarc
files = sorted(Path(sys.argv[1]).iterdir())
started = time.perf_counter()
records = 0
for f in files:
    report = parsedmarc.parse_report_file(str(f), offline=True)
    records += len(report["report"]["records"])
print(json.dumps({"seconds": time.perf_counter() - started, "reports": len(files), "records": records}))
"""


def run_child(script: str, *args: str) -> dict[str, object]:
    import json

    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-1500:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--peer", choices=["parsedmarc"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maildoctor-bench-") as tmp:
        small_dir = Path(tmp) / "small"
        small_dir.mkdir()
        records = write_small(small_dir, args.reports, args.records)
        small = run_child(CHILD, str(small_dir), str(Path(tmp) / "db-small"), str(ROOT / "src"))
        big_path = Path(tmp) / "big.xml"
        big_records = write_big(big_path, args.big_mb)
        size_mb = big_path.stat().st_size / (1 << 20)
        big = run_child(CHILD, str(big_path), str(Path(tmp) / "db-big"), str(ROOT / "src"))
        packed_path = Path(tmp) / "big.xml.gz"  # as large receivers send it: compressed far better than 16:1
        with big_path.open("rb") as plain, gzip.open(packed_path, "wb", compresslevel=6) as packed:
            shutil.copyfileobj(plain, packed, 1 << 20)
        packed_mb = packed_path.stat().st_size / (1 << 20)
        big_gz = run_child(CHILD, str(packed_path), str(Path(tmp) / "db-big-gz"), str(ROOT / "src"))
        if big_gz["records"] != big["records"]:
            raise SystemExit(f"the gzipped big report gave {big_gz['records']} records, the plain one {big['records']}")
        rows = [
            (
                f"{args.reports} reports x {args.records} records (gzip)",
                f"{small['seconds']:.2f} s: {args.reports / small['seconds']:,.0f} reports/s, {records / small['seconds']:,.0f} records/s",
            ),
            (
                f"one {size_mb:.0f} MB report ({big_records:,} records)",
                f"{big['seconds']:.1f} s: {big['records'] / big['seconds']:,.0f} records/s",
            ),
            ("peak memory (RSS) ingesting it", f"{big['peak_mb']:.0f} MB (target < 200 MB)"),
            (
                f"the same report gzipped ({packed_mb:.1f} MB, {size_mb / packed_mb:.0f}:1)",
                f"{big_gz['seconds']:.1f} s: {big_gz['records'] / big_gz['seconds']:,.0f} records/s, all {big_gz['records']:,} records",
            ),
            ("peak memory (RSS) ingesting it gzipped", f"{big_gz['peak_mb']:.0f} MB (target < 200 MB)"),
        ]
        if args.peer == "parsedmarc":
            peer = run_child(PEER, str(small_dir))
            rows += [
                ("parsedmarc (offline), same small reports", f"{peer['seconds']:.2f} s: {args.reports / peer['seconds']:,.1f} reports/s"),
                ("ratio maildoctor / parsedmarc", f"{peer['seconds'] / small['seconds']:.1f}x (maildoctor also stores every record)"),
            ]
    print_table(rows)


if __name__ == "__main__":
    main()
