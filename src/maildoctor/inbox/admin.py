"""Who is the admin: an `Authorization: Bearer TOKEN` header (the API), or the session cookie the
login form sets (the pages). The token itself never travels in a URL, where logs, history and
Referer headers would keep it.

The session is stateless: its expiry and an HMAC of it under the admin token. Changing the token
ends every session."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "maildoctor_session"
SESSION_SECONDS = 12 * 3600


def _mac(token: str, expires: int) -> str:
    return hmac.new(token.encode(), f"maildoctor session until {expires}".encode(), hashlib.sha256).hexdigest()


def session_value(token: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + SESSION_SECONDS
    return f"{expires}.{_mac(token, expires)}"


def session_valid(token: str, value: str, now: float | None = None) -> bool:
    expires_text, _, mac = value.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    return expires > (now if now is not None else time.time()) and hmac.compare_digest(mac.encode(), _mac(token, expires).encode())


def token_matches(token: str | None, given: str) -> bool:
    return bool(token) and bool(given) and hmac.compare_digest(given.encode(), token.encode())  # type: ignore[union-attr]


def is_admin(request: Request, token: str | None) -> bool:
    if not token:
        return False
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        return token_matches(token, bearer[7:].strip())
    return session_valid(token, request.cookies.get(SESSION_COOKIE, ""))


def same_origin(request: Request) -> bool:
    """A form post from our own pages: the browser's Origin (or Referer) names this host. The
    SameSite=Strict cookie already stays home; this also turns away a post from another site
    that carries a header instead."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser (curl with the header): the credential decides
    return urlsplit(origin).netloc == request.headers.get("host", "")


def start_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_value(token),
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(target: str) -> str:
    """Where to go after logging in: a path of this site only (never //elsewhere or a full URL)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/reports"


FORM_LIMIT = 8192  # bytes: the admin's forms hold a token, a path or an address


async def form_fields(request: Request, limit: int = FORM_LIMIT) -> dict[str, str]:
    """The fields of a small urlencoded form post (the first value of each); anything bigger than
    limit bytes or of another type is read as no fields."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    except ValueError:  # more fields than any of our forms has
        return {}
    return {name: values[0] for name, values in fields.items()}
