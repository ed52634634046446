"""Regenerate src/maildoctor/data/checks.json from the shared check catalog (CHECKS.md).

Run from the repository root: python tools/import_catalog.py [../shared/CHECKS.md]
Entries that exist only in the package data (rules the shared catalog still lacks) are kept.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src/maildoctor/data/checks.json"


def parse_catalog(text: str) -> dict[str, dict[str, str]]:
    entries: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or "." not in cells[0] or cells[0].startswith("-") or cells[0] == "id":
            continue
        check_id, severity, what, fix, ref = cells
        entries[check_id] = {"severity": severity, "what": what, "fix": fix, "ref": ref}
    return entries


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/CHECKS.md")
    shared = parse_catalog(source.read_text(encoding="utf-8"))
    current = json.loads(DATA.read_text(encoding="utf-8")) if DATA.exists() else {}
    local_only = {k: v for k, v in current.items() if k not in shared and v.get("local")}
    merged = {**shared, **local_only}
    DATA.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(shared)} shared ids, {len(local_only)} local-only ids -> {DATA}")


if __name__ == "__main__":
    main()
