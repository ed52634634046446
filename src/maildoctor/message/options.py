"""What a message analysis is asked to do: where the message came from, which engines to ask,
whether to audit the sender domain and check the links."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.engine import CHECK_BUDGET


@dataclass
class MessageOptions:
    client_ip: str = ""
    helo: str = ""
    mail_from: str = ""
    spamassassin: str | None = None  # HOST[:PORT] of spamd
    rspamd: str | None = None  # URL of rspamd's controller/normal worker
    audit_domain: bool = True  # also audit the sender domain (and the client IP) ...
    audit_areas: tuple[str, ...] = ("spf", "dkim", "dmarc")  # ... in these areas
    budget: float = CHECK_BUDGET  # seconds for the domain audit's checks
    tls: str | None = None  # how the message reached our own server ("TLSv1.3 TLS_AES_256_GCM_SHA384", "" without TLS)
    given_by: str = "given on the command line"  # where client_ip, helo and mail_from come from
    check_links: bool = False  # fetch each link (HEAD, then GET), public addresses only ...
    links_allow_private: bool = False  # ... unless this is set (tests, a lab network)
    known_selectors: tuple[str, ...] = ()  # selectors seen working for the From domain before (reports, earlier mail)
    spamhaus_dqs_key: str | None = None
