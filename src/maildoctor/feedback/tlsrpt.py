"""SMTP TLS reports (RFC 8460 §4): the JSON document, validated, per policy its counts and failures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from maildoctor.feedback.aggregate import ReportError

MAX_JSON = 64 << 20


@dataclass
class TlsPolicyResult:
    policy_type: str  # sts, tlsa, no-policy-found
    policy_domain: str
    successes: int
    failures: int
    details: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TlsReport:
    org: str
    report_id: str
    begin: float
    end: float
    policies: list[TlsPolicyResult]


def _time(text: object, name: str) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ReportError(f"{name}: date-range {text!r} is not an RFC 3339 time") from None


def parse_tlsrpt(stream: IO[bytes], name: str = "report") -> TlsReport:
    data = stream.read(MAX_JSON + 1)
    if len(data) > MAX_JSON:
        raise ReportError(f"{name}: larger than {MAX_JSON >> 20} MB")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"{name}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or "policies" not in document:
        raise ReportError(f"{name}: not an SMTP TLS report (no 'policies')")
    dates = document.get("date-range") or {}
    org, report_id = str(document.get("organization-name", "")), str(document.get("report-id", ""))
    if not org or not report_id or not isinstance(dates, dict):
        raise ReportError(f"{name}: organization-name, report-id and date-range are required")
    policies = []
    for entry in document["policies"] if isinstance(document["policies"], list) else []:
        policy, summary = entry.get("policy") or {}, entry.get("summary") or {}
        try:
            policies.append(
                TlsPolicyResult(
                    str(policy.get("policy-type", "")),
                    str(policy.get("policy-domain", "")).lower(),
                    int(summary.get("total-successful-session-count", 0)),
                    int(summary.get("total-failure-session-count", 0)),
                    [d for d in entry.get("failure-details") or [] if isinstance(d, dict)],
                )
            )
        except (TypeError, ValueError, AttributeError):
            raise ReportError(f"{name}: a policy entry's counts are not numbers") from None
    return TlsReport(org, report_id, _time(dates.get("start-datetime"), name), _time(dates.get("end-datetime"), name), policies)
