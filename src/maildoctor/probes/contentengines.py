"""Real content filters, when the user has one: SpamAssassin's spamd (the SPAMC protocol over TCP)
and rspamd (its HTTP /checkv2). Each returns the score, the threshold and the rules that hit."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from maildoctor.target import parse_host_port

DEFAULT_TIMEOUT = 30.0
MAX_REPLY = 1 << 20
_RULE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]{2,})\s+(.*)$")


@dataclass
class RuleHit:
    name: str
    score: float
    description: str = ""


@dataclass
class EngineResult:
    engine: str  # "SpamAssassin" or "rspamd"
    where: str
    score: float = 0.0
    threshold: float = 0.0
    action: str = ""  # rspamd's action; SpamAssassin: "spam" or "ham"
    rules: list[RuleHit] = field(default_factory=list)
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "where": self.where,
            "score": self.score,
            "threshold": self.threshold,
            "action": self.action,
            "error": self.error,
            "rules": [{"name": r.name, "score": r.score, "description": r.description} for r in self.rules],
        }


def parse_spamd_reply(reply: bytes) -> EngineResult:
    result = EngineResult("SpamAssassin", "")
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    status = lines[0].split(None, 2) if lines else []
    if len(status) < 2 or not status[0].startswith("SPAMD/") or status[1] != "0":
        result.error = f"spamd answered: {lines[0] if lines else 'nothing'}"
        return result
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "spam":
            verdict, _, numbers = value.partition(";")
            score, _, threshold = numbers.partition("/")
            try:
                result.score, result.threshold = float(score), float(threshold)
            except ValueError:
                result.error = f"unreadable Spam header: {line}"
            result.action = "spam" if verdict.strip().lower() in ("true", "yes") else "ham"
    if not result.action and not result.error:
        result.error = "spamd's answer has no Spam: header"
    for line in body.decode("utf-8", "replace").splitlines():
        match = _RULE_LINE.match(line)
        if match:
            result.rules.append(RuleHit(match.group(2), float(match.group(1)), match.group(3).strip()))
        elif result.rules and line.startswith(" " * 10) and line.strip():  # a description continued
            result.rules[-1].description += " " + line.strip()
    return result


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    data = bytearray()
    while len(data) < MAX_REPLY:
        chunk = await reader.read(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


async def spamd_answers(where: str, timeout: float = 2.0) -> bool:
    """Whether a spamd listens at where (its PING gets PONG)."""
    host, port = parse_host_port(where, 783)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError):
        return False
    try:
        writer.write(b"PING SPAMC/1.5\r\n\r\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (TimeoutError, OSError):
        return False
    finally:
        writer.close()
    return line.startswith(b"SPAMD/") and b"PONG" in line


async def ask_spamd(where: str, message: bytes, timeout: float = DEFAULT_TIMEOUT) -> EngineResult:
    host, port = parse_host_port(where, 783)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError) as exc:
        return EngineResult("SpamAssassin", where, error=f"cannot connect to spamd at {where}: {exc or 'timeout'}")
    try:
        writer.write(b"REPORT SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(message) + message)
        await writer.drain()
        writer.write_eof()
        reply = await asyncio.wait_for(_read_all(reader), timeout)
    except (TimeoutError, OSError) as exc:
        return EngineResult("SpamAssassin", where, error=f"spamd at {where} did not answer: {exc or 'timeout'}")
    finally:
        writer.close()
    result = parse_spamd_reply(reply)
    result.where = where
    return result


async def ask_rspamd(
    url: str, message: bytes, client_ip: str = "", helo: str = "", mail_from: str = "", timeout: float = DEFAULT_TIMEOUT
) -> EngineResult:
    endpoint = url.rstrip("/") + ("" if url.rstrip("/").endswith("/checkv2") else "/checkv2")
    headers = {k: v for k, v in (("IP", client_ip), ("Helo", helo), ("From", mail_from)) if v}
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.post(endpoint, content=message, headers=headers)
            data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return EngineResult("rspamd", url, error=f"rspamd at {url} did not answer usefully: {exc}")
    result = parse_rspamd_reply(data)
    result.where = url
    return result


def parse_rspamd_reply(data: object) -> EngineResult:
    """rspamd's /checkv2 JSON: score, required_score, action and symbols {name: {score, description}}."""
    if not isinstance(data, dict) or not isinstance(data.get("score"), (int, float)):
        return EngineResult("rspamd", "", error=f"rspamd answered without a score: {str(data)[:200]}")
    given = data.get("symbols")
    symbols: dict[str, Any] = given if isinstance(given, dict) else {}
    rules = [
        RuleHit(str(name), float(s.get("score", 0.0)), str(s.get("description", "")))
        for name, s in symbols.items()
        if isinstance(s, dict) and isinstance(s.get("score", 0.0), (int, float))
    ]
    required = data.get("required_score", 15.0)
    return EngineResult(
        "rspamd",
        "",
        float(data["score"]),
        float(required) if isinstance(required, (int, float)) else 15.0,
        str(data.get("action", "")),
        sorted(rules, key=lambda r: -r.score),
    )
