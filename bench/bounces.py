"""Benchmark: bounce and complaint classification on the public bounce corpus (tests/corpora/bounces).

    python bench/bounces.py                     # every file, several rounds
    python bench/bounces.py --peer sisimai      # and Sisimai (Debian libsisimai-perl) on the same files

Prints files/s for maildoctor and for the peer, and how often the two agree on the reason.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nsd import print_table  # noqa: E402

from maildoctor.feedback.bounces import classify  # noqa: E402

CORPUS = ROOT / "tests" / "corpora" / "bounces"
SISIMAI = r"""
use strict; use Sisimai; use Time::HiRes qw(time);
my @files = @ARGV; my $rounds = shift @files;
my $start = time; my $count = 0;
for (1..$rounds) { for my $f (@files) { my $v = Sisimai->make($f); $count++; } }
printf("%.6f %d\n", time - $start, $count);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peer", choices=["sisimai"])
    args = parser.parse_args()
    files = sorted(p for p in CORPUS.glob("*.eml"))
    data = [p.read_bytes() for p in files]
    started = time.perf_counter()
    for _ in range(args.rounds):
        for raw in data:
            classify(raw)
    elapsed = time.perf_counter() - started
    rate = len(data) * args.rounds / elapsed
    rows = [("files", f"{len(files)} ({sum(map(len, data)) >> 10} KB), {args.rounds} rounds"), ("maildoctor", f"{rate:,.0f} files/s")]
    labels = [json.loads(line) for line in (CORPUS / "labels.jsonl").read_text().splitlines()]
    read = [label for label in labels if label["bounce"]]  # the others are DragonFly bounces Sisimai 4.25 cannot read
    reasons = kinds = with_kind = 0
    for label in read:
        found = classify((CORPUS / label["file"]).read_bytes())
        mine = next((b for b in found if b.recipient == label["recipient"].lower()), found[0] if len(found) == 1 else None)
        reasons += bool(mine and mine.reason == label["reason"])
        if label["kind"] in ("hard", "soft"):
            with_kind += 1
            kinds += bool(mine and mine.kind == label["kind"])
    rows += [
        ("agreement with Sisimai's reasons", f"{reasons / len(read):.1%} of {len(read)} recipients"),
        ("agreement on hard/soft", f"{kinds / with_kind:.1%} of {with_kind}"),
    ]
    if args.peer == "sisimai":
        done = subprocess.run(["perl", "-e", SISIMAI, str(args.rounds), *map(str, files)], capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"Sisimai failed (apt-get install libsisimai-perl): {done.stderr[-500:]}")
        seconds, count = done.stdout.split()
        peer = int(count) / float(seconds)
        rows += [("Sisimai (Perl)", f"{peer:,.0f} files/s"), ("ratio maildoctor / Sisimai", f"{rate / peer:.1f}x")]
    print_table(rows)


if __name__ == "__main__":
    main()
