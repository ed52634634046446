"""Answers as if some TXT records were already published: to test a suggested record before offering it."""

from __future__ import annotations

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from maildoctor.dns.answer import Answer, Outcome, Resolver, normalize_name


class OverlayResolver:
    def __init__(self, base: Resolver, txt: dict[str, list[str]]) -> None:
        self.base = base
        self.txt = {normalize_name(name): texts for name, texts in txt.items()}

    async def query(self, name: str, rdtype: str) -> Answer:
        key = normalize_name(name)
        if rdtype.upper() == "TXT" and key in self.txt:
            records = tuple(
                dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.TXT, _txt_wire(text), 0, len(_txt_wire(text)))
                for text in self.txt[key]
            )
            return Answer(key, "TXT", Outcome.ANSWER, records=records, ttl=300)
        return await self.base.query(name, rdtype)


def _txt_wire(text: str) -> bytes:
    data = text.encode("utf-8")
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    return b"".join(len(c).to_bytes(1, "big") + c for c in chunks)
