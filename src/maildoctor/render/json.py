"""The stable JSON form of a report (documented in the README)."""

from __future__ import annotations

import json
from typing import Any

from maildoctor.findings import Report

# 2: "complete", "incomplete", "score_text" and "runs" added; a finding may carry "folded";
#    outcome "malformed" in queries.
# 3: "areas" (each area's state, points lost and what was verified), a finding's "area", run state "partial".
SCHEMA_VERSION = 4


def document(report: Report, verbose: bool = False) -> dict[str, Any]:
    """The report as the versioned JSON document (with a crash's traceback when verbose)."""
    return {"schema": SCHEMA_VERSION, **report.to_json(verbose)}


def render_json(report: Report, include_queries: bool = True, verbose: bool = False) -> str:
    data = document(report, verbose)
    if not include_queries:
        data.pop("queries")
    return json.dumps(data, indent=2, ensure_ascii=False)


# What a command's own document carries of its report besides its own fields.
REPORT_KEYS = ("score", "complete", "incomplete", "score_text", "areas", "findings", "runs", "queries")


def command_document(report: Report, verbose: bool = False, **fields: Any) -> dict[str, Any]:
    """The document of a command with fields of its own (spf: the tree, dkim: the keys, ...):
    the schema version, those fields, then the report's verdict, areas, findings, runs, queries."""
    data = report.to_json(verbose)
    return {"schema": SCHEMA_VERSION, **fields, **{key: data[key] for key in REPORT_KEYS}}


def versioned(data: dict[str, Any]) -> dict[str, Any]:
    """A document that is not a report (ingest results, suppressions, bounces), with the schema version."""
    return {"schema": SCHEMA_VERSION, **data}


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
