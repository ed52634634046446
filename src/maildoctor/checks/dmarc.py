"""DMARC: the policy that tells receivers what to do with mail that fails SPF and DKIM."""

from __future__ import annotations

from maildoctor.checks.common import lookup_failed, quote_txt, zone_line
from maildoctor.checks.registry import AuditContext, check
from maildoctor.dmarc.discovery import DmarcDiscovery, discover_dmarc
from maildoctor.dmarc.orgdomain import organizational_domain, same_organization
from maildoctor.dns.answer import ask_all
from maildoctor.findings import Finding, catalog_finding, make_finding
from maildoctor.records import change
from maildoctor.records.change import RecordChange
from maildoctor.records.dmarc import DmarcRecord, ReportUri, is_dmarc_record, parse_dmarc
from maildoctor.records.problems import Problem


async def dmarc_policy(ctx: AuditContext) -> DmarcDiscovery:
    return await ctx.shared("dmarc", lambda: discover_dmarc(ctx.dns, ctx.target.domain))


def suggested_record(org: str, policy: str = "none") -> str:
    return zone_line(f"_dmarc.{org}", 3600, "TXT", quote_txt(f"v=DMARC1; p={policy}; rua=mailto:dmarc-reports@{org}"))


@check(
    "dmarc",
    emits=(
        "dmarc.missing",
        "dmarc.inherited",
        "dmarc.multiple_records",
        "dmarc.syntax_error",
        "dmarc.invalid_tag_value",
        "dmarc.invalid_pct",
        "dmarc.invalid_uri",
        "dmarc.unknown_tag",
        "dmarc.external_rua_unauthorized",
        "dmarc.policy_none",
        "dmarc.pct_partial",
        "dmarc.no_rua",
        "dmarc.subdomain_none",
        "dmarc.lookup_failed",
    ),
)
async def check_dmarc(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    found = await dmarc_policy(ctx)
    evidence = [a.describe() for a in found.answers]
    if found.failure is not None:
        return [lookup_failed("dmarc", found.failure, f"the DMARC record of {domain}")]
    org = organizational_domain(domain)
    if not found.records:
        where = f"_dmarc.{domain}" + (f" nor at _dmarc.{org}" if org != domain else "")
        return [
            make_finding(
                "dmarc.missing",
                f"{domain} has no DMARC record",
                f"There is no DMARC record at {where}. Receivers cannot tell what to do with mail that"
                " fails SPF and DKIM, anyone can send mail as your domain, and Gmail and Yahoo require"
                " DMARC from bulk senders (Gmail spams or rejects mail without it). You also get no"
                " reports on who sends mail as your domain.",
                evidence=evidence,
                fix="Publish a DMARC record (start with p=none and read the reports, then move to"
                " p=quarantine and p=reject):\n  " + suggested_record(org),
                changes=[change.add(f"_dmarc.{org}", 3600, "TXT", quote_txt(f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{org}"))],
            )
        ]

    record_domain = found.record_domain or domain
    findings: list[Finding] = []
    if found.inherited:
        findings.append(
            make_finding(
                "dmarc.inherited",
                f"The DMARC policy of {domain} comes from {record_domain}",
                f"{domain} has no record of its own; receivers apply the organizational domain's record"
                f" at _dmarc.{record_domain} (its sp= or p= tag).",
                evidence=evidence,
                fix="",
            )
        )
    valid = [r for r in found.records if is_dmarc_record(r)]
    if len(found.records) > 1:
        findings.append(
            make_finding(
                "dmarc.multiple_records",
                f"_dmarc.{record_domain} has {len(found.records)} DMARC records",
                "RFC 7489 §6.6.3: when more than one DMARC record is found, receivers apply none of them."
                " The domain is treated as if it had no DMARC at all.",
                evidence=evidence,
                fix="Keep exactly one TXT record at _dmarc."
                + record_domain
                + "; delete the others:\n"
                + "\n".join("  " + zone_line(f"_dmarc.{record_domain}", 3600, "TXT", quote_txt(r)) for r in found.records[1:]),
            )
        )
        return findings
    text = found.records[0]
    record = parse_dmarc(text)
    ctx.verified("dmarc", f"record at _dmarc.{record_domain}: {text}")
    if record.policy:
        applies = record.subdomain_policy if found.inherited else record.policy
        alignment = f"DKIM {_mode(record.tags.get('adkim'))}, SPF {_mode(record.tags.get('aspf'))}"
        ctx.verified("dmarc", f"policy applied to {domain}: p={applies}, pct={record.pct}; alignment {alignment}")
    findings += _syntax_findings(record, record_domain, evidence)
    if not valid:
        return findings
    findings += _policy_findings(record, record_domain, evidence)
    findings += await _report_authorization(ctx, record, record_domain)
    return findings


def _mode(tag: str | None) -> str:
    return "strict" if (tag or "").strip().lower() == "s" else "relaxed"


def _syntax_findings(record: DmarcRecord, record_domain: str, evidence: list[str]) -> list[Finding]:
    by_id: dict[str, list[Problem]] = {}
    for problem in record.problems:
        by_id.setdefault(problem.check_id, []).append(problem)
    titles = {
        "dmarc.syntax_error": "The DMARC record does not parse",
        "dmarc.invalid_tag_value": "The DMARC record has invalid tag values",
        "dmarc.invalid_pct": "pct= is outside 0-100",
        "dmarc.invalid_uri": "A DMARC report address is not usable",
    }
    findings = []
    for check_id, problems in by_id.items():
        findings.append(
            make_finding(
                check_id,
                titles[check_id],
                f"In `{record.text}`: "
                + "; ".join(p.describe() for p in problems)
                + ". "
                + (
                    "Receivers ignore a record that does not start with exactly v=DMARC1, or apply a"
                    " weaker policy than intended when a tag is invalid."
                    if check_id != "dmarc.invalid_uri"
                    else "Receivers send no reports to an address they cannot use."
                ),
                evidence=evidence,
                fix="Publish the corrected record:\n  "
                + zone_line(f"_dmarc.{record_domain}", 3600, "TXT", quote_txt(repaired(record, record_domain))),
                changes=[_replaced(record, record_domain, repaired(record, record_domain))],
            )
        )
    if record.unknown_tags:
        findings.append(
            catalog_finding(
                "dmarc.unknown_tag",
                f"Receivers ignore the tags {', '.join(t + '=' for t in record.unknown_tags)} in `{record.text}`."
                " A typo (rue= for rua=) silently disables what it was meant to set.",
                evidence=evidence,
                fix="Remove or correct them:\n  "
                + zone_line(f"_dmarc.{record_domain}", 3600, "TXT", quote_txt(repaired(record, record_domain))),
                changes=[_replaced(record, record_domain, repaired(record, record_domain))],
            )
        )
    return findings


def _replaced(record: DmarcRecord, record_domain: str, new: str) -> RecordChange:
    return change.replace(f"_dmarc.{record_domain}", None, "TXT", quote_txt(record.text), quote_txt(new))


def repaired(record: DmarcRecord, record_domain: str) -> str:
    """The record rewritten with its valid tags kept and its broken ones replaced by safe values."""
    bad = {p.term.split("=", 1)[0].strip().lower() for p in record.problems if p.term}
    tags = {"v": "DMARC1"}
    tags["p"] = record.policy or "none"
    for key, value in record.tags.items():
        if key in ("v", "p") or key in record.unknown_tags:
            continue
        if key in ("rua", "ruf"):
            uris = record.rua if key == "rua" else record.ruf
            if uris:
                tags[key] = ",".join(u.uri + (f"!{u.max_size}" if u.max_size else "") for u in uris)
            continue
        if key not in bad:
            tags[key] = value
    tags.setdefault("rua", f"mailto:dmarc-reports@{record_domain}")
    return "; ".join(f"{k}={v}" for k, v in tags.items())


def _policy_findings(record: DmarcRecord, record_domain: str, evidence: list[str]) -> list[Finding]:
    findings = []
    stronger = "quarantine" if record.pct < 100 or not record.rua else "reject"
    if record.policy == "none":
        improved = record.text.replace("p=none", f"p={stronger}", 1) if "p=none" in record.text else f"v=DMARC1; p={stronger}"
        findings.append(
            make_finding(
                "dmarc.policy_none",
                f"DMARC at {record_domain} is p=none (monitoring only)",
                "With p=none, receivers deliver mail that fails DMARC as if there were no policy: spoofed"
                " mail in your name reaches inboxes, and your own mail gets no benefit from the policy."
                " It is the right first step, not a place to stay.",
                evidence=evidence,
                fix="Once the aggregate reports show all your real mail passing, enforce the policy:\n  "
                + zone_line(f"_dmarc.{record_domain}", 3600, "TXT", quote_txt(improved)),
                changes=[_replaced(record, record_domain, improved)],
            )
        )
    if "pct" in record.tags and record.pct < 100 and record.policy in ("quarantine", "reject"):
        findings.append(
            make_finding(
                "dmarc.pct_partial",
                f"The policy applies to only {record.pct}% of failing mail",
                f"pct={record.pct} tells receivers to apply p={record.policy} to {record.pct}% of the mail"
                " that fails DMARC; the rest is treated as p=none (or one level weaker).",
                evidence=evidence,
                fix="Raise pct to 100 (or remove it) once you are confident.",
            )
        )
    if not record.rua and "rua" not in record.tags:
        findings.append(
            catalog_finding(
                "dmarc.no_rua",
                "Without rua=, receivers send you no aggregate reports: you cannot see who sends mail as"
                " your domain, nor which of your own services fail SPF or DKIM.",
                evidence=evidence,
                fix="Add a report address:\n  "
                + zone_line(
                    f"_dmarc.{record_domain}",
                    3600,
                    "TXT",
                    quote_txt(record.text.rstrip("; ") + f"; rua=mailto:dmarc-reports@{record_domain}"),
                ),
                changes=[_replaced(record, record_domain, record.text.rstrip("; ") + f"; rua=mailto:dmarc-reports@{record_domain}")],
            )
        )
    sp = record.tags.get("sp", "").lower()
    if sp == "none" and record.policy in ("quarantine", "reject"):
        findings.append(
            make_finding(
                "dmarc.subdomain_none",
                f"Subdomains are exempt (sp=none under p={record.policy})",
                f"sp=none lets anyone send as any subdomain of {record_domain} (e.g. billing.{record_domain})"
                " while the domain itself is protected. Spoofers use exactly such names.",
                evidence=evidence,
                fix=f"Set sp={record.policy}, or remove sp= so subdomains inherit p=.",
            )
        )
    return findings


async def _report_authorization(ctx: AuditContext, record: DmarcRecord, record_domain: str) -> list[Finding]:
    """RFC 7489 §7.1: a report address in another organization must consent to receive reports."""
    external: dict[str, list[ReportUri]] = {}
    for uri in record.rua + record.ruf:
        if not same_organization(uri.domain, record_domain):
            external.setdefault(uri.domain, []).append(uri)
    if not external:
        return []
    names = {dest: f"{record_domain}._report._dmarc.{dest}" for dest in external}
    answers = await ask_all(ctx.dns, [(n, "TXT") for n in names.values()])
    findings: list[Finding] = []
    for (dest, uris), answer in zip(external.items(), answers):
        if answer.outcome.is_temporary:
            findings.append(lookup_failed("dmarc", answer, f"the report authorization at {names[dest]}"))
            continue
        if any(is_dmarc_record(t) for t in answer.texts()):
            continue
        findings.append(
            make_finding(
                "dmarc.external_rua_unauthorized",
                f"{dest} has not authorized reports for {record_domain}",
                f"The record sends reports to {', '.join(u.address for u in uris)}, in another domain."
                f" Receivers first check {names[dest]} for a v=DMARC1 record; there is none, so they"
                " send no reports there.",
                evidence=[answer.describe()],
                fix=f"Ask the owner of {dest} to publish (report services document this step):\n  "
                + zone_line(names[dest], 3600, "TXT", '"v=DMARC1"'),
            )
        )
    return findings
