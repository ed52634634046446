"""Fetching the MTA-STS policy over HTTPS (RFC 8461 §3.3): one GET, no redirects, size and time limits.

The host is resolved through the project's resolver and the connection goes to that address,
with the policy host as SNI and Host header, so the same fetch runs against a test server."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 §3.3 suggests senders limit the size; 64 KiB is generous
DEFAULT_TIMEOUT = 8.0


@dataclass
class PolicyFetch:
    url: str
    status: int = 0
    content_type: str = ""
    body: str = ""
    error: str = ""  # why no usable answer came back; "" when one did
    too_large: bool = False
    redirect: str = ""

    def describe(self) -> str:
        if self.error:
            return f"GET {self.url}: {self.error}"
        return f"GET {self.url}: HTTP {self.status}, {self.content_type or 'no Content-Type'}, {len(self.body)} bytes"


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile)
    return context


async def fetch_policy(
    host: str, address: str, port: int = 443, timeout: float = DEFAULT_TIMEOUT, cafile: str | None = None
) -> PolicyFetch:
    """GET https://host/.well-known/mta-sts.txt from address, certificate checked against host."""
    shown_port = "" if port == 443 else f":{port}"
    fetch = PolicyFetch(url=f"https://{host}{shown_port}/.well-known/mta-sts.txt")
    netloc = f"[{address}]" if ":" in address else address
    try:
        async with httpx.AsyncClient(verify=_tls_context(cafile), timeout=timeout, follow_redirects=False, trust_env=False) as client:
            async with client.stream(
                "GET",
                f"https://{netloc}:{port}/.well-known/mta-sts.txt",
                headers={"Host": f"{host}{shown_port}", "User-Agent": "maildoctor"},
                extensions={"sni_hostname": host},
            ) as response:
                fetch.status = response.status_code
                fetch.content_type = response.headers.get("content-type", "")
                if response.is_redirect:
                    fetch.redirect = response.headers.get("location", "")
                    return fetch
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_POLICY_BYTES:
                        fetch.too_large = True
                        break
                fetch.body = bytes(body[:MAX_POLICY_BYTES]).decode("utf-8", "replace")
    except httpx.TimeoutException:
        fetch.error = "no answer (timeout)"
    except httpx.ConnectError as exc:
        cause = _root_cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            fetch.error = f"the certificate does not verify: {cause.verify_message}"
        elif isinstance(cause, OSError) and cause.strerror:
            fetch.error = f"cannot connect: {cause.strerror.lower()}"
        else:
            fetch.error = f"cannot connect: {cause}"
    except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
        fetch.error = f"{type(exc).__name__}: {exc}"
    return fetch


def _root_cause(exc: BaseException) -> BaseException:
    """httpx wraps httpcore's exception, which wraps the socket's or the TLS library's."""
    for _ in range(10):
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc
