"""The changes a fix asks for, in a form a program can apply: to a DNS zone (add a record,
replace one record's data by another, or remove a record; names absolute without the trailing
dot, data in zone-file syntax, TXT data quoted and split as published), or to an MTA's
configuration (set a parameter of Postfix's main.cf, OpenDKIM's opendkim.conf, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.frozen import quick_init

OPERATIONS = ("add", "replace", "remove")


@quick_init
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


SOFTWARE = {"postfix": "main.cf", "opendkim": "opendkim.conf", "exim": "exim4.conf"}


@quick_init
@dataclass(frozen=True)
class SettingChange:
    """One parameter of an MTA's configuration set to a value (`postconf -e 'setting = value'`)."""

    software: str  # postfix, opendkim, exim
    setting: str
    value: str

    def __post_init__(self) -> None:
        if self.software not in SOFTWARE:
            raise ValueError(f"a setting change is for {', '.join(SOFTWARE)}, not {self.software!r}")
        if not self.setting or "\n" in self.setting + self.value:
            raise ValueError("a setting change names one parameter and a one-line value")

    @property
    def file(self) -> str:
        return SOFTWARE[self.software]

    def to_json(self) -> dict[str, object]:
        return {"op": "set", "software": self.software, "file": self.file, "setting": self.setting, "value": self.value}

    def config_line(self) -> str:
        return f"{self.setting} = {self.value}"


Change = RecordChange | SettingChange


def postfix(setting: str, value: str) -> SettingChange:
    return SettingChange("postfix", setting, value)
