"""The check catalog carried by the package: every finding id with its severity, meaning, fix and reference.

The project owns it: src/maildoctor/data/checks.json is the source (its first version came from
the shared CHECKS.md); a test checks that every id the code uses is in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    severity: str  # a Severity name, or "per list"/"per score" where the check decides
    what: str
    fix: str
    ref: str
    title: str = ""  # for findings whose title never varies; the others build theirs

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


@cache
def catalog() -> dict[str, CatalogEntry]:
    raw = json.loads(resources.files("maildoctor.data").joinpath("checks.json").read_text("utf-8"))
    return {
        check_id: CatalogEntry(check_id, e["severity"], e["what"], e["fix"], e["ref"], e.get("title", "")) for check_id, e in raw.items()
    }


def entry(check_id: str) -> CatalogEntry:
    try:
        return catalog()[check_id]
    except KeyError:
        raise KeyError(f"finding id {check_id!r} is not in the check catalog") from None
