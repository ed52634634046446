"""Who delivered the message: client IP, HELO and envelope sender, from the user's options or from
what the receiving server wrote (Received-SPF, Authentication-Results, Return-Path, Received).
Pure."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from maildoctor.message.authresults import AuthResults, ip_in_comment
from maildoctor.message.parse import ParsedMessage

_RECEIVED_FROM = re.compile(r"^\s*from\s+(\S+)(?:\s+\(([^)]*)\))?", re.IGNORECASE)
_BRACKETED = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_HELO_IN = re.compile(r"helo=([^\s)\];]+)", re.IGNORECASE)


@dataclass
class ReceivedHop:
    helo: str
    reverse_name: str
    ip: str
    by: str


@dataclass
class Connection:
    ip: str = ""
    helo: str = ""
    mail_from: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # field -> where it was read

    def to_json(self) -> dict[str, object]:
        return {"client_ip": self.ip, "helo": self.helo, "mail_from": self.mail_from, "sources": self.sources}


def _valid_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""


def parse_received(value: str) -> ReceivedHop | None:
    match = _RECEIVED_FROM.match(value)
    if not match:
        return None
    helo, inside = match.group(1), match.group(2) or ""
    bracket = _BRACKETED.search(inside) or _BRACKETED.search(helo)
    ip = _valid_ip(bracket.group(1)) if bracket else ""
    helo_in = _HELO_IN.search(inside)
    reverse = inside.split()[0].rstrip(".") if inside and not inside.strip().startswith("[") else ""
    if helo_in:  # Exim writes "from rdns ([ip] helo=name)": the first word is then the reverse name
        reverse, helo = helo, helo_in.group(1)
    by = re.search(r"\bby\s+(\S+)", value, re.IGNORECASE)
    return ReceivedHop(
        helo.strip("[]").rstrip("."), reverse.rstrip(".") if reverse != "unknown" else "", ip, by.group(1).rstrip(";").lower() if by else ""
    )


def infer_connection(
    message: ParsedMessage,
    results: list[AuthResults],
    ip: str = "",
    helo: str = "",
    mail_from: str = "",
    given_by: str = "given on the command line",
) -> Connection:
    """given_by: where ip, helo and mail_from come from, as the report says it."""
    connection = Connection()
    for name, value in (("ip", ip), ("helo", helo), ("mail_from", mail_from)):
        if value:
            setattr(connection, name, value)
            connection.sources[name] = given_by

    def offer(name: str, value: str, source: str) -> None:
        if value and not getattr(connection, name):
            setattr(connection, name, value)
            connection.sources[name] = source

    for header in [r for r in results if r.header == "Received-SPF"][:1]:
        spf = header.results[0]
        offer("ip", _valid_ip(spf.properties.get("client-ip", "")), "the topmost Received-SPF header (client-ip=)")
        offer("helo", spf.properties.get("helo", ""), "the topmost Received-SPF header (helo=)")
        offer("mail_from", spf.properties.get("envelope-from", "").strip("<>"), "the topmost Received-SPF header (envelope-from=)")
        found = re.search(r"domain of (\S+@\S+?)\)?(?:\s|$)", spf.comment)
        offer("mail_from", found.group(1).rstrip(").,;") if found else "", "the topmost Received-SPF header (its comment)")
        offer("ip", ip_in_comment(spf.comment), "the topmost Received-SPF header (its comment)")
    for header in [r for r in results if r.header == "Authentication-Results"][:1]:
        for entry in header.results:
            if entry.method != "spf":
                continue
            offer(
                "mail_from",
                entry.properties.get("smtp.mailfrom", entry.properties.get("smtp.mail", "")),
                f"the topmost Authentication-Results header ({header.authserv_id}, smtp.mailfrom)",
            )
            offer(
                "helo",
                entry.properties.get("smtp.helo", ""),
                f"the topmost Authentication-Results header ({header.authserv_id}, smtp.helo)",
            )
            offer("ip", ip_in_comment(entry.comment), f"the topmost Authentication-Results header ({header.authserv_id}, its SPF comment)")
    return_path = message.first("Return-Path")
    if return_path:
        offer("mail_from", return_path.strip().strip("<>"), "the Return-Path header")
    for value in message.all("Received"):
        hop = parse_received(value)
        if hop is None or not hop.ip or ipaddress.ip_address(hop.ip).is_loopback:
            continue  # the receiver's own internal hops (amavis, a local filter) say nothing of the sender
        offer("ip", hop.ip, f"the topmost Received header from outside (by {hop.by or 'the receiver'})")
        offer("helo", hop.helo, f"the topmost Received header from outside (by {hop.by or 'the receiver'})")
        break
    return connection


def is_private_address(text: str) -> bool:
    """Loopback, private, link-local or unique-local: an address the internet's receivers never see."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local
