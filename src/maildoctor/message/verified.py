"""What a message's own evaluation checked, area by area: the run of each part (so that an area
that could not be evaluated never reads as passed) and the lines saying what was verified."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.dmarc.alignment import DmarcVerdict
from maildoctor.dmarc.discovery import DmarcDiscovery
from maildoctor.dns.zonedata import OUTSIDE_ZONES
from maildoctor.findings import PARTIAL, RAN, SKIPPED, UNAVAILABLE, CheckRun
from maildoctor.message.authfindings import Recorded
from maildoctor.message.authresults import AuthResults
from maildoctor.message.connection import Connection
from maildoctor.message.parse import ParsedMessage
from maildoctor.message.signatures import SignatureCheck
from maildoctor.probes.contentengines import EngineResult
from maildoctor.records.dkim import parse_dkim_key
from maildoctor.spf.evaluator import SpfEvaluation, SpfResult

UNSUBSCRIBE_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")


@dataclass
class MessageChecks:
    """The runs of the message's own evaluation and what each verified, per area."""

    runs: list[CheckRun] = field(default_factory=list)
    verified: dict[str, list[str]] = field(default_factory=dict)

    def ran(self, area: str, check: str, lines: list[str], state: str = RAN, reason: str = "") -> None:
        self.runs.append(CheckRun(area, check, state, reason))
        self.verified.setdefault(area, []).extend(lines)

    def skipped(self, area: str, check: str, reason: str) -> None:
        self.runs.append(CheckRun(area, check, SKIPPED, reason))


def message_checks(
    message: ParsedMessage,
    connection: Connection,
    spf: SpfEvaluation | None,
    recorded: Recorded,
    signatures: list[SignatureCheck],
    dmarc_found: DmarcDiscovery | None,
    verdict: DmarcVerdict | None,
    engines: list[EngineResult],
    tls: str | None,
    results: list[AuthResults],
) -> MessageChecks:
    checks = MessageChecks()
    _spf(checks, connection, spf, recorded)
    _dkim(checks, message, signatures)
    _dmarc(checks, dmarc_found, verdict)
    _recorded(checks, results)
    _structure(checks, message)
    _content(checks, message, engines)
    _tls(checks, tls)
    return checks


def _spf(checks: MessageChecks, connection: Connection, spf: SpfEvaluation | None, recorded: Recorded) -> None:
    if spf is not None:
        sender = connection.mail_from or f"HELO {connection.helo}"
        line = f"{spf.summary(connection.ip)} (envelope sender {sender})"
        state = UNAVAILABLE if spf.result is SpfResult.TEMPERROR else RAN
        checks.ran("spf", "message_spf", [line], state, spf.reason if state == UNAVAILABLE else "")
    elif recorded.spf_result:  # a header is no evidence we checked: not a pass of ours
        checks.skipped(
            "spf", "message_spf", f"not checked here: the connecting IP is not known (a receiver recorded spf={recorded.spf_result})"
        )
    else:
        checks.skipped("spf", "message_spf", "not applicable: the connecting IP and envelope sender are not known")


def _dkim(checks: MessageChecks, message: ParsedMessage, signatures: list[SignatureCheck]) -> None:
    unsubscribe = [h for h in UNSUBSCRIBE_HEADERS if message.first(h) is not None]
    lines = []
    for sig in signatures:
        key = parse_dkim_key(sig.key_text).key if sig.key_text else None
        size = f", {key.bits}-bit key" if key is not None and key.bits else ""
        if sig.result == "pass":
            outcome = "pass: body hash and signature verified"
        elif sig.result == "unverified":
            outcome = "not verified: only the header was given"
        else:
            outcome = f"{sig.result}: {sig.detail}" if sig.detail else sig.result
        lines.append(f"d={sig.domain} s={sig.selector} a={sig.algorithm}{size}: {outcome}")
        covered = [h for h in unsubscribe if h in sig.signed_headers]
        missing = [h for h in unsubscribe if h not in sig.signed_headers]
        note = ""
        if covered:
            note += "; covers " + ", ".join(_header_name(h) for h in covered)
        if missing:
            note += "; does not cover " + ", ".join(_header_name(h) for h in missing)
        lines.append(f"d={sig.domain} signs: {', '.join(sig.signed_headers) or 'no header'}{note}")
    temporary = [s for s in signatures if s.result == "temperror"]
    if temporary and not any(s.result == "pass" for s in signatures):
        checks.ran("dkim", "message_signatures", lines, UNAVAILABLE, temporary[0].detail)
    else:
        checks.ran("dkim", "message_signatures", lines or ["the message carries no DKIM-Signature"])


def _dmarc(checks: MessageChecks, found: DmarcDiscovery | None, verdict: DmarcVerdict | None) -> None:
    if found is not None and found.failure is not None and found.failure.detail == OUTSIDE_ZONES:
        checks.skipped("dmarc", "message_dmarc", f"offline: {found.failure.name} is not among the zone files")
        return
    if found is not None and found.failure is not None:
        checks.ran("dmarc", "message_dmarc", [], UNAVAILABLE, f"the DMARC record could not be fetched ({found.failure.describe()})")
        return
    if verdict is None:
        checks.skipped("dmarc", "message_dmarc", "not applicable: the From header holds no single address with a domain")
        return
    if verdict.record is None:
        checks.ran("dmarc", "message_dmarc", [f"no DMARC record for {verdict.from_domain}: nothing to apply"])
        return
    lines = [f"record at _dmarc.{verdict.record_domain}: {verdict.record.text}"]
    lines.append(
        f"policy applied to {verdict.from_domain}: {verdict.applicable_policy or 'none'}; result {'pass' if verdict.passed else 'fail'}"
    )
    for identifier in verdict.identifiers:
        mode = "strict" if identifier.strict else "relaxed" if identifier.relaxed else "not"
        counts = "counts for DMARC" if identifier.counts else "does not count"
        lines.append(
            f"{identifier.mechanism.upper()} {identifier.result} for {identifier.domain}, {mode} aligned with the From domain: {counts}"
        )
    checks.ran("dmarc", "message_dmarc", lines)


def _recorded(checks: MessageChecks, results: list[AuthResults]) -> None:
    if not results:
        checks.skipped(
            "auth", "receiver_results", "not applicable: no receiver recorded its results (Authentication-Results, Received-SPF)"
        )
        return
    lines = []
    for header in results:
        said = " ".join(f"{e.method}={e.result}" for e in header.results) or "no result"
        lines.append(f"{header.header}" + (f" by {header.authserv_id}" if header.authserv_id else "") + f": {said}")
    checks.ran("auth", "receiver_results", lines)


def _structure(checks: MessageChecks, message: ParsedMessage) -> None:
    lines = []
    for header in ("Message-ID", "Date", *(_header_name(h) for h in UNSUBSCRIBE_HEADERS)):
        value = message.first(header)
        lines.append(f"{header}: {value.strip()[:160]}" if value is not None else f"{header}: missing")
    checks.ran("msg", "message_structure", lines)


def _content(checks: MessageChecks, message: ParsedMessage, engines: list[EngineResult]) -> None:
    if message.has_body:
        checks.ran("content", "message_phrases", ["the text was read for phrases spam filters score"])
    else:
        checks.skipped("content", "message_phrases", "not applicable: only the header was given")
    if not engines:  # our own phrases are no spam filter's verdict: the area is not a pass without one
        checks.runs.append(
            CheckRun("content", "content_engines", PARTIAL, "not checked by a content filter: no SpamAssassin or rspamd was configured")
        )
    for engine in engines:
        if engine.error:
            checks.ran("content", f"content_{engine.engine.lower()}", [], UNAVAILABLE, f"{engine.engine}: {engine.error}")
        else:
            rules = [
                f"{r.name} {r.score:+g}" + (f": {r.description}" if r.description else "")
                for r in sorted(engine.rules, key=lambda r: -r.score)
            ]
            checks.ran(
                "content",
                f"content_{engine.engine.lower()}",
                [f"{engine.engine}: {engine.score:g} points (spam at {engine.threshold:g})", *rules],
            )


def _tls(checks: MessageChecks, tls: str | None) -> None:
    """tls: how the message reached us ("" for no TLS), when we received it ourselves."""
    if tls is None:
        checks.skipped("tls", "delivery_tls", "not applicable: how the message was delivered is not known here")
    else:
        checks.ran("tls", "delivery_tls", [f"delivered over {tls}" if tls else "delivered without TLS"])


def _header_name(lowered: str) -> str:
    return "-".join(part.capitalize() for part in lowered.split("-"))
