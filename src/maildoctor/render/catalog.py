"""docs/checks.md from the finding catalog (src/maildoctor/data/checks.json, the source): one table
per area, in the catalog's order. `python -m maildoctor.render.catalog > docs/checks.md` writes it;
a test fails when the two differ."""

from __future__ import annotations

from maildoctor.catalog import CatalogEntry, catalog
from maildoctor.findings import area_title


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def catalog_markdown(entries: dict[str, CatalogEntry] | None = None) -> str:
    entries = catalog() if entries is None else entries
    areas: dict[str, list[CatalogEntry]] = {}
    for entry in entries.values():
        areas.setdefault(entry.area, []).append(entry)
    lines = [
        "# The finding catalog",
        "",
        "Every finding maildoctor reports, by area: its id (stable: scripts may rely on it), its severity,",
        "what it means, what to do and where the rule comes from. Generated from",
        "`src/maildoctor/data/checks.json` by `python -m maildoctor.render.catalog > docs/checks.md`;",
        "`make test` fails when this file and the catalog differ. A new id goes into the catalog first;",
        "a finding whose title never varies takes it from the catalog (shown in italics).",
        "",
        f"{len(entries)} findings in {len(areas)} areas.",
    ]
    for area, found in areas.items():
        lines += ["", f"## {area_title(area)} (`{area}.*`)", "", "| id | severity | meaning | fix | reference |", "|---|---|---|---|---|"]
        lines += [
            f"| `{e.id}` | {e.severity} | {_cell(e.what)}{' (title: *' + _cell(e.title) + '*)' if e.title else ''} | {_cell(e.fix)} | {_cell(e.ref)} |"
            for e in found
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalog_markdown(), end="")
