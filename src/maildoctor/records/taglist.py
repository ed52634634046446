"""Tag lists, the `name=value; name=value` form of DKIM keys, DMARC and the policy records
(RFC 6376 §3.2). Splitting is shared; what each tag means is the caller's business."""

from __future__ import annotations

import re
from dataclasses import dataclass

from maildoctor.frozen import quick_init

_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@quick_init
@dataclass(frozen=True)
class Tag:
    index: int  # position among the non-empty parts
    start: int  # 0-based offset of the part in the text
    raw: str  # the part as written, trimmed
    name: str  # lower case; "" when the part is unusable
    value: str
    problem: str = ""  # why the part is unusable: not a pair, not a tag name, given twice


def split_tags(text: str) -> list[Tag]:
    tags: list[Tag] = []
    seen: set[str] = set()
    offset = 0
    for part in text.split(";"):
        start = offset + (len(part) - len(part.lstrip()))
        offset += len(part) + 1
        raw = part.strip()
        if not raw:
            continue
        index = len(tags)
        if "=" not in raw:
            tags.append(Tag(index, start, raw, "", "", "not a tag=value pair"))
            continue
        name, _, value = raw.partition("=")
        name = name.strip()
        if not _TAG_NAME.match(name):
            tags.append(Tag(index, start, raw, "", "", f"'{name}' is not a valid tag name"))
            continue
        key = name.lower()
        problem = f"tag {key}= given twice" if key in seen else ""
        seen.add(key)
        tags.append(Tag(index, start, raw, key, value.strip(), problem))
    return tags
