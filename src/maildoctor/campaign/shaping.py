"""Postfix shaped per provider: one transport per mailbox provider (master.cf entries), its
concurrency, rate delay and recipients per message (main.cf), and the recipient domains routed to
it by their MX (a transport map). Postfix groups mail by recipient domain; a company domain on
Google's MX is Google's, which only the map built by MX knows: it is written from the list's
domains (the monitor's socketmap answers for relays, not for providers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from maildoctor.campaign.plans import sending_data


def transport_name(provider: str) -> str:
    return "md_" + re.sub(r"[^a-z0-9]+", "_", provider.lower()).strip("_")


@dataclass(frozen=True)
class Shaping:
    master_cf: str
    main_cf: str
    transport: str  # the map: domain → transport
    transports: dict[str, str]  # provider → transport name


def shape_postfix(
    domains: dict[str, str], consumer: dict[str, list[str]], ips: int = 1, own_limits: dict[str, dict[str, Any]] | None = None
) -> Shaping:
    """domains: recipient domain → provider (by MX); consumer: each provider's own domains
    (gmail.com, outlook.com), routed too. One transport per provider with limits in the data,
    each held to the provider's connections for the IPs."""
    data = {**sending_data()["providers"], **(own_limits or {})}  # the user's own limits over the shipped ones
    used = sorted(p for p in data if p != "other" and (p in domains.values() or consumer.get(p)))
    transports = {p: transport_name(p) for p in used}
    master = ["# maildoctor shape postfix: one transport per mailbox provider (append to master.cf)"]
    main = ["# maildoctor shape postfix: each provider's limits (add to main.cf, then: postmap /etc/postfix/transport; postfix reload)",
            "transport_maps = hash:/etc/postfix/transport"]  # fmt: skip
    for provider, name in transports.items():
        limits = data[provider]
        concurrency = max(1, limits["connections_per_ip"] * ips)
        master.append(f"{name} unix - - n - {concurrency} smtp")
        master.append(f"  -o syslog_name=postfix/{name}")
        main.append(f"# {provider}: {limits['source']}")
        main.append(f"{name}_destination_concurrency_limit = {concurrency}")
        main.append(f"{name}_destination_recipient_limit = {limits.get('recipients_per_message', 50)}")
        main.append(f"{name}_destination_rate_delay = {limits.get('rate_delay', '0s')}")
        main.append(f"{name}_destination_concurrency_failed_cohort_limit = 10")
    lines = ["# maildoctor shape postfix: recipient domains by the provider of their MX (postmap this file)"]
    for domain, provider in sorted(domains.items()):
        if provider in transports:
            lines.append(f"{domain} {transports[provider]}:")
    for provider, name in transports.items():
        for domain in consumer.get(provider, []):
            if domain not in domains:
                lines.append(f"{domain} {name}:")
    return Shaping("\n".join(master) + "\n", "\n".join(main) + "\n", "\n".join(lines) + "\n", transports)
