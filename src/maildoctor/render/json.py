"""The stable JSON form of a report (documented in the README)."""
from __future__ import annotations

import json

from maildoctor.findings import Report

SCHEMA_VERSION = 1


def render_json(report: Report, include_queries: bool = True) -> str:
    data = {"schema": SCHEMA_VERSION, **report.to_json()}
    if not include_queries:
        data.pop("queries")
    return json.dumps(data, indent=2, ensure_ascii=False)
