"""A DMARC policy reached in stages: monitoring with reports first, then quarantine for a growing
share of failing mail, then reject; each stage with its date and what the reports must show
before the next one. Starts from the domain's current record, keeping its valid tags."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from maildoctor.records.dmarc import DmarcRecord

STAGE_DAYS = 14  # two weeks of reports between stages: every weekly and monthly sender shows up
KEPT_TAGS = ("sp", "adkim", "aspf", "ruf", "fo", "ri")


@dataclass(frozen=True)
class Stage:
    start: datetime.date
    record: str
    watch: str

    def to_json(self) -> dict[str, object]:
        return {"from": self.start.isoformat(), "record": self.record, "watch": self.watch}


STEPS = [
    ("none", 100, "the reports come in (maildoctor reports ingest) and every source that sends for you is known"),
    ("quarantine", 25, "every legitimate source passes DMARC aligned (maildoctor reports summary): fix those that do not first"),
    ("quarantine", 50, "no legitimate mail among the failing; complaints of missing mail answered"),
    ("quarantine", 100, "the same, with all failing mail in spam folders"),
    ("reject", 100, "the final stage: keep reading the reports; a new sending service gets SPF and DKIM before its first message"),
]


def dmarc_stages(domain: str, rua: str, current: DmarcRecord | None, start: datetime.date) -> list[Stage]:
    kept = "".join(f"; {tag}={current.tags[tag]}" for tag in KEPT_TAGS if current is not None and tag in current.tags)
    reached = _position(current)
    stages = []
    when = start
    for policy, pct, watch in STEPS[reached:]:
        record = f"v=DMARC1; p={policy}" + (f"; pct={pct}" if pct < 100 else "") + f"; rua={rua}{kept}"
        stages.append(Stage(when, record, watch))
        when += datetime.timedelta(days=STAGE_DAYS)
    return stages


def _position(current: DmarcRecord | None) -> int:
    """Where the current record stands among the stages (a stage already passed is not repeated)."""
    if current is None or current.policy not in ("none", "quarantine", "reject"):
        return 0
    pct = current.pct
    for index, (policy, share, _) in reversed(list(enumerate(STEPS))):
        if current.policy == policy and pct >= share:
            return index
    return 0
