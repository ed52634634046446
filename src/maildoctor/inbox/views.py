"""What the inbox's pages show, built from a report's JSON: the area sections, the summary, the
message as a reader gets it; and the small rules the pages keep (form rate limits, times)."""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

from maildoctor.findings import NOT_ASKED, Severity
from maildoctor.message.parse import parse_message
from maildoctor.render.summary import fix_first, verdict_words

# The page's words for areas whose report title is terse
PAGE_TITLES = {"msg": "Headers and structure", "auth": "What receivers recorded", "mx": "MX (receiving mail)"}
STATE_WORDS = {"pass": "pass", "fail": "fail", "not_checked": "not checked", "unavailable": "unavailable"}


GMAIL_CLIPS_AT = 102 * 1024  # Gmail shows "[Message clipped]" for HTML beyond about 102 KB
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)


def message_view(raw: bytes) -> dict[str, Any]:
    """The message as a reader gets it: the parts, the image/text balance, the size and Gmail's clipping."""
    parsed = parse_message(raw)
    html_bytes = len(parsed.html.encode("utf-8", "replace"))
    words = len((parsed.html_text or parsed.text).split())
    return {
        "has_html": bool(parsed.html),
        "text": parsed.text[:100_000],
        "size": len(raw),
        "html_bytes": html_bytes,
        "clipped": html_bytes > GMAIL_CLIPS_AT,
        "images": parsed.images,
        "remote_images": len(_REMOTE_IMAGE.findall(parsed.html)),
        "words": words,
        "headers": parsed.headers[:300],
    }


class RateLimit:
    """At most `count` events per key within `window` seconds (memory bounded: old keys are dropped)."""

    def __init__(self, count: int, window: float, keys: int = 10_000) -> None:
        self.count, self.window, self.keys = count, window, keys
        self.seen: dict[str, list[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.seen.get(key, []) if now - t < self.window]
        if len(recent) >= self.count:
            self.seen[key] = recent
            return False
        if key not in self.seen and len(self.seen) >= self.keys:
            self.seen.pop(next(iter(self.seen)))
        self.seen[key] = [*recent, now]
        return True


def summary_of(report: dict[str, Any]) -> dict[str, Any]:
    """What a result page opens with: the verdict in words and the fixes worth most."""
    return {"verdict": verdict_words(report["score"], report.get("complete", True)), "first": fix_first(report.get("findings", []))}


CHANGE_WORDS = {"add": "Add", "replace": "Replace", "remove": "Remove"}


def change_rows(fix: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The record changes of a fix document as the page lists them: what to do, the record to
    paste (or the one to delete), what it replaces, and the findings it resolves."""
    rows = []
    for change in (fix or {}).get("changes", {}).get("records", []):
        owner, ttl = f"{change['name']}.", change["ttl"] if change["ttl"] is not None else 3600
        record = f"{owner} {ttl} IN {change['type']} {change['new']}" if change["new"] else f"{owner} IN {change['type']} {change['old']}"
        old = f"{owner} IN {change['type']} {change['old']}" if change["op"] == "replace" else ""
        rows.append({"what": CHANGE_WORDS[change["op"]], "record": record, "old": old, "resolves": change["resolves"]})
    return rows


def iso_time(when: float) -> str:
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def page_sections(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One section per area of the report, in its state (never pass for an area that did not run to
    an answer), with what was verified and the area's findings."""
    findings = report.get("findings", [])
    out = []
    for area in report.get("areas", []):
        if area["state"] == "not_checked" and area["reason"] == NOT_ASKED:
            continue  # what the inbox does not check (a zone file, SMTP probes) needs no section
        mine = [f for f in findings if f.get("area") == area["area"]]
        out.append(
            {
                "title": PAGE_TITLES.get(area["area"], area["title"]),
                "state": area["state"],
                "verdict": STATE_WORDS.get(area["state"], area["state"]),
                "reason": area["reason"],
                "verified": area["verified"],
                "points_lost": area["points_lost"],
                "findings": mine,
            }
        )
    shown = {a["area"] for a in report.get("areas", [])}
    rest = [f for f in findings if f.get("area") not in shown]
    if rest:  # a crash of maildoctor itself, for one
        worst = max(Severity.parse(f["severity"]) for f in rest)
        state = "pass" if worst <= Severity.NOTICE else "fail"
        out.append({"title": "Other", "state": state, "verdict": state, "reason": "", "verified": [], "points_lost": 0, "findings": rest})
    return out
