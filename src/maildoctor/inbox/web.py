"""The web side of the inbox (Starlette, server-rendered Jinja2 templates, one small script, no CDN).

Result pages are reachable only by their token; every piece of message content is escaped by the
templates, and the Content-Security-Policy allows no inline script, so a hostile message cannot run
anything in the viewer's browser."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from maildoctor.dns.zonedata import NotAZone, ZoneLoadError, has_origin_directive
from maildoctor.engine import run_audit
from maildoctor.fix.changeset import change_set
from maildoctor.fix.plan import FixPlan, plan_zone
from maildoctor.inbox import admin, dashboard
from maildoctor.inbox.views import RateLimit, change_rows, iso_time, message_view, page_sections, summary_of
from maildoctor.message.parse import parse_message
from maildoctor.render.compare import compare_reports
from maildoctor.render.json import document
from maildoctor.store.database import PASTED, Received, Store
from maildoctor.target import Target, parse_domain
from maildoctor.zoneload import zone_source

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
    " frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # a form post carries its Origin (no-referrer makes it "null"); nothing leaves the site
    "X-Frame-Options": "DENY",
}
# The received HTML, shown in a frame of its own: no script, no form, no request anywhere (remote
# images stay blocked and are counted instead), inline styles and data: images only.
MESSAGE_HTML_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

AUDIT_BUDGET = 20.0  # seconds for a domain audit asked on the start page
FORM_POSTS, FORM_WINDOW = 10, 600.0  # submissions per client address, per 10 minutes
PASTE_LIMIT = 3 * 1024 * 1024  # bytes of the urlencoded form: about 1 MB of message


def _template_env() -> Environment:
    path = str(resources.files("maildoctor.inbox").joinpath("templates"))
    env = Environment(loader=FileSystemLoader(path), autoescape=select_autoescape(["html"]))
    env.filters["day"] = lambda when: time.strftime("%Y-%m-%d", time.gmtime(when))
    return env


def create_app(
    store: Store,
    domain: str,
    admin_token: str | None = None,
    resolver_factory: Callable[[], Any] | None = None,
    content_filter: str = "none",
    submit: Callable[[int], None] | None = None,
) -> Starlette:
    """submit: hands a stored message to the grader (the paste form's messages are graded as mail is)."""
    env = _template_env()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(domain=domain, **context), status_code=status, headers=SECURITY_HEADERS)

    def api(data: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)

    def message_param(request: Request, name: str = "m") -> int | None:
        value = request.query_params.get(name, "")
        return int(value) if value.isdigit() and len(value) < 18 else None

    def history_rows(rows: list[dict[str, Any]], test_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": r["id"],
                "received": iso_time(r["received"]),
                "client_ip": r["client_ip"],
                "score": r["score"],
                "status": "done" if r["report"] else "analysing",
                "url": f"/t/{test_id}?m={r['id']}",
                "api": f"/api/tests/{test_id}/messages/{r['id']}",
            }
            for r in rows
        ]

    async def view(test_id: str, message_id: int | None = None) -> dict[str, Any] | None:
        found = await asyncio.to_thread(store.test, test_id, message_id)
        if found is None or (message_id is not None and found["message"] is None):
            return None
        message = found["message"]
        status = "waiting" if message is None else "done" if message["report"] else "analysing"
        report = json.loads(message["report"]) if message and message["report"] else None
        return {
            "id": test_id,
            "address": f"{found['test']['address']}@{domain}",
            "status": status,
            "report": report,
            "url": f"/t/{test_id}",
            "message_id": message["id"] if message else None,
        }

    limiter = RateLimit(FORM_POSTS, FORM_WINDOW)

    def too_many() -> Response:
        return page("error.html", 429, message="Too many submissions from your address: try again in a few minutes.")

    async def index(request: Request) -> Response:
        return page("index.html", content_filter=content_filter)

    async def audit_domain(request: Request) -> Response:
        if not limiter.allow(request.client.host if request.client else "?"):
            return too_many()
        try:
            name = parse_domain((await admin.form_fields(request)).get("domain", ""))
        except ValueError as exc:
            return page("error.html", 400, message=str(exc))
        if resolver_factory is None:
            return page("error.html", 503, message="This server audits no domain.")
        target = Target(domain=name)
        report = await run_audit(target, resolver_factory(), budget=AUDIT_BUDGET)
        data = {**document(report), "fix": FixPlan(target=target, before=report, changes=change_set(report)).to_json()}
        audit_id = await asyncio.to_thread(store.save_audit, name, data)
        return RedirectResponse(f"/a/{audit_id}", status_code=303, headers=SECURITY_HEADERS)

    async def audit_zone(request: Request) -> Response:
        """A zone file pasted before it is published: audited offline, and fixed."""
        if not limiter.allow(request.client.host if request.client else "?"):
            return too_many()
        fields = await admin.form_fields(request, PASTE_LIMIT)
        text, origin = fields.get("zone", ""), fields.get("origin", "").strip()
        try:
            name = parse_domain(origin) if origin else None
            if name is None and not has_origin_directive(text):
                raise ValueError("The zone has no $ORIGIN line: give its domain in the form.")
            source = zone_source(text.replace("\r\n", "\n"), Path(f"{name or 'pasted'}.zone"), name)
        except (ValueError, ZoneLoadError, NotAZone) as exc:
            return page("error.html", 400, message=str(exc).replace("pasted.zone", "the zone"))
        plan = await plan_zone(source, Target(domain=source.domain))
        data = {**document(plan.before), "fix": plan.to_json(), "fixed_zone": plan.patch.text if plan.patch else ""}
        audit_id = await asyncio.to_thread(store.save_audit, source.domain, data)
        return RedirectResponse(f"/a/{audit_id}", status_code=303, headers=SECURITY_HEADERS)

    async def audit_page(request: Request) -> Response:
        found = await asyncio.to_thread(store.audit, request.path_params["audit_id"])
        if found is None:
            return page("not_found.html", 404)
        report = found["report"]
        return page(
            "audit.html", audit=found, sections=page_sections(report), summary=summary_of(report), changes=change_rows(report.get("fix"))
        )

    async def fixed_zone(request: Request) -> Response:
        found = await asyncio.to_thread(store.audit, request.path_params["audit_id"])
        if found is None or not found["report"].get("fixed_zone"):
            return page("not_found.html", 404)
        disposition = f'attachment; filename="{found["domain"]}.zone"'
        headers = {**SECURITY_HEADERS, "Content-Disposition": disposition}
        return Response(found["report"]["fixed_zone"], media_type="text/plain; charset=utf-8", headers=headers)

    async def api_audit(request: Request) -> Response:
        found = await asyncio.to_thread(store.audit, request.path_params["audit_id"])
        if found is None:
            return api({"error": "no such audit"}, 404)
        return api({"id": found["id"], "domain": found["domain"], "created": iso_time(found["created"]), "report": found["report"]})

    async def paste(request: Request) -> Response:
        if not limiter.allow(request.client.host if request.client else "?"):
            return too_many()
        fields = await admin.form_fields(request, PASTE_LIMIT)
        text = fields.get("message", "").strip()
        if not text or submit is None:
            return page("error.html", 400, message="Paste a message (its source) or at least its header block into the form.")
        raw = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "surrogateescape") + b"\r\n"
        test_id, _ = await asyncio.to_thread(store.create_test)
        message_id = await store.store_message(Received(test_id, "", "", "", PASTED, False, raw))
        submit(message_id)
        return RedirectResponse(f"/t/{test_id}", status_code=303, headers=SECURITY_HEADERS)

    async def new_test(request: Request) -> Response:
        test_id, _ = await asyncio.to_thread(store.create_test)
        return RedirectResponse(f"/t/{test_id}", status_code=303, headers=SECURITY_HEADERS)

    async def result_page(request: Request) -> Response:
        test_id = request.path_params["test_id"]
        data = await view(test_id, message_param(request))
        if data is None:
            return page("not_found.html", 404)
        history = history_rows(await asyncio.to_thread(store.history, test_id), test_id)
        raw, shown = "", None
        if data["message_id"] and data["status"] == "done":
            raw_bytes = await asyncio.to_thread(store.raw, data["message_id"]) or b""
            raw = raw_bytes[:200_000].decode("utf-8", "replace")
            shown = await asyncio.to_thread(message_view, raw_bytes)
        report = data["report"]
        sections = page_sections(report) if report else []
        summary = summary_of(report) if report else None
        return page("test.html", test=data, sections=sections, raw=raw, summary=summary, history=history, shown=shown)

    async def message_html(request: Request) -> Response:
        data = await view(request.path_params["test_id"], message_param(request))
        if data is None or not data["message_id"]:
            return page("not_found.html", 404)
        raw_bytes = await asyncio.to_thread(store.raw, data["message_id"]) or b""
        parsed = await asyncio.to_thread(parse_message, raw_bytes)
        return HTMLResponse(parsed.html or "<p>(no HTML part)</p>", headers=MESSAGE_HTML_HEADERS)

    async def graded_pair(request: Request) -> tuple[dict[str, Any], dict[str, Any]] | None:
        test_id = request.path_params["test_id"]
        first, second = message_param(request, "a"), message_param(request, "b")
        if first is None or second is None:
            return None
        before, after = await view(test_id, first), await view(test_id, second)
        if before is None or after is None or not before["report"] or not after["report"]:
            return None
        return before, after

    async def compare_page(request: Request) -> Response:
        pair = await graded_pair(request)
        if pair is None:
            return page("not_found.html", 404)
        before, after = pair
        return page("compare.html", test=after, before=before, after=after, change=compare_reports(before["report"], after["report"]))

    async def api_messages(request: Request) -> Response:
        test_id = request.path_params["test_id"]
        if await view(test_id) is None:
            return api({"error": "no such test"}, 404)
        return api({"id": test_id, "messages": history_rows(await asyncio.to_thread(store.history, test_id), test_id)})

    async def api_message(request: Request) -> Response:
        test_id, message_id = request.path_params["test_id"], request.path_params["message_id"]
        data = await view(test_id, message_id if isinstance(message_id, int) else None)
        if data is None:
            return api({"error": "no such message"}, 404)
        return api({"id": data["message_id"], "status": data["status"], **({"report": data["report"]} if data["report"] else {})})

    async def api_compare(request: Request) -> Response:
        pair = await graded_pair(request)
        if pair is None:
            return api({"error": "give a= and b=, two graded messages of this test"}, 404)
        return api(compare_reports(pair[0]["report"], pair[1]["report"]))

    async def api_create(request: Request) -> Response:
        test_id, local = await asyncio.to_thread(store.create_test)
        return api({"id": test_id, "address": f"{local}@{domain}", "url": f"/t/{test_id}"}, 201)

    async def api_get(request: Request) -> Response:
        data = await view(request.path_params["test_id"])
        if data is None:
            return api({"error": "no such test"}, 404)
        body: dict[str, Any] = {"id": data["id"], "address": data["address"], "status": data["status"]}
        if data["report"]:
            body["report"] = data["report"]
        return api(body)

    async def api_list(request: Request) -> Response:
        if not admin.is_admin(request, admin_token):
            return api({"error": "admin token required"}, 403 if admin_token else 404)
        rows = await asyncio.to_thread(store.list_tests)
        return api({"tests": [{**r, "address": f"{r['address']}@{domain}", "created": iso_time(r["created"])} for r in rows]})

    async def api_delete(request: Request) -> Response:
        if not admin.is_admin(request, admin_token):
            return api({"error": "admin token required"}, 403 if admin_token else 404)
        gone = await asyncio.to_thread(store.delete_test, request.path_params["test_id"])
        return api({"deleted": gone}, 200 if gone else 404)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return api({"error": "not found"}, 404)
        return page("not_found.html", 404)

    static = StaticFiles(directory=str(resources.files("maildoctor.inbox").joinpath("static")))
    routes = [
        Route("/", index),
        Route("/tests", new_test, methods=["POST"]),
        Route("/paste", paste, methods=["POST"]),
        Route("/audit", audit_domain, methods=["POST"]),
        Route("/zone", audit_zone, methods=["POST"]),
        Route("/a/{audit_id}", audit_page),
        Route("/a/{audit_id}/zone", fixed_zone),
        Route("/api/audits/{audit_id}", api_audit),
        Route("/t/{test_id}", result_page),
        Route("/t/{test_id}/compare", compare_page),
        Route("/t/{test_id}/html", message_html),
        *dashboard.routes(store, admin_token, page, resolver_factory),
        Route("/api/tests", api_create, methods=["POST"]),
        Route("/api/tests", api_list, methods=["GET"]),
        Route("/api/tests/{test_id}", api_get, methods=["GET"]),
        Route("/api/tests/{test_id}/messages", api_messages, methods=["GET"]),
        Route("/api/tests/{test_id}/messages/{message_id:int}", api_message, methods=["GET"]),
        Route("/api/tests/{test_id}/compare", api_compare, methods=["GET"]),
        Route("/api/tests/{test_id}", api_delete, methods=["DELETE"]),
        Route("/favicon.ico", lambda request: RedirectResponse("/static/favicon.svg", status_code=301, headers=SECURITY_HEADERS)),
        Mount("/static", static, name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found})
