"""DKIM keys in DNS: is there a key for each selector in use, and would a receiver accept it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from maildoctor.aio import concurrently
from maildoctor.checks.common import lookup_failed, quote_txt, zone_line
from maildoctor.checks.facts import DkimDiscovery, DkimKey
from maildoctor.checks.mx import mx_records
from maildoctor.checks.registry import AuditContext, check
from maildoctor.checks.spf import spf_tree
from maildoctor.dns.answer import Answer, Outcome, ask_all
from maildoctor.findings import Finding, make_finding
from maildoctor.records import change
from maildoctor.records.dkim import DkimKeyRecord, parse_dkim_key

SIGNATURE = "v=DKIM1; k=rsa; p=<base64 of your public key>"


@dataclass(frozen=True)
class Provider:
    name: str
    mx: tuple[str, ...]
    spf: tuple[str, ...]
    selectors: tuple[str, ...]


@cache
def selector_data() -> tuple[tuple[str, ...], tuple[Provider, ...]]:
    data = json.loads(resources.files("maildoctor.data").joinpath("dkim_selectors.json").read_text("utf-8"))
    providers = tuple(Provider(p["name"], tuple(p["mx"]), tuple(p["spf"]), tuple(p["selectors"])) for p in data["providers"])
    return tuple(data["generic"]), providers


@cache
def _providers_by_host() -> dict[str, tuple[int, ...]]:
    """Each MX or SPF host name of a provider (lower case, no trailing dot): the providers' places."""
    places: dict[str, list[int]] = {}
    for i, provider in enumerate(selector_data()[1]):
        for name in dict.fromkeys(provider.mx + provider.spf):
            places.setdefault(name, []).append(i)
    return {name: tuple(found) for name, found in places.items()}


def discovery_list(domain: str, hosts: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The selectors to try, and the providers they came from: the generic ones for every domain,
    plus those of each provider the domain's MX hosts or SPF includes (hosts) point at."""
    generic, providers = selector_data()
    by_host = _providers_by_host()
    found: set[int] = set()
    for host in hosts:  # the host and each domain above it, looked up among the providers' names
        name = host.lower().rstrip(".")
        while name:
            found.update(by_host.get(name, ()))
            name = name.partition(".")[2]
    used = [p for i, p in enumerate(providers) if i in found]
    selectors = list(generic) + [s.format(domain_dashes=domain.replace(".", "-")) for p in used for s in p.selectors]
    return list(dict.fromkeys(selectors)), [p.name for p in used]


@dataclass
class SelectorResult:
    selector: str
    answer: Answer
    given: bool  # the user said it is in use
    records: list[str]

    @property
    def name(self) -> str:
        return self.answer.name


def looks_like_key(text: str) -> bool:
    lowered = text.lstrip().lower()
    return lowered.startswith(("v=dkim1", "k=", "p=")) or "p=" in lowered


async def selector_results(ctx: AuditContext) -> list[SelectorResult]:
    async def compute() -> list[SelectorResult]:
        domain = ctx.target.domain
        given = list(dict.fromkeys(s.lower() for s in ctx.target.dkim_selectors))
        known = [s for s in dict.fromkeys(s.lower() for s in ctx.target.known_selectors) if s not in given]
        parent, mx, tree = await concurrently(ctx.dns.query(f"_domainkey.{domain}", "TXT"), mx_records(ctx), spf_tree(ctx))
        hosts = [h for _, h in mx.mx_hosts] + [node.domain for node in tree.walk()]  # whose providers' selectors to try
        candidates, providers = discovery_list(domain, hosts)
        ctx.facts.dkim_discovery = DkimDiscovery(providers, candidates)
        # RFC 8020: NXDOMAIN for _domainkey means no name exists below it, so nothing to discover.
        skip = parent.outcome is Outcome.NXDOMAIN or not ctx.target.discover_selectors
        discover = [] if skip else [s for s in candidates if s not in given + known]
        selectors = given + known + discover
        answers = await ask_all(ctx.dns, [(f"{s}._domainkey.{domain}", "TXT") for s in selectors])
        return [
            SelectorResult(s, a, s in given, a.texts() if a.ok and any(looks_like_key(t) for t in a.texts()) else [])
            for s, a in zip(selectors, answers)
        ]

    return await ctx.shared("dkim_selectors", compute)


@check(
    "dkim",
    emits=(
        "dkim.no_keys_found",
        "dkim.key_missing",
        "dkim.record_malformed",
        "dkim.record_escaped",
        "dkim.bad_key",
        "dkim.unknown_key_type",
        "dkim.key_too_short",
        "dkim.key_1024",
        "dkim.testing_mode",
        "dkim.sha1_only",
        "dkim.key_revoked",
        "dkim.lookup_failed",
    ),
)
async def check_dkim_keys(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    results = await selector_results(ctx)
    findings: list[Finding] = []
    published = [r for r in results if r.records]
    keys: dict[str, DkimKey] = {}
    for result in results:
        if result.answer.outcome.is_temporary:
            if result.given or result.selector in ctx.target.known_selectors:
                findings.append(lookup_failed("dkim", result.answer, f"the DKIM key {result.name}"))
            continue
        if not result.records:
            if result.given:
                findings.append(_missing(domain, result, published))
            continue
        findings += _key_findings(domain, result, keys)
    ctx.facts.dkim = keys
    for selector, key in keys.items():
        size = f" of {key.bits} bits" if key.bits else ""
        flags = f", flags {key.flags}" if key.flags else ""
        ctx.verified("dkim", f"s={selector} d={domain}: {key.key_type} key{size}{flags}" + ("" if key.valid else " (with problems)"))
    if not published and not any(r.given for r in results) and not any(r.answer.outcome.is_temporary for r in results):
        tried = ", ".join(r.selector for r in results)
        findings.append(
            make_finding(
                "dkim.no_keys_found",
                f"No DKIM key found for {domain}",
                f"No key was found under the selectors tried ({tried}). Either the domain does not sign"
                " its mail (then Gmail and Yahoo treat it as unauthenticated beyond SPF, and DMARC can"
                " only pass through SPF), or it uses a selector not on the list.",
                evidence=[f"{r.name} TXT: {r.answer.outcome.value}" for r in results[:6]] + (["…"] if len(results) > 6 else []),
                fix="Find the selector in the s= tag of a DKIM-Signature header of a message you sent, and run"
                " the audit again naming that selector. If the domain does not sign, enable DKIM signing and"
                f" publish its key:\n  {zone_line(f'<selector>._domainkey.{domain}', 3600, 'TXT', quote_txt(SIGNATURE))}",
            )
        )
    return findings


def _missing(domain: str, result: SelectorResult, published: list[SelectorResult]) -> Finding:
    answer = result.answer
    chain = ""
    if answer.cnames:
        chain = (
            f" The name is an alias (CNAME) to {answer.cnames[-1]}, which does not exist: the chain ends"
            " nowhere (often a sending service's key that was removed or never set up)."
        )
    others = [r.selector for r in published]
    detail = (
        f"There is no key at {result.name} ({answer.outcome.value}).{chain} Receivers cannot verify"
        f" signatures with s={result.selector}: DKIM fails (Gmail shows 'neutral' or 'fail'), and DMARC can"
        " pass only through SPF."
    )
    if others:
        detail += f" Keys are published under: {', '.join(others)}."
        fix = (
            f"Sign with a published selector (s={others[0]}), or publish the signing key under"
            f" {result.selector}:\n  {zone_line(result.name, 3600, 'TXT', quote_txt(SIGNATURE))}"
        )
    else:
        fix = f"Publish the signing key:\n  {zone_line(result.name, 3600, 'TXT', quote_txt(SIGNATURE))}"
    return make_finding(
        "dkim.key_missing", f"No DKIM key for the selector '{result.selector}'", detail, evidence=[answer.describe()], fix=fix
    )


def _key_findings(domain: str, result: SelectorResult, keys: dict[str, DkimKey]) -> list[Finding]:
    name = result.name
    evidence = [result.answer.describe()]
    if len(result.records) > 1:
        starts = [r for r in result.records if r.lstrip().lower().startswith(("v=dkim1", "k="))]
        why = (
            "the key was split into several TXT records instead of several strings of one record;"
            " receivers read one record at a time, so none holds a whole key"
            if len(starts) < len(result.records)
            else "several key records: receivers take one of them at random and fail when it is the wrong one"
        )
        joined = reassemble(result.records) if len(starts) < len(result.records) else starts[0]
        return [
            make_finding(
                "dkim.record_malformed",
                f"{name} has {len(result.records)} TXT records",
                f"At {name}: {why}.",
                evidence=evidence,
                fix="Publish exactly one TXT record (long keys as several quoted strings of that one record):\n  "
                + zone_line(name, 3600, "TXT", quote_txt(parse_dkim_key(joined).cleaned())),
                changes=[change.remove(name, "TXT", quote_txt(text)) for text in result.records]
                + [change.add(name, 3600, "TXT", quote_txt(parse_dkim_key(joined).cleaned()))],
            )
        ]
    record = parse_dkim_key(result.records[0])
    keys[result.selector] = _describe(record)
    findings = _problem_findings(name, record, evidence)
    if record.revoked:
        findings.append(
            make_finding(
                "dkim.key_revoked",
                f"The key at {name} is revoked (empty p=)",
                "An empty p= means the key was withdrawn: every signature with this selector fails.",
                evidence=evidence,
                fix="Stop signing with this selector, or publish the current public key in p=.",
            )
        )
    if record.key and record.key.kind == "rsa":
        if record.key.bits < 1024:
            findings.append(
                make_finding(
                    "dkim.key_too_short",
                    f"The RSA key at {name} has only {record.key.bits} bits",
                    "RFC 8301 §3.2: verifiers must not accept RSA keys under 1024 bits; signatures with it count as absent.",
                    evidence=evidence,
                    fix="Generate a 2048-bit key, publish it (under a new selector), then sign with it.",
                )
            )
        elif record.key.bits < 2048:
            findings.append(
                make_finding(
                    "dkim.key_1024",
                    f"The RSA key at {name} has {record.key.bits} bits",
                    "1024-bit RSA keys are still accepted but are considered weak; RFC 8301 recommends 2048.",
                    evidence=evidence,
                    fix="Move to a 2048-bit key under a new selector, then retire this one.",
                )
            )
    if "y" in record.flags:
        findings.append(
            make_finding(
                "dkim.testing_mode",
                f"The key at {name} is in testing mode (t=y)",
                "Receivers may treat failing signatures made with this key as if the mail were unsigned,"
                " so a broken set-up goes unnoticed.",
                evidence=evidence,
                fix="Remove t=y once signing works:\n  "
                + zone_line(name, 3600, "TXT", quote_txt(record.cleaned().replace("t=y", "").replace("; ;", ";").strip("; "))),
                changes=[
                    change.replace(
                        name,
                        None,
                        "TXT",
                        quote_txt(record.text),
                        quote_txt(record.cleaned().replace("t=y", "").replace("; ;", ";").strip("; ")),
                    )
                ],
            )
        )
    if record.hashes and all(h == "sha1" for h in record.hashes):
        findings.append(
            make_finding(
                "dkim.sha1_only",
                f"The key at {name} allows only SHA-1 (h=sha1)",
                "RFC 8301: rsa-sha1 signatures must not be accepted any more, and this key allows nothing else.",
                evidence=evidence,
                fix="Allow sha256 (h=sha256, or remove h=) and sign with rsa-sha256.",
            )
        )
    return findings


def reassemble(pieces: list[str]) -> str:
    """A key split over several records, put back together: DNS returns the pieces in any order,
    so take the order whose key loads (the piece with the tags first)."""
    first = sorted(pieces, key=lambda p: not p.lstrip().lower().startswith(("v=dkim1", "k=")))
    if len(pieces) <= 5:
        for rest in itertools.permutations(first[1:]):
            candidate = first[0] + "".join(rest)
            if parse_dkim_key(candidate).key is not None:
                return candidate
    return "".join(first)


def _problem_findings(name: str, record: DkimKeyRecord, evidence: list[str]) -> list[Finding]:
    by_id: dict[str, list[str]] = {}
    for problem in record.problems:
        by_id.setdefault(problem.check_id, []).append(problem.describe())
    titles = {
        "dkim.record_escaped": f"The key record at {name} contains literal backslashes",
        "dkim.record_malformed": f"The key record at {name} does not parse",
        "dkim.bad_key": f"The public key at {name} is not usable",
        "dkim.unknown_key_type": f"The key type at {name} is unknown",
    }
    explain = {
        "dkim.record_escaped": "The zone file wrote '\\\\;' where ';' was meant, so the published record"
        " contains backslashes: its tags do not parse (Gmail reports 'neutral (bad format)'), and every"
        " signature with this selector fails.",
        "dkim.record_malformed": "Receivers cannot read the key, so every signature with this selector fails.",
        "dkim.bad_key": "Receivers cannot load the key, so every signature with this selector fails.",
        "dkim.unknown_key_type": "Receivers ignore keys of types they do not know.",
    }
    fix = "Publish the record as meant:\n  " + zone_line(name, 3600, "TXT", quote_txt(record.cleaned()))
    if record.escaped:
        fix = "In the zone file write ';' (not '\\\\;') between the tags. The record then reads:\n  " + zone_line(
            name, 3600, "TXT", quote_txt(record.cleaned())
        )
    findings = []
    for check_id, messages in by_id.items():
        if record.escaped and check_id == "dkim.record_malformed":
            continue  # the escaping is the cause: one finding, not two
        findings.append(
            make_finding(
                check_id,
                titles[check_id],
                explain[check_id] + " In detail: " + "; ".join(messages) + ".",
                evidence=evidence + [f"record as published: {record.text}"],
                fix=fix
                if check_id != "dkim.bad_key"
                else "Regenerate the key pair and publish the public key (base64 of the DER SubjectPublicKeyInfo):\n  "
                + zone_line(name, 3600, "TXT", quote_txt(SIGNATURE)),
                # the record as meant, where the words were right and only their writing was not
                changes=[change.replace(name, None, "TXT", quote_txt(record.text), quote_txt(record.cleaned()))]
                if check_id != "dkim.bad_key" and record.cleaned() != record.text
                else [],
            )
        )
    return findings


def _describe(record: DkimKeyRecord) -> DkimKey:
    return DkimKey(
        record=record.text,
        key_type=record.key_type,
        bits=record.key.bits if record.key else None,
        encoding=record.key.encoding if record.key else None,
        hashes=record.hashes,
        flags=record.flags,
        revoked=record.revoked,
        valid=not record.problems,
    )
