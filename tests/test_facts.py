"""Typed facts: rendered as JSON field by field, what was not learnt left out, and the published
schema generated from the same dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsonschema

from maildoctor.checks.facts import AuditFacts, Dnssec, MxHost
from maildoctor.facts import Facts, facts_schema, jsonable
from maildoctor.message.facts import MessageFacts
from maildoctor.render.schema import facts_definitions
from tests.conftest import ROOT


def test_facts_render_field_by_field_and_leave_out_what_was_not_learnt() -> None:
    facts = AuditFacts(mx=[MxHost(10, "mx1.example.com")], dnssec=Dnssec(ds=True, dnskey=True, validated=False, unknown=False))
    assert facts.to_json() == {
        "mx": [{"preference": 10, "host": "mx1.example.com"}],
        "dnssec": {"ds": True, "dnskey": True, "validated": False, "unknown": False},
    }
    assert AuditFacts(mx=[]).to_json() == {"mx": []}  # no MX host is a fact; an MX not looked up is none
    assert not AuditFacts() and AuditFacts(mx=[]) and not Facts()


def test_a_field_keeps_its_json_name() -> None:
    assert MessageFacts(from_="Alice <a@example.com>").to_json() == {"from": "Alice <a@example.com>"}


def test_an_object_that_renders_itself_is_asked_to() -> None:
    @dataclass
    class Rendered:
        value: int

        def to_json(self) -> dict[str, object]:
            return {"shown": self.value * 2}

    @dataclass
    class Holder(Facts):
        items: list[Rendered] = field(default_factory=list)

    assert jsonable(Holder([Rendered(2)])) == {"items": [{"shown": 4}]}


def test_the_schema_of_a_fact_follows_its_type_hints() -> None:
    schema = facts_schema(AuditFacts)
    mx = schema["properties"]["mx"]["anyOf"][0]["items"]
    assert mx["required"] == ["preference", "host"] and mx["properties"]["preference"] == {"type": "integer"}
    assert "required" not in schema and schema["additionalProperties"] is False
    jsonschema.validate(AuditFacts(mx=[MxHost(10, "mx.example.com")]).to_json(), schema)
    try:
        jsonschema.validate({"mx": [{"preference": "ten", "host": "mx"}]}, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a preference that is no integer passed the schema")


def test_the_published_schema_holds_the_facts_of_the_code() -> None:
    published = json.loads((ROOT / "docs" / "maildoctor.schema.json").read_text("utf-8"))["$defs"]
    for name, definition in facts_definitions().items():
        assert published.get(name) == definition, "regenerate: python -m maildoctor.render.schema docs/maildoctor.schema.json"
