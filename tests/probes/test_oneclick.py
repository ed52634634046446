"""The one-click unsubscribe POST (RFC 8058), against a loopback HTTPS server, and in compliance --probe."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.probes.links import one_click_post
from tests.tls import TestCA, make_ca

ZONE = "$ORIGIN news.lab.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nlist IN A 127.0.0.1\n"


class Unsubscribe(http.server.BaseHTTPRequestHandler):
    posted: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Unsubscribe.posted.append(body)
        self.send_response(200 if self.path == "/u/ok" else 302 if self.path == "/u/moved" else 500)
        if self.path == "/u/moved":
            self.send_header("Location", "/login")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, TestCA]]:
    ca = make_ca(tmp_path_factory.mktemp("ca"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unsubscribe)
    server.socket = ca.issue(["list.news.lab"]).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], ca
    server.shutdown()


def post(url: str, ca: TestCA, allow_private: bool = True):  # noqa: ANN201
    resolver = ZoneResolver(ZoneSet([load_zone_text(ZONE, None)]))
    return asyncio.run(one_click_post(resolver, url, allow_private, ca.cafile))


def test_a_one_click_post_is_made_as_a_provider_makes_it(https: tuple[int, TestCA]) -> None:
    port, ca = https
    done = post(f"https://list.news.lab:{port}/u/ok", ca)
    assert done.works and done.status == 200 and Unsubscribe.posted[-1] == b"List-Unsubscribe=One-Click"
    moved = post(f"https://list.news.lab:{port}/u/moved", ca)
    assert not moved.works and "a redirect" in moved.error
    assert not post(f"https://list.news.lab:{port}/u/broken", ca).works
    private = post(f"https://list.news.lab:{port}/u/ok", ca, allow_private=False)
    assert not private.works and "not a public address" in private.error  # the default: public addresses only
    assert "https://" in post("http://list.news.lab/u/ok", ca).error


@pytest.mark.parametrize(("path", "state"), [("/u/ok", "pass"), ("/u/broken", "fail")])
def test_compliance_probe_posts_to_the_messages_one_click_url(https: tuple[int, TestCA], tmp_path: Path, path: str, state: str) -> None:
    import json

    from maildoctor.checks.common import quote_txt
    from tests.keys import rsa_p
    from tests.message.signing import message, sign
    from tests.test_cli import run

    port, ca = https
    zone = tmp_path / "news.lab.zone"
    key = quote_txt(f"v=DKIM1; k=rsa; p={rsa_p()}")
    zone.write_text(
        ZONE + f'@ IN TXT "v=spf1 -all"\n_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@news.lab"\nrsa._domainkey IN TXT {key}\n'
    )
    headers = f"List-Unsubscribe: <https://list.news.lab:{port}{path}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    signed_headers = [b"from", b"to", b"subject", b"date", b"list-unsubscribe", b"list-unsubscribe-post"]
    raw = sign(
        message("news@news.lab", body="News.\r\n\r\nUnsubscribe: https://list.news.lab/u\r\n", extra=headers),
        domain="news.lab",
        include_headers=signed_headers,
    )
    sample = tmp_path / "sample.eml"
    sample.write_bytes(raw)
    done = run(
        "compliance",
        "news.lab",
        "--message",
        str(sample),
        "--zone",
        str(zone),
        "--probe",
        "--probe-allow-private",
        "--cafile",
        ca.cafile,
        "--format",
        "json",
    )
    one_click = next(r for r in json.loads(done.stdout)["rules"] if (r["provider"], r["check"]) == ("Gmail", "one_click"))
    assert one_click["state"] == state, one_click
    assert (
        ("the POST got HTTP 200" in one_click["evidence"])
        if state == "pass"
        else ("one-click POST" in one_click["evidence"] and "HTTP 500" in one_click["evidence"])
    )
