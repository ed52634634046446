"""The relay of a pool, for Postfix: a socketmap server (Postfix's socketmap_table(5): netstrings
"<name> <key>" in, "OK <value>" out). `transport_maps = socketmap:inet:127.0.0.1:8027:outbound`
makes Postfix ask, for each message, which relay to use: the first of the pool on no list.

Why a socketmap and not a generated map with postmap and postfix reload: the answer changes the
moment a cycle sees a listing, with no reload and no file to get out of step; and when the monitor
is down, the lookup fails, so Postfix defers the mail (a temporary error; it is retried) — it is
never sent through a relay nobody checked, and never bounced. The monitor never answers with no
relay: when all are listed it names the first and an alert says so."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from maildoctor.monitor.config import Pool, Relay

log = logging.getLogger("maildoctor.monitor")
MAX_REQUEST = 10_000  # bytes of one netstring: a name and an address are far shorter
IDLE = 60.0  # seconds a connection may wait between requests (Postfix keeps it open)


def netstring(text: str) -> bytes:
    data = text.encode("utf-8")
    return str(len(data)).encode() + b":" + data + b","


async def read_netstring(reader: asyncio.StreamReader) -> str | None:
    """One request, or None at the end of the connection or on anything that is not a netstring."""
    length = await reader.readuntil(b":")
    if not length[:-1].isdigit() or int(length[:-1]) > MAX_REQUEST:
        return None
    data = await reader.readexactly(int(length[:-1]) + 1)
    if not data.endswith(b","):
        return None
    return data[:-1].decode("utf-8", "replace")


def answer(request: str, pools: dict[str, Pool], relay_for: Callable[[Pool], tuple[Relay, bool]]) -> str:
    name, _, key = request.partition(" ")
    pool = pools.get(name)
    if pool is None or not key:
        return "NOTFOUND "
    relay, _ = relay_for(pool)
    return f"OK {relay.nexthop}"


async def serve_socketmap(
    host: str, port: int, pools: list[Pool], relay_for: Callable[[Pool], tuple[Relay, bool]]
) -> asyncio.base_events.Server:
    by_name = {p.name: p for p in pools}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await asyncio.wait_for(read_netstring(reader), IDLE)
                if request is None:
                    break
                writer.write(netstring(answer(request, by_name, relay_for)))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
