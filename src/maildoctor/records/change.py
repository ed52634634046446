"""A change to a DNS zone that a fix asks for, in a form a program can apply: add a record,
replace one record's data by another, or remove a record. Names are absolute without the
trailing dot; data is in zone-file syntax (TXT data quoted and split as published)."""

from __future__ import annotations

from dataclasses import dataclass

OPERATIONS = ("add", "replace", "remove")


@dataclass(frozen=True)
class RecordChange:
    op: str  # add, replace, remove
    name: str
    type: str
    ttl: int | None = None  # for add and replace; None where the record keeps its TTL
    old: str = ""  # the data replaced or removed
    new: str = ""  # the data added or put in its place

    def __post_init__(self) -> None:
        if self.op not in OPERATIONS:
            raise ValueError(f"a record change is one of {', '.join(OPERATIONS)}, not {self.op!r}")
        if (self.op == "add") != (not self.old) or (self.op == "remove") != (not self.new):
            raise ValueError(f"{self.op}: old data for replace and remove, new data for add and replace")

    def to_json(self) -> dict[str, object]:
        return {"op": self.op, "name": self.name, "type": self.type, "ttl": self.ttl, "old": self.old, "new": self.new}

    def zone_lines(self) -> list[str]:
        """The change as zone-file lines: `; remove` comments for what goes, records for what comes."""
        owner = f"{self.name.rstrip('.')}."
        lines = [f"; remove: {owner} IN {self.type} {self.old}"] if self.old else []
        if self.new:
            lines.append(f"{owner} {self.ttl if self.ttl is not None else 3600} IN {self.type} {self.new}")
        return lines


def add(name: str, ttl: int, rdtype: str, data: str) -> RecordChange:
    return RecordChange("add", name.rstrip("."), rdtype, ttl, new=data)


def replace(name: str, ttl: int | None, rdtype: str, old: str, new: str) -> RecordChange:
    return RecordChange("replace", name.rstrip("."), rdtype, ttl, old=old, new=new)


def remove(name: str, rdtype: str, data: str) -> RecordChange:
    return RecordChange("remove", name.rstrip("."), rdtype, None, old=data)
