"""The MTA-STS policy file as senders fetch it (only with --probe): reachable, valid, covering the MX hosts."""

from __future__ import annotations

from maildoctor.checks.facts import MtaStsFetch
from maildoctor.checks.mx import mx_records
from maildoctor.checks.registry import AuditContext
from maildoctor.checks.smtp import address_of
from maildoctor.findings import Finding, make_finding
from maildoctor.probes.https import fetch_policy
from maildoctor.records.mtasts_policy import parse_mtasts_policy


def _policy_template(domain: str, hosts: list[str]) -> str:
    lines = ["version: STSv1", "mode: testing"] + [f"mx: {h}" for h in hosts or [f"mail.{domain}"]] + ["max_age: 604800"]
    return "\n".join("  " + line for line in lines)


async def mtasts_policy_findings(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    host = f"mta-sts.{domain}"
    mx = await mx_records(ctx)
    mx_hosts = [h for _, h in mx.mx_hosts if h != "."] if mx.ok else []
    template = _policy_template(domain, mx_hosts)
    serve_fix = (
        f"Serve this file as text/plain at https://{host}/.well-known/mta-sts.txt, with a certificate"
        f" for {host} from a public CA and no redirect:\n{template}"
    )
    address = await address_of(ctx, host)
    if address is None:
        return [
            make_finding(
                "mtasts.policy_unreachable",
                f"{host} does not exist, so the MTA-STS policy cannot be fetched",
                f"The _mta-sts record announces a policy, but {host} has no address. Senders ignore MTA-STS for {domain}.",
                evidence=[f"{host}: no A or AAAA record"],
                fix=f"Publish an A/AAAA record for {host}. " + serve_fix,
            )
        ]
    fetch = await fetch_policy(host, address, ctx.target.https_port, cafile=ctx.target.cafile)
    policy = parse_mtasts_policy(fetch.body)
    ctx.facts.mtasts_policy = MtaStsFetch(fetch.url, address, fetch.status, fetch.content_type, fetch.error, fetch.body, policy.notes)
    if fetch.status == 200:
        ctx.verified(
            "mtasts", f"policy at {fetch.url}: " + "; ".join(line.strip() for line in fetch.body.splitlines() if line.strip())[:200]
        )
    why = fetch.error or (
        f"the server redirects to {fetch.redirect or 'another place'}, and senders must not follow redirects"
        if fetch.redirect
        else f"the server answered HTTP {fetch.status}"
        if fetch.status != 200
        else ""
    )
    if why:
        return [
            make_finding(
                "mtasts.policy_unreachable",
                f"The MTA-STS policy of {domain} cannot be fetched",
                f"{why[0].upper()}{why[1:]}. Senders that cannot fetch the policy treat the domain as having none (RFC 8461 §3.3).",
                evidence=[fetch.describe()],
                fix=serve_fix,
            )
        ]
    problems = list(policy.problems)
    media_type = fetch.content_type.split(";")[0].strip().lower()
    if media_type != "text/plain":
        problems.insert(0, f"it is served as '{media_type or 'no Content-Type'}', not text/plain")
    if fetch.too_large:
        problems.insert(0, "it is larger than 64 KiB, more than senders read")
    evidence = [fetch.describe(), "policy:\n" + "\n".join("  " + line for line in fetch.body.splitlines()[:40])]
    findings = []
    if problems:
        findings.append(
            make_finding(
                "mtasts.policy_invalid",
                f"The MTA-STS policy of {domain} is not valid",
                "; ".join(problems) + ". Senders ignore an invalid policy.",
                evidence=evidence,
                fix=serve_fix,
            )
        )
    if policy.mode in ("enforce", "testing") and policy.mx:
        uncovered = [h for h in mx_hosts if not policy.covers(h)]
        if uncovered:
            findings.append(
                make_finding(
                    "mtasts.mx_not_covered",
                    f"The MTA-STS policy of {domain} does not cover {', '.join(uncovered)}",
                    f"The policy allows {', '.join(policy.mx)}; the MX host{'s' if len(uncovered) > 1 else ''}"
                    f" {', '.join(uncovered)} match{'' if len(uncovered) > 1 else 'es'} none of them. "
                    + (
                        "In enforce mode senders refuse to deliver there."
                        if policy.mode == "enforce"
                        else "Senders report failures now and will refuse to deliver there once you enforce."
                    ),
                    evidence=evidence + [mx.describe()],
                    fix="Add to the policy (and change the id= of the _mta-sts record):\n" + "\n".join(f"  mx: {h}" for h in uncovered),
                )
            )
    if policy.mode == "testing" and not problems:
        findings.append(
            make_finding(
                "mtasts.testing_mode",
                f"The MTA-STS policy of {domain} is in testing mode",
                "Senders report TLS failures (to your TLS-RPT address) but still deliver without TLS.",
                evidence=evidence,
                fix="When the TLS reports show no failures for a few weeks, set 'mode: enforce' and change the id= of the _mta-sts record.",
            )
        )
    return findings
