"""The admin's pages of what receivers report: every domain with data over a chosen period, a
page per sending source, exports of what is shown, and the suppression list.

Charts are inline SVG drawn here (no script, no CDN): the page works under a CSP without inline
script and without any request leaving the server."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from maildoctor.facts import jsonable
from maildoctor.feedback import summary as feedback
from maildoctor.feedback.ingest import change_suppressions, suppressions
from maildoctor.feedback.reputation import Observation, reputation_findings
from maildoctor.inbox import admin
from maildoctor.render.feedback import write_summary_csv
from maildoctor.store.database import Store

# The choices of the period selector: days before the latest report held ("all": everything).
PERIODS = {"all": "all the data", "7": "7 days", "30": "30 days", "90": "90 days", "365": "a year"}
CHART_WIDTH, CHART_HEIGHT = 720, 160
SERIES_COLOURS = ("#0366d6", "#e36209", "#6f42c1", "#28a745", "#d73a49", "#959da5")  # the last one: "other"
NAME_DEADLINE = 2.0  # seconds for the reverse names of a page's sources
DAY = 86400


def _day(when: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(when))


def period_start(engine: Any, period: str) -> tuple[float, str]:
    """(since, how the page says it) for a period of the selector, counted back from the latest report."""
    held = feedback.data_period(engine)
    if period == "all" or held is None:
        return 0.0, (f"all the data: {_day(held[0])} to {_day(held[1])}" if held else "no data yet")
    since = held[1] - int(period) * 86400
    return since, f"the {PERIODS[period]} up to the latest report ({_day(max(since, held[0]))} to {_day(held[1])})"


def _time_axis(days: list[float]) -> tuple[Callable[[float], float], float]:
    """Where a day's bar starts and how wide bars are: days on a time axis, gaps where no report
    covered a day."""
    first, span = days[0], (days[-1] - days[0]) / DAY + 1
    width = CHART_WIDTH / span
    return (lambda day: round((day - first) / DAY * width, 1)), round(max(width - 2, 1), 1)


def volume_bars(days: list[tuple[float, int, int]]) -> dict[str, Any]:
    """Bars of passing and failing mail per day."""
    if not days:
        return {"bars": [], "first": "", "last": ""}
    top = max(total for _, total, _ in days) or 1
    x_of, width = _time_axis([day for day, _, _ in days])
    bars = []
    for day, total, passed in days:
        pass_height = CHART_HEIGHT * passed / top
        fail_height = CHART_HEIGHT * (total - passed) / top
        bars.append(
            {
                "x": x_of(day),
                "w": width,
                "pass_y": round(CHART_HEIGHT - pass_height, 1),
                "pass_h": round(pass_height, 1),
                "fail_y": round(CHART_HEIGHT - pass_height - fail_height, 1),
                "fail_h": round(fail_height, 1),
                "label": f"{_day(day)}: {total} messages, {passed} pass DMARC",
            }
        )
    return {"bars": bars, "first": _day(days[0][0]), "last": _day(days[-1][0])}


def stacked_bars(names: list[str], days: list[tuple[float, dict[str, int]]]) -> dict[str, Any]:
    """Messages per day, one colour per source (the biggest five, then "other")."""
    if not days:
        return {"bars": [], "legend": [], "first": "", "last": ""}
    colours = {
        name: SERIES_COLOURS[-1] if name == "other" else SERIES_COLOURS[i % (len(SERIES_COLOURS) - 1)] for i, name in enumerate(names)
    }
    top = max(sum(counts.values()) for _, counts in days) or 1
    x_of, width = _time_axis([day for day, _ in days])
    bars = []
    for day, counts in days:
        y = float(CHART_HEIGHT)
        for name in names:
            count = counts.get(name, 0)
            if not count:
                continue
            height = CHART_HEIGHT * count / top
            y -= height
            bars.append(
                {
                    "x": x_of(day),
                    "w": width,
                    "y": round(y, 1),
                    "h": round(height, 1),
                    "colour": colours[name],
                    "label": f"{_day(day)}: {count} messages from {name}",
                }
            )
    return {
        "bars": bars,
        "legend": [{"name": n, "colour": colours[n]} for n in names],
        "first": _day(days[0][0]),
        "last": _day(days[-1][0]),
    }


RATING_COLOURS = {
    "GREEN": "#2ea44f",
    "HIGH": "#2ea44f",
    "MEDIUM": "#9be9a8",
    "YELLOW": "#ffdf5d",
    "LOW": "#f9a03f",
    "RED": "#cb2431",
    "BAD": "#cb2431",
}
STRIP_ROW = 18


def rating_of(seen: Observation) -> str:
    return str(seen.data.get("filter_result") or seen.data.get("domain_reputation") or "")


def reputation_strips(observations: list[Observation]) -> dict[str, Any]:
    """One row per IP or domain, a cell per day coloured by what SNDS or Postmaster Tools said."""
    if not observations:
        return {"rows": [], "height": 0, "first": "", "last": ""}
    days = sorted({float(int(o.begin // DAY) * DAY) for o in observations})
    x_of, width = _time_axis(days)
    subjects = list(dict.fromkeys((o.source, o.subject) for o in observations))
    rows = []
    for index, (source, subject) in enumerate(subjects):
        cells = []
        for seen in (o for o in observations if (o.source, o.subject) == (source, subject)):
            rating = rating_of(seen)
            rate = seen.data.get("spam_rate") if source == "postmaster" else seen.data.get("complaint_rate")
            said = f"{rating or 'no rating'}" + (
                f", {'spam' if source == 'postmaster' else 'complaint'} rate {rate:.2%}" if rate is not None else ""
            )
            cells.append(
                {
                    "x": x_of(float(int(seen.begin // DAY) * DAY)),
                    "w": width,
                    "colour": RATING_COLOURS.get(rating, "#d1d5da"),
                    "label": f"{_day(seen.begin)}: {subject} ({'SNDS' if source == 'snds' else 'Postmaster Tools'}): {said}",
                }
            )
        rows.append({"name": f"{subject} ({'SNDS' if source == 'snds' else 'Postmaster Tools'})", "y": index * STRIP_ROW, "cells": cells})
    return {"rows": rows, "height": len(rows) * STRIP_ROW, "first": _day(days[0]), "last": _day(days[-1])}


def source_rows(sources: list[feedback.Source]) -> list[dict[str, Any]]:
    return [
        {
            "ip": s.ip,
            "name": s.reverse_name,
            "provider": s.provider,
            "messages": s.messages,
            "dkim": round(100 * s.rate(s.dkim_pass)),
            "spf": round(100 * s.rate(s.spf_pass)),
            "rate": round(100 * s.rate(s.dmarc_pass)),
            "width": round(2 * 100 * s.rate(s.dmarc_pass), 1),
        }
        for s in sources
    ]


def routes(store: Store, token: str | None, page: Callable[..., Response], resolver_factory: Callable[[], Any] | None) -> list[Route]:
    engine = store.engine

    def login_needed(request: Request) -> Response:
        if not token:  # no admin configured: these pages do not exist
            return page("not_found.html", 404)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    def chosen_period(request: Request) -> str:
        period = request.query_params.get("period", "all")
        return period if period in PERIODS else "all"

    async def named(summaries: list[feedback.DomainSummary]) -> None:
        if resolver_factory is not None:
            await feedback.name_sources(summaries, resolver_factory(), NAME_DEADLINE)

    async def gathered(
        period: str,
    ) -> tuple[list[feedback.DomainSummary], list[dict[str, object]], list[feedback.FailureReports], float, str]:
        since, said = await asyncio.to_thread(period_start, engine, period)
        summaries = await asyncio.to_thread(feedback.summarize, engine, None, since)
        await named(summaries)
        tls = await asyncio.to_thread(feedback.tls_failures, engine, None, since)
        failed = await asyncio.to_thread(feedback.failures, engine, None, since)
        return summaries, tls, failed, since, said

    async def login(request: Request) -> Response:
        if not token:
            return page("not_found.html", 404)
        target = admin.safe_next(request.query_params.get("next", "/reports"))
        if request.method == "GET":
            return page("login.html", next=target, wrong=False)
        form = await admin.form_fields(request)
        if not admin.same_origin(request) or not admin.token_matches(token, str(form.get("token", ""))):
            await asyncio.sleep(0.5)  # guessing the token costs time
            return page("login.html", 403, next=target, wrong=True)
        response = RedirectResponse(admin.safe_next(str(form.get("next", target))), status_code=303)
        admin.start_session(response, request, token)
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        admin.end_session(response)
        return response

    async def reports_page(request: Request) -> Response:
        if not admin.is_admin(request, token):
            return login_needed(request)
        period = chosen_period(request)
        summaries, tls, failed, since, said = await gathered(period)
        domains: list[dict[str, Any]] = []
        for summary in summaries:
            mine = [t for t in tls if t["policy_domain"] == summary.domain]
            seen = await asyncio.to_thread(feedback.observations, engine, since, summary.domain)
            names, days = await asyncio.to_thread(feedback.daily_volume_by_source, engine, summary.domain, since)
            passes = await asyncio.to_thread(feedback.daily_volume, engine, summary.domain, since)
            domains.append(
                {
                    "summary": summary,
                    "by_source": stacked_bars(names, days),
                    "volume": volume_bars(passes),
                    "sources": source_rows(summary.sources[:50]),
                    "more_sources": max(0, len(summary.sources) - 50),
                    "findings": feedback.summary_findings([summary], mine) + reputation_findings(seen),
                    "reputation": reputation_strips(seen),
                    "observations": seen[-60:],
                    "failures": next((f for f in failed if f.domain == summary.domain), None),
                    "tls": mine,
                }
            )
        shown = {d["summary"].domain for d in domains}
        others = []  # domains with TLS or failure reports only
        for name in sorted(({str(t["policy_domain"]) for t in tls} | {f.domain for f in failed}) - shown):
            mine = [t for t in tls if t["policy_domain"] == name]
            others.append(
                {
                    "name": name,
                    "findings": feedback.summary_findings([], mine),
                    "tls": mine,
                    "failures": next((f for f in failed if f.domain == name), None),
                }
            )
        return page("reports.html", domains=domains, others=others, periods=PERIODS, period=period, said=said)

    async def source_page(request: Request) -> Response:
        if not admin.is_admin(request, token):
            return login_needed(request)
        try:
            ip = str(ipaddress.ip_address(request.path_params["ip"]))
        except ValueError:
            return page("not_found.html", 404)
        period = chosen_period(request)
        since, said = await asyncio.to_thread(period_start, engine, period)
        uses = await asyncio.to_thread(feedback.source_uses, engine, ip, since)
        if not uses:
            return page("not_found.html", 404)
        probe = [feedback.DomainSummary("", 0, 0, 0, [feedback.Source(ip, 0, 0, 0, 0)])]
        await named(probe)
        days = await asyncio.to_thread(feedback.daily_volume, engine, None, since, ip)
        seen = await asyncio.to_thread(feedback.observations, engine, since, None, ip)
        return page(
            "source.html",
            ip=ip,
            source=probe[0].sources[0],
            uses=uses,
            volume=volume_bars(days),
            periods=PERIODS,
            period=period,
            said=said,
            reputation=reputation_strips(seen),
            observations=seen[-60:],
            findings=reputation_findings(seen),
        )

    async def export(request: Request) -> Response:
        if not admin.is_admin(request, token):
            return login_needed(request)
        if request.path_params["format"] not in ("csv", "json"):
            return page("not_found.html", 404)
        period = chosen_period(request)
        summaries, tls, failed, since, said = await gathered(period)
        stamp = f"maildoctor-reports-{period}"
        if request.path_params["format"] == "json":
            body = {
                "period": period,
                "since": since,
                "covers": said,
                "domains": [s.to_json() for s in summaries],
                "tls": tls,
                "failure_reports": jsonable(failed),
                "findings": [f.to_json() for f in feedback.summary_findings(summaries, tls)],
            }
            return JSONResponse(body, headers={"Content-Disposition": f'attachment; filename="{stamp}.json"'})
        out = io.StringIO()
        write_summary_csv(summaries, out)
        return Response(
            out.getvalue(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{stamp}.csv"'}
        )

    async def suppressions_page(request: Request) -> Response:
        if not admin.is_admin(request, token):
            return login_needed(request)
        entries = await asyncio.to_thread(suppressions, engine)
        return page("suppressions.html", entries=entries, removed=request.query_params.get("removed", ""))

    async def suppression_remove(request: Request) -> Response:
        if not admin.is_admin(request, token) or not admin.same_origin(request):
            return page("not_found.html", 404) if not token else Response("forbidden", 403)
        form = await admin.form_fields(request)
        address = str(form.get("address", "")).strip().lower()
        removed = await asyncio.to_thread(change_suppressions, engine, [address], "remove", "removed in the web UI") if address else 0
        return RedirectResponse(f"/suppressions?removed={removed}", status_code=303)

    return [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/reports", reports_page),
        Route("/reports/source/{ip}", source_page),
        Route("/reports/export.{format:str}", export),
        Route("/suppressions", suppressions_page),
        Route("/suppressions/remove", suppression_remove, methods=["POST"]),
    ]
