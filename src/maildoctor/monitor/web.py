"""The monitor's HTTP side: /metrics for Prometheus, /api/status as JSON, and a status page with
each target's state and the timeline of alerts."""

from __future__ import annotations

import datetime
from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from maildoctor.monitor.service import Monitor

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _when(value: float | None) -> str:
    if not value:
        return "—"
    return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def create_monitor_app(monitor: Monitor) -> Starlette:
    env = Environment(
        loader=FileSystemLoader(str(resources.files("maildoctor.monitor") / "templates")), autoescape=select_autoescape(["html"])
    )
    env.filters["when"] = _when

    async def status_page(request: Request) -> Response:
        status = monitor.status()
        target = request.query_params.get("target", "")
        if target:  # one target's timeline: every alert it had, oldest last
            status["recent_alerts"] = [a.to_json() for a in monitor.store.alerts(limit=500) if a.target == target]
        html = env.get_template("status.html").render(status=status, target=target)
        return HTMLResponse(html, headers=HEADERS)

    async def api_status(request: Request) -> Response:
        return JSONResponse(monitor.status(), headers=HEADERS)

    async def metrics(request: Request) -> Response:
        body, content_type = monitor.metrics_text()
        return Response(body, media_type=content_type)

    return Starlette(routes=[Route("/", status_page), Route("/api/status", api_status), Route("/metrics", metrics)])
