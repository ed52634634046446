"""The link checker against a loopback HTTP server: a working link, a broken one, a redirect chain,
too many redirects, HEAD refused; and the guard that keeps links away from private addresses."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.probes.links import check_link, check_links

ZONE = "$ORIGIN links.test.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nwww IN A 127.0.0.1\n"
RESOLVER = ZoneResolver(ZoneSet([load_zone_text(ZONE, None)]))


class Site(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def _answer(self) -> None:
        Site.seen.append(f"{self.command} {self.path} Host={self.headers['Host']}")
        routes = {"/ok": (200, ""), "/gone": (404, ""), "/r1": (301, "/r2"), "/r2": (302, "/ok"), "/loop": (302, "/loop")}
        if self.path == "/nohead" and self.command == "HEAD":
            status, location = 405, ""
        else:
            status, location = routes.get(self.path, (200 if self.path == "/nohead" else 404, ""))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


def test_links_are_checked_as_a_click_would(site: int) -> None:
    base = f"http://www.links.test:{site}"
    ok, gone, chain, loop, nohead = asyncio.run(
        check_links(RESOLVER, [f"{base}/ok", f"{base}/gone", f"{base}/r1", f"{base}/loop", f"{base}/nohead"], allow_private=True)
    )
    assert (ok.status, ok.broken) == (200, False) and f"HEAD /ok Host=www.links.test:{site}" in Site.seen
    assert (gone.status, gone.broken) == (404, True)
    assert (chain.status, chain.redirects, chain.final_url, chain.broken) == (200, 2, f"{base}/ok", False)
    assert loop.broken and "more than 3 redirects" in loop.error
    assert (nohead.status, nohead.broken) == (200, False) and "GET /nohead" in " ".join(Site.seen)


def test_a_link_never_reaches_a_private_address_unless_allowed(site: int) -> None:
    Site.seen.clear()
    for url in (f"http://www.links.test:{site}/ok", f"http://127.0.0.1:{site}/ok", f"http://[::1]:{site}/ok", "http://10.1.2.3/"):
        result = asyncio.run(check_link(RESOLVER, url))
        assert result.broken and "not a public address: not fetched" in result.error, url
    assert Site.seen == []
    assert "does not resolve" in asyncio.run(check_link(RESOLVER, "http://nowhere.links.test/")).error
    assert "not a web address" in asyncio.run(check_link(RESOLVER, "ftp://www.links.test/")).error
