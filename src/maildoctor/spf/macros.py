"""Macro expansion (RFC 7208 §7): turn a parsed macro-string into text for one evaluation."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from maildoctor.frozen import quick_init
from maildoctor.records.spf import MacroString


@quick_init
@dataclass(frozen=True)
class MacroContext:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str  # local@domain, after the 'postmaster' substitution
    domain: str  # <domain> of the current check_host()
    helo: str
    receiver: str = "unknown"
    ip_text: str = ""  # the address as given, for the letter case of %{i}

    @property
    def local_part(self) -> str:
        return self.sender.rsplit("@", 1)[0]

    @property
    def sender_domain(self) -> str:
        return self.sender.rsplit("@", 1)[1]


def ip_for_macro(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, written: str = "") -> str:
    """%{i}: dotted quad, or 32 dot-separated nibbles for IPv6 (RFC 7208 §7.3).

    Nibbles follow the letter case the address was written in, as the reference implementation
    does (DNS ignores the case; explanations shown to people keep it).
    """
    if ip.version == 4:
        return str(ip)
    nibbles = ".".join(ip.exploded.replace(":", ""))
    return nibbles.upper() if written and written == written.upper() and any(c.isalpha() for c in written) else nibbles


def reverse_name(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return ip.reverse_pointer


async def expand(
    macro: MacroString,
    ctx: MacroContext,
    validated_name: Callable[[], Awaitable[str]],
    for_domain: bool = True,
) -> str:
    """Expand every macro; %{p} asks DNS (through validated_name) only when present."""
    out: list[str] = []
    for part in macro.parts:
        if not part.letter:
            out.append(part.literal)
            continue
        value = await _value(part.letter, ctx, validated_name)
        pieces = _split(value, part.delimiters or ".")
        if part.reverse:
            pieces.reverse()
        if part.digits:
            pieces = pieces[-part.digits :]
        text = ".".join(pieces)
        if part.url_escape:
            text = quote(text, safe="-._~")
        out.append(text)
    result = "".join(out)
    if for_domain:
        result = _shorten(result)
    return result


def _split(value: str, delimiters: str) -> list[str]:
    pieces = [""]
    for char in value:
        if char in delimiters:
            pieces.append("")
        else:
            pieces[-1] += char
    return pieces


def _shorten(domain: str) -> str:
    """RFC 7208 §7.3: over 253 characters, drop labels from the left until it fits."""
    while len(domain.rstrip(".")) > 253 and "." in domain:
        domain = domain.split(".", 1)[1]
    return domain


async def _value(letter: str, ctx: MacroContext, validated_name: Callable[[], Awaitable[str]]) -> str:
    if letter == "s":
        return ctx.sender
    if letter == "l":
        return ctx.local_part
    if letter == "o":
        return ctx.sender_domain
    if letter == "d":
        return ctx.domain
    if letter == "i":
        return ip_for_macro(ctx.ip, ctx.ip_text)
    if letter == "p":
        return await validated_name()
    if letter == "v":
        return "in-addr" if ctx.ip.version == 4 else "ip6"
    if letter == "h":
        return ctx.helo
    if letter == "c":
        return str(ctx.ip)
    if letter == "r":
        return ctx.receiver
    if letter == "t":
        return str(int(time.time()))
    raise ValueError(f"unknown macro letter {letter!r}")  # the parser admits no other letters
