"""Each big provider's sender rules, checked: a matrix of pass / fail / unknown per rule, from the
domain's audit and, given one, a sample message (its SPF, DKIM and DMARC results, its one-click
unsubscribe). A rule nothing here could check is unknown, never a pass; a bulk rule does not apply
under the provider's bulk volume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maildoctor.data import load_json
from maildoctor.findings import Report
from maildoctor.message.facts import MessageFacts
from maildoctor.probes.links import OneClick

PASS, FAIL, UNKNOWN, NOT_APPLICABLE = "pass", "fail", "unknown", "not_applicable"


def sender_rules() -> dict[str, Any]:
    return load_json("sender_rules.json")


@dataclass(frozen=True)
class RuleResult:
    provider: str
    check: str
    state: str
    words: str  # the provider's requirement
    code: str  # its rejection code, where published
    evidence: str

    def to_json(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "check": self.check,
            "state": self.state,
            "words": self.words,
            "code": self.code,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Evidence:
    """What the audit and the message say, reduced to what the rules ask."""

    audit: Report
    message: MessageFacts | None
    ip_given: bool
    one_click: OneClick | None = None  # the POST made with --probe

    def ids(self) -> set[str]:
        return {f.id for f in self.audit.findings}

    def check(self, name: str) -> tuple[str, str]:
        return getattr(self, f"_{name}")()

    def _spf_pass(self) -> tuple[str, str]:
        if self.message is not None and self.message.spf is not None:
            result = self.message.spf.result.value
            return (PASS if result == "pass" else FAIL), f"the message: SPF {result}"
        if "spf.missing" in self.ids():
            return FAIL, "the domain publishes no SPF record"
        return UNKNOWN, "no message given: SPF of a real delivery not checked"

    def _dkim_pass(self) -> tuple[str, str]:
        if self.message is not None and self.message.dkim is not None:
            passing = [s.domain for s in self.message.dkim if s.result == "pass"]
            return (PASS, f"the message: DKIM pass for d={passing[0]}") if passing else (FAIL, "the message: no DKIM signature passes")
        return UNKNOWN, "no message given: no signature to verify"

    def _spf_or_dkim(self) -> tuple[str, str]:
        spf, dkim = self._spf_pass(), self._dkim_pass()
        if PASS in (spf[0], dkim[0]):
            return PASS, spf[1] if spf[0] == PASS else dkim[1]
        if spf[0] == FAIL and dkim[0] == FAIL:
            return FAIL, f"{spf[1]}; {dkim[1]}"
        return UNKNOWN, f"{spf[1]}; {dkim[1]}"

    def _spf_and_dkim(self) -> tuple[str, str]:
        spf, dkim = self._spf_pass(), self._dkim_pass()
        if FAIL in (spf[0], dkim[0]):
            return FAIL, f"{spf[1]}; {dkim[1]}"
        return (PASS if spf[0] == dkim[0] == PASS else UNKNOWN), f"{spf[1]}; {dkim[1]}"

    def _dkim_aligned(self) -> tuple[str, str]:
        verdict = self.message.dmarc if self.message is not None else None
        if verdict is None:
            return UNKNOWN, "no message given"
        aligned = [i for i in verdict.identifiers if i.mechanism == "dkim" and i.counts]
        return (
            (PASS, f"DKIM pass for {aligned[0].domain}, aligned with From")
            if aligned
            else (FAIL, "no passing DKIM signature aligned with From")
        )

    def _dmarc_record(self) -> tuple[str, str]:
        if "dmarc.missing" in self.ids():
            return FAIL, "the domain publishes no DMARC record"
        area = next((a for a in self.audit.areas() if a.area == "dmarc"), None)
        if area is None or area.state in ("unavailable", "not_checked"):
            return UNKNOWN, "the DMARC record could not be read"
        return PASS, next((line for line in area.verified if line.startswith("record")), "a DMARC record is published")

    def _dmarc_aligned(self) -> tuple[str, str]:
        record = self._dmarc_record()
        if record[0] == FAIL:
            return record
        verdict = self.message.dmarc if self.message is not None else None
        if verdict is None:
            return UNKNOWN, "no message given: alignment not checked"
        return (PASS if verdict.passed else FAIL), f"the message: DMARC {'pass' if verdict.passed else 'fail'} for {verdict.from_domain}"

    def _ptr(self) -> tuple[str, str]:
        if not self.ip_given:
            return UNKNOWN, "no sending IP given"
        broken = self.ids() & {"rdns.ptr_missing", "rdns.fcrdns_mismatch"}
        area = next((a for a in self.audit.areas() if a.area == "rdns"), None)
        if broken:
            return FAIL, ", ".join(sorted(broken))
        if area is None or area.state != "pass":
            return UNKNOWN, area.reason if area else "not checked"
        return PASS, "; ".join(area.verified[:1])

    def _tls(self) -> tuple[str, str]:
        received = self.message.received if self.message is not None else None
        if received is None or received.pasted:
            return UNKNOWN, "how the message travelled is not known from the message alone"
        return (PASS, f"delivered over {received.tls_cipher or 'TLS'}") if received.tls else (FAIL, "delivered without TLS")

    def _one_click(self) -> tuple[str, str]:
        if self.message is None or self.message.dkim is None:
            return UNKNOWN, "no message given"
        headers = self.message.list_unsubscribe or {}
        if not headers.get("list-unsubscribe"):
            return FAIL, "no List-Unsubscribe header"
        if "https://" not in headers["list-unsubscribe"]:
            return FAIL, "List-Unsubscribe has no HTTPS URL (RFC 8058 needs one)"
        if "list-unsubscribe=one-click" not in headers.get("list-unsubscribe-post", "").lower().replace(" ", ""):
            return FAIL, "no List-Unsubscribe-Post: List-Unsubscribe=One-Click"
        signed = [
            s for s in self.message.dkim if s.result == "pass" and {"list-unsubscribe", "list-unsubscribe-post"} <= set(s.signed_headers)
        ]
        if not signed:
            return FAIL, "no passing DKIM signature covers both List-Unsubscribe headers"
        if not self.message.unsubscribe_link:
            return FAIL, "one-click is set, but the body shows no unsubscribe link"
        if self.one_click is not None and not self.one_click.works:
            return FAIL, f"the one-click POST to {self.one_click.url} failed: {self.one_click.error or f'HTTP {self.one_click.status}'}"
        posted = f"; the POST got HTTP {self.one_click.status}" if self.one_click is not None else ""
        return PASS, f"one-click unsubscribe, signed by d={signed[0].domain}, and a link in the body{posted}"


def one_click_url(message: Report) -> str:
    """The HTTPS URL of the message's List-Unsubscribe header, or ''."""
    facts = message.facts if isinstance(message.facts, MessageFacts) else None
    header = (facts.list_unsubscribe or {}).get("list-unsubscribe", "") if facts is not None else ""
    return next((part.strip().strip("<>") for part in header.split(",") if part.strip().strip("<>").startswith("https://")), "")


def compliance(
    audit: Report, message: Report | None, daily_volume: int | None, ip_given: bool, one_click: OneClick | None = None
) -> list[RuleResult]:
    facts = message.facts if message is not None and isinstance(message.facts, MessageFacts) else None
    evidence = Evidence(audit, facts, ip_given, one_click)
    out = []
    for provider, entry in sender_rules()["providers"].items():
        bulk = entry["bulk_per_day"]
        for rule in entry["rules"]:
            if rule["scope"] == "bulk" and daily_volume is not None and daily_volume < bulk:
                state, why = NOT_APPLICABLE, f"under {bulk:,} messages a day to {provider}"
            else:
                state, why = evidence.check(rule["check"])
            out.append(RuleResult(provider, rule["check"], state, rule["words"], rule["code"], why))
    return out
