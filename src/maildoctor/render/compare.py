"""What changed between two grades of the same test address: the answer to "did my change fix it?"."""

from __future__ import annotations

from typing import Any


def compare_reports(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Findings gone, new and changed (same id, another severity or title), and areas whose state changed."""
    old = {f["id"]: f for f in before.get("findings", [])}
    new = {f["id"]: f for f in after.get("findings", [])}
    changed = [
        {
            "id": i,
            "before": {"severity": old[i]["severity"], "title": old[i]["title"]},
            "after": {"severity": new[i]["severity"], "title": new[i]["title"]},
        }
        for i in old.keys() & new.keys()
        if (old[i]["severity"], old[i]["title"]) != (new[i]["severity"], new[i]["title"])
    ]
    old_areas = {a["area"]: a for a in before.get("areas", [])}
    areas = [
        {"area": a["area"], "title": a["title"], "before": old_areas[a["area"]]["state"], "after": a["state"]}
        for a in after.get("areas", [])
        if a["area"] in old_areas and old_areas[a["area"]]["state"] != a["state"]
    ]
    return {
        "score": {"before": before.get("score"), "after": after.get("score")},
        "gone": [old[i] for i in sorted(old.keys() - new.keys())],
        "new": [new[i] for i in sorted(new.keys() - old.keys())],
        "changed": sorted(changed, key=lambda c: c["id"]),
        "areas": areas,
    }
