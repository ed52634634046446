"""A scan's statistics: the share of domains whose SPF, DKIM and DMARC pass, the DMARC policies,
the most common findings, the SPF lookup counts and the mail providers — as a table and as an
HTML page with charts (matplotlib, drawn to SVG inside the page: no script, no CDN)."""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from maildoctor.scan.parquet import DOMAINS, FINDINGS, read_scan

AREAS = ("spf", "dkim", "dmarc", "mx", "rdns", "mtasts", "tlsrpt", "dnssec", "bimi")


def statistics(out: Path) -> dict[str, Any]:
    domains = read_scan(out, DOMAINS).to_pylist()
    findings = read_scan(out, FINDINGS).to_pylist()
    total = len(domains)
    areas = {}
    for area in AREAS:
        states = Counter(str(d.get(f"area_{area}")) for d in domains)
        areas[area] = {state: n for state, n in states.most_common() if state != "None"}
    return {
        "domains": total,
        "complete": sum(1 for d in domains if d["complete"]),
        "areas": areas,
        "pass_share": {area: round(areas[area].get("pass", 0) / total, 4) if total else 0.0 for area in AREAS},
        "dmarc_policies": dict(Counter(d["dmarc_policy"] or "no record" for d in domains).most_common()),
        "spf_lookups": dict(sorted(Counter(d["spf_lookups"] for d in domains if d["spf_lookups"] is not None).items())),
        "providers": dict(Counter(d["mx_provider"] or "no MX" for d in domains).most_common()),
        "top_findings": [
            {"id": i, "domains": n} for i, n in Counter(f["id"] for f in findings if f["severity"] in ("error", "critical")).most_common(15)
        ],
    }


def _svg(draw: Any) -> str:
    figure = Figure(figsize=(6.4, 3.2))  # drawn to a file: no display, no pyplot state
    draw(figure.add_subplot())
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg") :], flags=re.S)  # matplotlib's RDF credits


def html_report(stats: dict[str, Any], title: str) -> str:
    shares = stats["pass_share"]
    charts = [
        (
            "Domains that pass, per area",
            _svg(
                lambda ax: (
                    ax.barh(list(shares)[::-1], [v * 100 for v in list(shares.values())[::-1]]),
                    ax.set_xlabel("% of domains"),
                    ax.set_xlim(0, 100),
                )
            ),
        ),
        ("DMARC policies", _svg(lambda ax: ax.bar(list(stats["dmarc_policies"]), list(stats["dmarc_policies"].values())))),
        (
            "SPF DNS lookups (the limit is 10)",
            _svg(lambda ax: ax.bar([str(k) for k in stats["spf_lookups"]], list(stats["spf_lookups"].values()))),
        ),
        ("Mail providers (by MX)", _svg(lambda ax: ax.barh(list(stats["providers"])[::-1], list(stats["providers"].values())[::-1]))),
    ]
    rows = "".join(f"<tr><td>{html.escape(f['id'])}</td><td>{f['domains']}</td></tr>" for f in stats["top_findings"])
    parts = [f"<section><h2>{html.escape(name)}</h2>{svg}</section>" for name, svg in charts]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
        "td,th{padding:.2em .6em;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{stats['domains']} domains, {stats['complete']} audited completely.</p>"
        + "".join(parts)
        + f"<section><h2>The most common errors</h2><table><tr><th>finding</th><th>domains</th></tr>{rows}</table></section>"
        "</body></html>\n"
    )
