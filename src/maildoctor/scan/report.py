"""A scan's statistics: the share of domains whose SPF, DKIM and DMARC pass, the DMARC policies,
the most common findings, the SPF lookup counts and the mail providers — as a table and as an
HTML page with charts (matplotlib, drawn to SVG inside the page: no script, no CDN)."""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from typing import Any

from matplotlib.figure import Figure

from maildoctor.scan.parquet import DOMAINS, FINDINGS, read_partitions

AREAS = ("spf", "dkim", "dmarc", "mx", "rdns", "mtasts", "tlsrpt", "dnssec", "bimi")


def statistics(out: str) -> dict[str, Any]:
    """Counted a partition at a time, from the columns needed: memory stays that of one partition."""
    total = complete = 0
    areas: dict[str, Counter[str]] = {area: Counter() for area in AREAS}
    policies: Counter[str] = Counter()
    lookups: Counter[int] = Counter()
    providers: Counter[str] = Counter()
    columns = ["complete", "dmarc_policy", "spf_lookups", "mx_provider", *(f"area_{area}" for area in AREAS)]
    for table in read_partitions(out, DOMAINS, columns):
        part = table.to_pydict()
        total += table.num_rows
        complete += sum(1 for c in part["complete"] if c)
        for area in AREAS:
            areas[area].update(state for state in part[f"area_{area}"] if state is not None)
        policies.update(p or "no record" for p in part["dmarc_policy"])
        lookups.update(n for n in part["spf_lookups"] if n is not None)
        providers.update(p or "no MX" for p in part["mx_provider"])
    errors: Counter[str] = Counter()
    for table in read_partitions(out, FINDINGS, ["id", "severity"]):
        part = table.to_pydict()
        errors.update(i for i, severity in zip(part["id"], part["severity"], strict=True) if severity in ("error", "critical"))
    return {
        "domains": total,
        "complete": complete,
        "areas": {area: dict(states.most_common()) for area, states in areas.items()},
        "pass_share": {area: round(areas[area].get("pass", 0) / total, 4) if total else 0.0 for area in AREAS},
        "dmarc_policies": dict(policies.most_common()),
        "spf_lookups": dict(sorted(lookups.items())),
        "providers": dict(providers.most_common()),
        "top_findings": [{"id": i, "domains": n} for i, n in errors.most_common(15)],
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
