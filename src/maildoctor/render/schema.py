"""The facts' part of the published JSON Schema (docs/maildoctor.schema.json), generated from the
facts dataclasses: `python -m maildoctor.render.schema docs/maildoctor.schema.json` rewrites it in
place, and a test keeps the file in step with the code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from maildoctor.checks.facts import AuditFacts
from maildoctor.facts import facts_schema
from maildoctor.message.facts import MessageFacts

FACTS = {
    "audit_facts": (AuditFacts, "check, zone, spf, dkim: what a domain or zone audit learnt; a fact not learnt is left out"),
    "message_facts": (MessageFacts, "message and the test inbox: what a message's analysis learnt; a fact not learnt is left out"),
}


def facts_definitions() -> dict[str, Any]:
    return {name: {"description": description, **facts_schema(kind)} for name, (kind, description) in FACTS.items()}


def updated(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "$defs": {**schema["$defs"], **facts_definitions()}}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m maildoctor.render.schema docs/maildoctor.schema.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(json.dumps(updated(json.loads(path.read_text("utf-8"))), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
