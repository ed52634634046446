"""A problem found while parsing: which finding it maps to, what is wrong, and where."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.frozen import quick_init


@quick_init
@dataclass(frozen=True)
class Problem:
    check_id: str  # the finding id this problem is reported under
    message: str
    position: int  # 0-based offset in the record text
    term: str = ""  # the offending term or tag, as written

    def describe(self) -> str:
        where = f" (at character {self.position + 1}: {self.term!r})" if self.term else f" (at character {self.position + 1})"
        return self.message + where
