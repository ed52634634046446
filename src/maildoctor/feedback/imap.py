"""Fetching report mail from an IMAP mailbox (imaplib): the messages not yet seen, or all of them,
each ingested as `reports ingest` would, then flagged \\Seen so the next run skips them."""

from __future__ import annotations

import imaplib
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import Engine

from maildoctor.feedback.ingest import IngestResult, ingest


@dataclass(frozen=True)
class ImapSource:
    secure: bool  # imaps (TLS from the start) or imap (STARTTLS when offered)
    host: str
    port: int
    user: str
    mailbox: str

    @classmethod
    def parse(cls, url: str) -> ImapSource:
        """imaps://user@host[:port]/MAILBOX or imap://…; ValueError with the reason otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError(f"{url!r}: expected imaps://user@host[:port]/MAILBOX")
        secure = parts.scheme == "imaps"
        return cls(
            secure,
            parts.hostname,
            parts.port or (993 if secure else 143),
            unquote(parts.username),
            unquote(parts.path.lstrip("/")) or "INBOX",
        )


def fetch_and_ingest(
    engine: Engine, source: ImapSource, password: str, everything: bool = False, cafile: str | None = None, timeout: float = 30.0
) -> IngestResult:
    context = ssl.create_default_context(cafile=cafile)
    try:
        if source.secure:
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(source.host, source.port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(source.host, source.port, timeout=timeout)
            if "STARTTLS" in client.capabilities:
                client.starttls(context)
        client.login(source.user, password)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise ValueError(f"IMAP {source.host}:{source.port}: {exc}") from None
    total = IngestResult()
    try:
        return _fetch(client, engine, source, everything, total)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise ValueError(f"IMAP {source.host}:{source.port}: {exc}") from None
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error, ssl.SSLError):
            pass


def _fetch(client: imaplib.IMAP4, engine: Engine, source: ImapSource, everything: bool, total: IngestResult) -> IngestResult:
    status, _ = client.select(f'"{source.mailbox}"')
    if status != "OK":
        raise ValueError(f"IMAP: no mailbox {source.mailbox!r}")
    status, data = client.uid("SEARCH", "ALL" if everything else "UNSEEN")
    uids = data[0].split() if status == "OK" and data and data[0] else []
    with tempfile.TemporaryDirectory(prefix="maildoctor-imap-") as directory:
        for uid in uids:
            status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None) if status == "OK" else None
            if not isinstance(raw, bytes):
                total.rejected.append((f"imap uid {uid.decode()}", "the server returned no message"))
                continue
            path = Path(directory) / f"uid-{uid.decode()}.eml"
            path.write_bytes(raw)
            add_results(total, ingest(engine, [path]), f"{source.mailbox} uid {uid.decode()}")
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")  # only once stored: a crash before means fetched again
            path.unlink()
    return total


def add_results(total: IngestResult, part: IngestResult, where: str) -> None:
    for name in ("files", "reports", "tls_reports", "records", "duplicates", "bounces", "complaints", "failure_reports"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.rejected += [(where, reason) for _, reason in part.rejected]
    total.repaired += [(where, repair) for _, repair in part.repaired]
