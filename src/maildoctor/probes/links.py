"""Checking a message's links as a reader's click would: HEAD (GET when HEAD is refused), at most
3 redirects, 5 s each, and only to public addresses: a link never makes maildoctor reach
loopback, private or link-local addresses (a hostile message must not probe the inbox's network)
unless the operator allows it. Names are resolved through the project's resolver, and the
connection goes to the address checked (no second lookup a DNS rebinding could change)."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from maildoctor.dns.answer import Resolver, ask_all

MAX_REDIRECTS = 3
TIMEOUT = 5.0
MAX_CHECKED = 20  # links per message


@dataclass
class LinkCheck:
    url: str
    status: int = 0
    final_url: str = ""
    redirects: int = 0
    error: str = ""

    @property
    def broken(self) -> bool:
        return bool(self.error) or self.status >= 400

    def describe(self) -> str:
        hops = f" after {self.redirects} redirect{'s' if self.redirects != 1 else ''} to {self.final_url}" if self.redirects else ""
        return f"{self.url}: {self.error or f'HTTP {self.status}'}{hops}"

    def to_json(self) -> dict[str, object]:
        return {"url": self.url, "status": self.status, "final_url": self.final_url, "redirects": self.redirects, "error": self.error}


async def _address(resolver: Resolver, host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    a, aaaa = await ask_all(resolver, [(host, "A"), (host, "AAAA")])
    found = a.addresses() + aaaa.addresses()
    return found[0] if found else None


def _public(address: str) -> bool:
    return ipaddress.ip_address(address).is_global


async def _pinned(resolver: Resolver, url: str, allow_private: bool, verb: str) -> tuple[str, str, dict[str, str]] | str:
    """The URL aimed at the address its host resolves to (so that what was checked is what is
    reached), with the Host header and TLS name to send; or why it is not asked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = await _address(resolver, host)
    if address is None:
        return f"{host} does not resolve"
    if not allow_private and not _public(address):
        return f"{host} is at {address}, not a public address: not {verb}"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    netloc = f"[{address}]" if ":" in address else address
    target = f"{parts.scheme}://{netloc}:{port}{parts.path or '/'}{'?' + parts.query if parts.query else ''}"
    return target, parts.netloc.rsplit("@", 1)[-1], {"sni_hostname": host} if parts.scheme == "https" else {}


async def check_link(resolver: Resolver, url: str, allow_private: bool = False, timeout: float = TIMEOUT) -> LinkCheck:
    check = LinkCheck(url)
    current = url
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, verify=True) as client:
        for hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                check.error = f"not a web address: {current[:200]}"
                return check
            pinned = await _pinned(resolver, current, allow_private, "fetched")
            if isinstance(pinned, str):
                check.error = pinned
                return check
            target, host, extensions = pinned
            headers = {"Host": host, "User-Agent": "maildoctor link check"}
            try:
                response = await client.request("HEAD", target, headers=headers, extensions=extensions)
                if response.status_code in (405, 501):  # HEAD refused: ask as a browser does, without reading the body
                    async with client.stream("GET", target, headers=headers, extensions=extensions) as streamed:
                        response = streamed
            except httpx.TimeoutException:
                check.error = f"no answer within {timeout:g} s"
                return check
            except (httpx.HTTPError, OSError) as exc:
                check.error = f"cannot fetch: {exc or type(exc).__name__}"
                return check
            check.status, check.final_url, check.redirects = response.status_code, current, hop
            location = response.headers.get("location", "")
            if not response.is_redirect or not location:
                return check
            current = urljoin(current, location)
    check.error = f"more than {MAX_REDIRECTS} redirects"
    return check


async def check_links(resolver: Resolver, urls: list[str], allow_private: bool = False, timeout: float = TIMEOUT) -> list[LinkCheck]:
    distinct = list(dict.fromkeys(urls))[:MAX_CHECKED]
    return list(await asyncio.gather(*(check_link(resolver, url, allow_private, timeout) for url in distinct)))


@dataclass
class OneClick:
    """What a one-click unsubscribe POST (RFC 8058) got back."""

    url: str
    status: int = 0
    error: str = ""

    @property
    def works(self) -> bool:
        return not self.error and 200 <= self.status < 300


async def one_click_post(
    resolver: Resolver, url: str, allow_private: bool = False, cafile: str | None = None, timeout: float = TIMEOUT
) -> OneClick:
    """POST List-Unsubscribe=One-Click to the URL as a mailbox provider does (HTTPS, to the address
    the name resolves to, public addresses only unless allowed), without following redirects."""
    result = OneClick(url)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        result.error = "RFC 8058 one-click needs an https:// URL"
        return result
    pinned = await _pinned(resolver, url, allow_private, "asked")
    if isinstance(pinned, str):
        result.error = pinned
        return result
    target, host, extensions = pinned
    headers = {"Host": host, "User-Agent": "maildoctor one-click check", "Content-Type": "application/x-www-form-urlencoded"}
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cafile) if cafile else True
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, verify=verify) as client:
            response = await client.post(target, content=b"List-Unsubscribe=One-Click", headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        result.error = f"no answer within {timeout:g} s"
        return result
    except (httpx.HTTPError, OSError) as exc:
        result.error = f"cannot post: {exc or type(exc).__name__}"
        return result
    result.status = response.status_code
    if response.is_redirect:
        result.error = f"answered {response.status_code} (a redirect): a one-click POST must be answered directly"
    return result
