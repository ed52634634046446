"""Reading a message as users bring it: a raw .eml, or only the headers pasted from a web mail's
"show original". Pure: any bytes give a ParsedMessage (with problems), never an exception."""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser

MAX_PARTS = 500


@dataclass
class Link:
    href: str
    text: str


@dataclass
class Part:
    content_type: str
    size: int
    filename: str = ""
    disposition: str = ""


@dataclass
class ParsedMessage:
    raw: bytes  # as given, with CRLF line ends (what DKIM verification needs)
    headers: list[tuple[str, str]] = field(default_factory=list)  # (name, unfolded value), top first
    has_body: bool = False
    parts: list[Part] = field(default_factory=list)
    text: str = ""  # the text/plain parts
    html: str = ""  # the text/html parts
    html_text: str = ""  # the visible text of the HTML
    links: list[Link] = field(default_factory=list)
    images: int = 0
    problems: list[str] = field(default_factory=list)  # why parts of it could not be read

    def all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for n, v in self.headers if n.lower() == lowered]

    def first(self, name: str) -> str | None:
        found = self.all(name)
        return found[0] if found else None

    def decoded(self, name: str) -> str | None:
        """The first such header as a reader sees it: RFC 2047 encoded words decoded
        (=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= is Grüße); left as it is when it does not decode."""
        value = self.first(name)
        if value is None or "=?" not in value:
            return value
        try:
            return str(email.header.make_header(email.header.decode_header(value)))
        except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
            return value

    @property
    def size(self) -> int:
        return len(self.raw)


def normalize_input(data: bytes) -> bytes:
    """Pasted headers often come with stray blank lines first, indentation or LF line ends."""
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").lstrip(b"\n")
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    return text.replace(b"\n", b"\r\n")


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")


def split_header_block(raw: bytes) -> tuple[bytes, bytes, bool]:
    """(header block, body, whether a body separator exists)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    return head, body, bool(sep)


def unfold_headers(head: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    headers: list[tuple[str, str]] = []
    problems: list[str] = []
    for number, line in enumerate(head.split(b"\r\n"), 1):
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.decode("utf-8", "replace").strip())
        elif _HEADER_LINE.match(line):
            field_name, _, field_value = line.partition(b":")
            headers.append((field_name.decode("ascii", "replace"), field_value.decode("utf-8", "replace").strip()))
        else:
            problems.append(f"line {number} is not a header: {line[:32].decode('utf-8', 'replace')!r}" + (" …" if len(line) > 32 else ""))
    return headers, problems


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[Link] = []
        self.images = 0
        self._href: str | None = None
        self._link_text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._link_text = []
        elif tag == "img":
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "a" and self._href is not None:
            self.links.append(Link(self._href.strip(), " ".join("".join(self._link_text).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._href is not None:
            self._link_text.append(data)


def read_html(html: str) -> tuple[str, list[Link], int]:
    reader = _HtmlReader()
    try:
        reader.feed(html)
        reader.close()
    except Exception:  # noqa: BLE001  (html.parser is lenient; anything left is reported as unreadable)
        pass
    return " ".join(" ".join(reader.text).split()), reader.links, reader.images


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def parse_message(data: bytes) -> ParsedMessage:
    raw = normalize_input(data)
    head, body, separated = split_header_block(raw)
    message = ParsedMessage(raw=raw)
    message.headers, message.problems = unfold_headers(head)
    message.has_body = separated and bool(body.strip())
    if not message.has_body:
        return message
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
        texts, htmls = [], []
        for count, part in enumerate(parsed.walk()):
            if count >= MAX_PARTS:
                message.problems.append(f"more than {MAX_PARTS} MIME parts: the rest was not read")
                break
            if part.is_multipart():
                continue
            content_type = part.get_content_type()
            payload = part.get_payload(decode=True)
            filename = part.get_filename() or ""
            disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
            message.parts.append(Part(content_type, len(payload) if isinstance(payload, bytes) else 0, str(filename), disposition))
            if disposition == "attachment" or filename:
                continue
            if content_type == "text/plain":
                texts.append(_decoded(part))
            elif content_type == "text/html":
                htmls.append(_decoded(part))
        message.text = "\n".join(texts)
        message.html = "\n".join(htmls)
        if message.html:
            message.html_text, message.links, message.images = read_html(message.html)
    except Exception as exc:  # noqa: BLE001  (the stdlib parser on hostile input: report, never crash)
        message.problems.append(f"the MIME structure could not be read: {type(exc).__name__}: {exc}")
    return message


def addresses(value: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of an address header."""
    try:
        return [(n, a) for n, a in email.utils.getaddresses([value]) if a or n]
    except Exception:  # noqa: BLE001
        return []


_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def address_domain(address: str) -> str:
    """The domain of local@domain, lower case; "" when it has none or it is not a domain."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    return domain if at and local and _DOMAIN.match(domain) else ""
