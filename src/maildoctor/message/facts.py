"""What a message's analysis learnt, typed: the message as read, how it arrived, our own SPF, DKIM,
ARC and DMARC evaluation, what receivers recorded, the content filters' scores, the links, and the
sender domain's audit. A fact stays None when the analysis did not get that far."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.checks.facts import AuditFacts
from maildoctor.dmarc.alignment import DmarcVerdict
from maildoctor.facts import Facts, jsonable
from maildoctor.message.authresults import AuthResults
from maildoctor.message.connection import Connection
from maildoctor.message.parse import Part
from maildoctor.message.signatures import ArcCheck, SignatureCheck
from maildoctor.message.structure import MessageLink
from maildoctor.probes.contentengines import EngineResult
from maildoctor.probes.links import LinkCheck
from maildoctor.spf.evaluator import SpfEvaluation


@dataclass(frozen=True)
class CheckedLink:
    """A link of the message, with what fetching it gave (None when links were not fetched)."""

    link: MessageLink
    check: LinkCheck | None

    def to_json(self) -> dict[str, object]:
        # the link's own fields, flat, beside its check: what the pages and the JSON show
        return {**jsonable(self.link), "check": jsonable(self.check)}


@dataclass(frozen=True)
class Delivery:
    """How the test inbox received the message (or that it was pasted)."""

    client_ip: str
    reverse_name: str
    helo: str
    mail_from: str
    rcpt: str
    tls: bool
    tls_cipher: str
    size: int
    at: float  # when it arrived (Unix time)
    pasted: bool


@dataclass
class MessageFacts(Facts):
    headers_only: bool | None = None
    excerpt: bool | None = None  # a pasted excerpt, not a whole message
    subject: str | None = None
    from_: str | None = field(default=None, metadata={"json": "from"})
    to: str | None = None
    date: str | None = None
    message_id: str | None = None
    size: int | None = None
    parts: list[Part] | None = None
    parse_problems: list[str] | None = None
    connection: Connection | None = None
    spf: SpfEvaluation | None = None
    dkim: list[SignatureCheck] | None = None
    arc: ArcCheck | None = None
    dmarc: DmarcVerdict | None = None
    receiver_results: list[AuthResults] | None = None
    content_engines: list[EngineResult] | None = None
    domain: AuditFacts | None = None  # the sender domain's audit
    links: list[CheckedLink] | None = None
    received: Delivery | None = None  # set by the test inbox
    list_unsubscribe: dict[str, str] | None = None  # List-Unsubscribe and List-Unsubscribe-Post, lower-case names
    unsubscribe_link: bool | None = None  # the body shows a link to unsubscribe
