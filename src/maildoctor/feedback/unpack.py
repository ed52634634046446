"""Finding the reports inside what users have: plain XML/JSON, gzip, zip, and mail messages
(.eml, mbox) with those as attachments. Decompressed sizes are capped (zip and gzip bombs), and
gzip is read as a stream, so a large report never has to fit in memory."""

from __future__ import annotations

import email
import email.policy
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

MAX_DECOMPRESSED = 1 << 30  # per document: larger is a bomb or not a report
MAX_ZIP_MEMBERS = 100
MAX_NESTING = 4


class UnpackError(ValueError):
    """The input cannot be read as a report container; the message says why."""


@dataclass
class Document:
    name: str  # where it came from: file, attachment and member names
    stream: IO[bytes]  # the decompressed bytes, read lazily

    def head(self, size: int = 512) -> bytes:
        """The first bytes, to tell XML from JSON; the stream is left where it was."""
        peek = getattr(self.stream, "peek", None)
        if peek is not None:
            return peek(size)[:size]
        position = self.stream.tell()
        data = self.stream.read(size)
        self.stream.seek(position)
        return data


class CappedReader(io.RawIOBase):
    """Reads at most `limit` bytes from a stream, then fails: the guard against decompression bombs."""

    def __init__(self, inner: IO[bytes], limit: int, name: str) -> None:
        self.inner, self.left, self.name = inner, limit, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.inner.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise UnpackError(f"{self.name}: decompresses to more than {MAX_DECOMPRESSED >> 20} MB (a decompression bomb?)")
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


class GunzipReader(io.RawIOBase):
    """gzip as a stream with zlib: tolerant of what real senders append after the data (line ends,
    padding), which Python's gzip module rejects."""

    def __init__(self, inner: IO[bytes], name: str) -> None:
        self.inner, self.name = inner, name
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.pending = b""
        self.offset = 0  # how much of pending was read already (no copy of the rest per read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while self.offset >= len(self.pending) and not self.inflater.eof:
            # What zlib could not inflate within the output bound last time comes first: reading
            # more input before it would drop it (a report compressed better than 16:1 lost data).
            data = self.inflater.unconsumed_tail
            if not data:
                data = self.inner.read(1 << 16)
                if not data:
                    raise UnpackError(f"{self.name}: the gzip data ends early")
            try:
                self.pending, self.offset = self.inflater.decompress(data, 1 << 20), 0
            except zlib.error as exc:
                raise UnpackError(f"{self.name}: not valid gzip data ({exc})") from None
        size = min(len(buffer), len(self.pending) - self.offset)
        buffer[:size] = self.pending[self.offset : self.offset + size]
        self.offset += size
        return size


def _buffered(stream: IO[bytes], name: str) -> IO[bytes]:
    return io.BufferedReader(CappedReader(stream, MAX_DECOMPRESSED, name), 1 << 16)  # type: ignore[type-var]


def unpack(name: str, stream: IO[bytes], depth: int = 0) -> Iterator[Document]:
    """Every report document inside stream (which must be seekable or peekable)."""
    if depth > MAX_NESTING:
        raise UnpackError(f"{name}: archives nested more than {MAX_NESTING} deep")
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[type-var]
    magic = buffered.peek(4)[:4]
    if magic[:2] == b"\x1f\x8b":
        yield from unpack(name.removesuffix(".gz"), _buffered(GunzipReader(buffered, name), name), depth + 1)  # type: ignore[arg-type]
    elif magic == b"PK\x03\x04":
        data = buffered.read()
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise UnpackError(f"{name}: not a readable zip file ({exc})") from None
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise UnpackError(f"{name}: more than {MAX_ZIP_MEMBERS} files in the zip")
        for member in members:
            if member.file_size > MAX_DECOMPRESSED:
                raise UnpackError(f"{name}: {member.filename} would decompress to {member.file_size >> 20} MB (a zip bomb?)")
            yield from unpack(f"{name}/{member.filename}", _buffered(archive.open(member), member.filename), depth + 1)
    elif _looks_like_mail(buffered.peek(2048)):
        yield from _from_mail(name, buffered.read(), depth)
    else:
        yield Document(name, buffered)


def _looks_like_mail(head: bytes) -> bool:
    first = head.lstrip()[:5]
    if first.startswith(b"From "):  # mbox
        return True
    lines = head.split(b"\n", 8)[:8]
    headerish = sum(1 for line in lines if line[:1].isalpha() and b":" in line.split(b" ", 1)[0])
    return not head.lstrip().startswith((b"<", b"{")) and headerish >= 2


def _from_mail(name: str, data: bytes, depth: int) -> Iterator[Document]:
    chunks = [data]
    if data.lstrip().startswith(b"From "):  # an mbox: each message follows a "From " separator line
        chunks = [c.split(b"\n", 1)[1] if b"\n" in c else b"" for c in data.lstrip().split(b"\nFrom ")]
        chunks = [c for c in chunks if c.strip()]
    for number, chunk in enumerate(chunks):
        message = email.message_from_bytes(chunk, policy=email.policy.compat32)
        label = f"{name}#{number + 1}" if len(chunks) > 1 else name
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            filename = part.get_filename() or ""
            interesting = kind in (
                "application/gzip",
                "application/x-gzip",
                "application/zip",
                "application/x-zip-compressed",
                "text/xml",
                "application/xml",
                "application/tlsrpt+json",
                "application/tlsrpt+gzip",
                "application/json",
                "application/octet-stream",
            ) or filename.endswith((".xml", ".gz", ".zip", ".json"))
            if not interesting:
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                yield from unpack(f"{label}/{filename or kind}", io.BytesIO(payload), depth + 1)
