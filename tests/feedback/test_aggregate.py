"""The streamed DMARC aggregate report parser: the forms real senders use, chunk boundaries, and
documents that must be refused."""

from __future__ import annotations

import io

import pytest

from maildoctor.feedback import aggregate
from maildoctor.feedback.aggregate import AggregateMeta, AggregateRecord, ReportError, parse_aggregate

META = (
    "<report_metadata><org_name>google.com</org_name><email>x@google.com</email><report_id>r-1</report_id>"
    "<date_range><begin>1763000000</begin><end>1763086399</end></date_range></report_metadata>"
    "<policy_published><domain>Shop.test</domain><p>reject</p><adkim>s</adkim></policy_published>"
)


def record(number: int) -> str:
    return (
        f"<record><row><source_ip>2001:DB8::{number:x}</source_ip><count>{number}</count><policy_evaluated>"
        f"<disposition>None</disposition><dkim>fail</dkim><spf>pass</spf><reason><type>forwarded</type></reason>"
        f"</policy_evaluated></row><identifiers><header_from>shop.test</header_from></identifiers><auth_results>"
        f"<dkim><domain>shop.test</domain><selector>s1</selector><result>fail</result></dkim><dkim><domain>esp.test</domain>"
        f"<result>pass</result></dkim><spf><domain>shop.test</domain><result>pass</result></spf></auth_results></record>"
    )


def parse(document: str | bytes) -> tuple[AggregateMeta, list[AggregateRecord]]:
    items = list(parse_aggregate(io.BytesIO(document.encode() if isinstance(document, str) else document), "r.xml"))
    assert isinstance(items[0], AggregateMeta) and all(isinstance(i, AggregateRecord) for i in items[1:])
    return items[0], items[1:]  # type: ignore[return-value]


def test_every_field_of_a_record() -> None:
    meta, [one] = parse(f"<?xml version='1.0'?><feedback>{META}{record(5)}</feedback>")
    assert (meta.org, meta.report_id, meta.domain, meta.begin, meta.policy) == (
        "google.com",
        "r-1",
        "shop.test",
        1763000000,
        {"p": "reject", "adkim": "s"},
    )
    assert (one.source_ip, one.count, one.disposition, one.dkim, one.spf, one.reasons) == (
        "2001:db8::5",
        5,
        "none",
        "fail",
        "pass",
        ["forwarded"],
    )
    assert one.dkim_results == [("shop.test", "s1", "fail"), ("esp.test", "", "pass")]
    assert one.spf_results == [("shop.test", "mfrom", "pass")] and (one.header_from, one.envelope_from) == ("shop.test", "")


@pytest.mark.parametrize("chunk", [7, 100, 1 << 16])
def test_records_across_chunk_boundaries_and_before_the_metadata(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(aggregate, "CHUNK", chunk)
    records = "".join(record(n) for n in range(1, 301))
    _, found = parse(f"<feedback>{record(999)}{META}{records}</feedback>")
    assert [r.count for r in found] == [999, *range(1, 301)]


def test_dmarcbis_namespace_other_case_and_a_wrapper_left_open() -> None:
    namespaced = f'<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">{META}{record(1)}</feedback>'
    assert parse(namespaced)[1][0].source_ip == "2001:db8::1"
    shouting = record(2).replace("<row>", "<ROW>").replace("</row>", "</ROW>").replace("source_ip>", "Source_IP>")
    assert parse(f"<feedback>{META}{shouting}</feedback>")[1][0].count == 2
    wrapped = f'<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n<feedback>{META}{record(3)}</feedback>\n'
    assert parse(wrapped)[1][0].count == 3


def test_text_after_the_report_blank_lines_before_it_and_utf16() -> None:
    assert len(parse(f"\r\n  <?xml version='1.0'?>\n<feedback>{META}{record(1)}</feedback>")[1]) == 1
    assert len(parse(f"<feedback>{META}{record(1)}</feedback>\ngarbage <feedback>")[1]) == 1
    assert parse(f"<?xml version='1.0' encoding='utf-16'?><feedback>{META}{record(4)}</feedback>".encode("utf-16"))[1][0].count == 4


@pytest.mark.parametrize(
    "document",
    [
        '<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY a "aaaa">]><feedback>&a;</feedback>',
        '<?xml version="1.0"?>\n<!-- a comment --><?pi x?>\n  <!DOCTYPE feedback SYSTEM "http://attacker.test/x.dtd"><feedback/>',
        '<!DOCTYPE feedback [<!ENTITY e SYSTEM "file:///etc/passwd">]><feedback>&e;</feedback>'.encode("utf-16"),
    ],
)
def test_a_dtd_is_refused_before_parsing(document: str | bytes) -> None:
    with pytest.raises(ReportError, match="refused: a DTD"):
        parse(document)


def test_broken_reports_say_where_and_why() -> None:
    with pytest.raises(ReportError, match=r"not well-formed XML \(.*line 1"):
        parse(f"<feedback>{META}{record(1)}")
    with pytest.raises(ReportError, match="undefined entity"):
        parse(f"<feedback>{META}&lol;</feedback>")
    with pytest.raises(ReportError, match="source_ip 'nope'"):
        parse(f"<feedback>{META}{record(1).replace('2001:DB8::1', 'nope')}</feedback>")
    with pytest.raises(ReportError, match="unknown encoding"):
        parse(f"<?xml version='1.0' encoding='UTF-9'?><feedback>{META}</feedback>")
    with pytest.raises(ReportError, match="not a DMARC aggregate report"):
        parse("<html><body>hello</body></html>")
    with pytest.raises(ReportError, match="no root element"):
        parse("<!--" + "x" * (aggregate.MAX_PROLOG + 10))
