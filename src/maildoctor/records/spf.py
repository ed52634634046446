"""The SPF record (RFC 7208 §4.5, §5, §6, §7, §12): terms, CIDR lengths and the macro language.

Parsing is separate from evaluation: the parser checks the whole record once (RFC 7208 §4.6:
any syntax error anywhere makes the record a permerror) and keeps every problem it finds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from maildoctor.frozen import quick_init
from maildoctor.records.problems import Problem

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
DNS_MECHANISMS = ("include", "a", "mx", "ptr", "exists")  # each costs one of the 10 lookups
MACRO_LETTERS = "slodiphv"
EXP_ONLY_LETTERS = "crt"
DELIMITERS = ".-+,/_="
_MODIFIER_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=")
_TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$")
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
_IP4 = re.compile(rf"^{_QNUM}\.{_QNUM}\.{_QNUM}\.{_QNUM}$")
_CIDR = re.compile(r"^(0|[1-9][0-9]{0,2})$")
_DUAL_CIDR = re.compile(r"^(.*?)(?:/(0|[1-9][0-9]{0,2}))?(?://(0|[1-9][0-9]{0,2}))?$", re.DOTALL)
SYNTAX = "spf.syntax_error"


@quick_init
@dataclass(frozen=True)
class Macro:
    """One piece of a macro-string: a literal, or a %{...} expansion."""

    literal: str = ""
    letter: str = ""  # lower case; empty for a literal
    digits: int = 0  # 0: keep every part
    reverse: bool = False
    delimiters: str = ""
    url_escape: bool = False  # the letter was written in upper case


@quick_init
@dataclass(frozen=True)
class MacroString:
    text: str
    parts: tuple[Macro, ...]

    @property
    def has_macros(self) -> bool:
        return any(p.letter for p in self.parts)


@quick_init
@dataclass(frozen=True)
class Mechanism:
    qualifier: str  # "+", "-", "~", "?"
    kind: str  # one of MECHANISMS
    text: str  # the term as written
    position: int
    domain: MacroString | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int | None = None
    cidr6: int | None = None

    @property
    def result(self) -> str:
        return QUALIFIERS[self.qualifier]

    @property
    def costs_lookup(self) -> bool:
        return self.kind in DNS_MECHANISMS


@quick_init
@dataclass(frozen=True)
class Modifier:
    name: str  # lower case
    value: MacroString
    text: str
    position: int


@quick_init
@dataclass(frozen=True)
class SpfRecord:
    text: str
    mechanisms: tuple[Mechanism, ...] = ()
    modifiers: tuple[Modifier, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def redirect(self) -> Modifier | None:
        return next((m for m in self.modifiers if m.name == "redirect"), None)

    @property
    def exp(self) -> Modifier | None:
        return next((m for m in self.modifiers if m.name == "exp"), None)

    @property
    def all_mechanism(self) -> Mechanism | None:
        return next((m for m in self.mechanisms if m.kind == "all"), None)


def is_spf_record(text: str) -> bool:
    """RFC 7208 §4.5: 'v=spf1' (any case) followed by a space or the end."""
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


@lru_cache(maxsize=4096)
def parse_spf(text: str) -> SpfRecord:
    problems: list[Problem] = []
    mechanisms: list[Mechanism] = []
    modifiers: list[Modifier] = []
    if not is_spf_record(text):
        return SpfRecord(text, problems=(Problem(SYNTAX, "the record must start with v=spf1", 0, text[:10]),))
    for offset, char in enumerate(text):
        if not (char == " " or "\x21" <= char <= "\x7e"):
            what = "a control character" if ord(char) < 0x20 or ord(char) == 0x7F else "a non-ASCII character"
            problems.append(Problem(SYNTAX, f"{what} ({char!r}): SPF records are 7-bit ASCII, terms separated by spaces", offset, char))
    position = 6
    for term in text[6:].split(" "):
        start = position
        position += len(term) + 1
        if not term:
            continue
        match = _MODIFIER_NAME.match(term)
        if match:
            _parse_modifier(term, match.group(1), start, modifiers, problems)
        else:
            _parse_directive(term, start, mechanisms, problems)
    for name in ("redirect", "exp"):
        repeated = [m for m in modifiers if m.name == name]
        for extra in repeated[1:]:
            problems.append(Problem(SYNTAX, f"{name}= may appear only once", extra.position, extra.text))
    return SpfRecord(text, tuple(mechanisms), tuple(modifiers), tuple(problems))


def _parse_modifier(term: str, name: str, start: int, modifiers: list[Modifier], problems: list[Problem]) -> None:
    key = name.lower()
    raw = term[len(name) + 1 :]
    value, errors = parse_macro_string(raw, allow_exp_letters=False)
    for message in errors:
        problems.append(Problem(SYNTAX, f"{key}=: {message}", start, term))
    if key in ("redirect", "exp"):
        if not raw:
            problems.append(Problem(SYNTAX, f"{key}= needs a domain", start, term))
        elif not errors:
            domain_error = _domain_end_error(value)
            if domain_error:
                problems.append(Problem(SYNTAX, f"{key}=: {domain_error}", start, term))
    modifiers.append(Modifier(key, value, term, start))


def _parse_directive(term: str, start: int, mechanisms: list[Mechanism], problems: list[Problem]) -> None:
    qualifier = "+"
    body = term
    if term[0] in QUALIFIERS:
        qualifier, body = term[0], term[1:]
    name_end = len(body)
    for i, char in enumerate(body):
        if char in ":/":
            name_end = i
            break
    kind = body[:name_end].lower()
    rest = body[name_end:]
    if kind not in MECHANISMS:
        hint = " (modifiers are written name=value)" if ":" in rest else ""
        problems.append(Problem(SYNTAX, f"unknown mechanism '{body[:name_end]}'{hint}", start, term))
        return

    def bad(message: str) -> None:
        problems.append(Problem(SYNTAX, message, start, term))

    if kind == "all":
        if rest:
            bad("'all' takes no argument")
            return
        mechanisms.append(Mechanism(qualifier, kind, term, start))
    elif kind in ("include", "exists"):
        if not rest.startswith(":") or len(rest) == 1:
            bad(f"'{kind}' needs ':domain'")
            return
        domain = _domain_spec(rest[1:], bad)
        if domain:
            mechanisms.append(Mechanism(qualifier, kind, term, start, domain=domain))
    elif kind in ("a", "mx"):
        match = _DUAL_CIDR.match(rest)
        assert match is not None  # every string matches: the groups are optional
        spec, cidr4, cidr6 = match.groups()
        if cidr4 is not None and int(cidr4) > 32:
            bad(f"IPv4 prefix length /{cidr4} is over 32")
            return
        if cidr6 is not None and int(cidr6) > 128:
            bad(f"IPv6 prefix length //{cidr6} is over 128")
            return
        domain = None
        if spec:
            if not spec.startswith(":") or len(spec) == 1:
                bad(f"'{kind}' takes ':domain' and/or '/prefix' (e.g. {kind}:mail.example.com/24)")
                return
            domain = _domain_spec(spec[1:], bad)
            if domain is None:
                return
        mechanisms.append(
            Mechanism(
                qualifier,
                kind,
                term,
                start,
                domain=domain,
                cidr4=int(cidr4) if cidr4 is not None else None,
                cidr6=int(cidr6) if cidr6 is not None else None,
            )
        )
    elif kind == "ptr":
        domain = None
        if rest:
            if not rest.startswith(":") or len(rest) == 1:
                bad("'ptr' takes only ':domain'")
                return
            domain = _domain_spec(rest[1:], bad)
            if domain is None:
                return
        mechanisms.append(Mechanism(qualifier, kind, term, start, domain=domain))
    else:  # ip4, ip6
        network = _network(kind, rest, bad)
        if network is not None:
            mechanisms.append(Mechanism(qualifier, kind, term, start, network=network))


def _network(kind: str, rest: str, bad: Callable[[str], None]) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not rest.startswith(":") or len(rest) == 1:
        bad(f"'{kind}' needs ':address' or ':address/prefix'")
        return None
    address, slash, prefix = rest[1:].partition("/")
    limit = 32 if kind == "ip4" else 128
    if slash and not (_CIDR.match(prefix) and int(prefix) <= limit):
        bad(f"'/{prefix}' is not a prefix length from 0 to {limit} (no leading zeros)")
        return None
    try:
        if kind == "ip4":
            if not _IP4.match(address):
                raise ValueError
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(address)
        else:
            ip = ipaddress.IPv6Address(address)
    except ValueError:
        version = "IPv4" if kind == "ip4" else "IPv6"
        bad(f"'{address}' is not an {version} address")
        return None
    return ipaddress.ip_network(f"{ip}/{prefix or limit}", strict=False)


def _domain_spec(text: str, bad: Callable[[str], None]) -> MacroString | None:
    value, errors = parse_macro_string(text, allow_exp_letters=False)
    if errors:
        for message in errors:
            bad(message)
        return None
    domain_error = _domain_end_error(value)
    if domain_error:
        bad(domain_error)
        return None
    return value


def _domain_end_error(value: MacroString) -> str | None:
    """domain-end = ( "." toplabel [ "." ] ) / macro-expand  (RFC 7208 §7.1)."""
    if value.parts and value.parts[-1].letter:
        return None
    tail = value.parts[-1].literal if value.parts else ""
    if tail.endswith("."):
        tail = tail[:-1]
    if "." not in tail:
        return f"'{value.text}' is not a domain name with a top-level label (e.g. example.com)"
    toplabel = tail.rsplit(".", 1)[1]
    if not _TOPLABEL.match(toplabel):
        return f"'{toplabel}' in '{value.text}' is not a valid top-level label"
    return None


def parse_macro_string(text: str, allow_exp_letters: bool) -> tuple[MacroString, list[str]]:
    """Split a macro-string into literals and expansions (RFC 7208 §7.1); errors as messages."""
    parts: list[Macro] = []
    errors: list[str] = []
    literal: list[str] = []
    letters = MACRO_LETTERS + (EXP_ONLY_LETTERS if allow_exp_letters else "")
    i = 0
    while i < len(text):
        char = text[i]
        if char != "%":
            if not ("\x21" <= char <= "\x7e") and not (allow_exp_letters and char == " "):
                errors.append(f"character {char!r} is not allowed")
            literal.append(char)
            i += 1
            continue
        following = text[i + 1] if i + 1 < len(text) else ""
        if following in "%_-" and following:
            literal.append({"%": "%", "_": " ", "-": "%20"}[following])
            i += 2
            continue
        if following != "{":
            errors.append(f"'%' must be followed by {{, %, _ or - (at '{text[i : i + 4]}')")
            i += 1
            continue
        close = text.find("}", i)
        if close < 0:
            errors.append(f"unterminated macro '{text[i:]}'")
            break
        inner = text[i + 2 : close]
        match = re.match(r"^([A-Za-z])([0-9]*)([rR]?)([.\-+,/_=]*)$", inner)
        if not match or match.group(1).lower() not in letters:
            errors.append(f"invalid macro '%{{{inner}}}'")
        elif match.group(2) and int(match.group(2)) == 0:
            errors.append(f"macro '%{{{inner}}}' keeps zero parts")
        else:
            if literal:
                parts.append(Macro(literal="".join(literal)))
                literal = []
            letter, digits, reverse, delimiters = match.groups()
            parts.append(
                Macro(
                    letter=letter.lower(),
                    digits=int(digits) if digits else 0,
                    reverse=bool(reverse),
                    delimiters=delimiters,
                    url_escape=letter.isupper(),
                )
            )
        i = close + 1
    if literal:
        parts.append(Macro(literal="".join(literal)))
    return MacroString(text, tuple(parts)), errors
