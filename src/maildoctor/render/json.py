"""The stable JSON form of a report (documented in the README)."""
from __future__ import annotations

import json
from typing import Any

from maildoctor.findings import Report

SCHEMA_VERSION = 1


def document(report: Report) -> dict[str, Any]:
    """The report as the versioned JSON document."""
    return {"schema": SCHEMA_VERSION, **report.to_json()}


def render_json(report: Report, include_queries: bool = True) -> str:
    data = document(report)
    if not include_queries:
        data.pop("queries")
    return json.dumps(data, indent=2, ensure_ascii=False)
