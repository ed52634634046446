"""The summary a report opens with, in every front end: a verdict in words, and the fixes worth
the most points first."""

from __future__ import annotations

from typing import Any

from maildoctor.findings import DEDUCTION, Severity

FIRST_FIXES = 3


def verdict_words(score: float, complete: bool) -> str:
    """What the score means for the mail, in a few words."""
    if not complete:
        return "Not the whole story: some areas could not be checked"
    if score >= 9:
        return "Well set up: receivers have no reason to distrust this mail"
    if score >= 7:
        return "Good, with a few things worth fixing"
    if score >= 5:
        return "Likely to land in spam at some receivers"
    return "Likely to be junked or rejected by the large receivers"


def fix_first(findings: list[dict[str, Any]], count: int = FIRST_FIXES) -> list[dict[str, Any]]:
    """The findings whose fix is worth the most points, each with the records of its fix (the lines
    a user pastes) apart; a fix that points to another finding's records is not repeated."""
    worth = sorted(
        (f for f in findings if f.get("fix") and "are those of the fix of" not in f["fix"]),
        key=lambda f: -DEDUCTION[Severity.parse(f["severity"])],
    )
    first = []
    for finding in worth:
        points = DEDUCTION[Severity.parse(finding["severity"])]
        if points <= 0:
            break
        lines = finding["fix"].splitlines()
        records = [line.strip() for line in lines if line.startswith("  ")]
        words = " ".join(line.strip() for line in lines if not line.startswith("  "))
        first.append({"id": finding["id"], "title": finding["title"], "points": points, "words": words, "records": records})
        if len(first) == count:
            break
    return first
