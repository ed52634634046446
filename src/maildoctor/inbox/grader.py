"""Grading received messages in the background.

Stored message ids wait in a queue; dispatchers take what is waiting (up to a batch) and grade it,
in worker processes by default so that grading never slows the SMTP and web side, which share one
event loop. A batch is graded concurrently inside its worker. On start, every stored message
without a grade (a crash or restart came between) is queued again. When the backlog is long, new
messages wait before their 250: acceptance slows to the pace of grading instead of grades
falling minutes behind."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import multiprocessing
import os
import re
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from maildoctor.compliance import compliance
from maildoctor.dns.answer import Resolver
from maildoctor.dns.cache import CachingResolver
from maildoctor.dns.spec import ResolverSpec
from maildoctor.engine import CHECK_BUDGET
from maildoctor.feedback.ingest import remember_selectors, selectors_seen
from maildoctor.findings import crashed_report
from maildoctor.message.analyse import analyse_message
from maildoctor.message.facts import Delivery, MessageFacts
from maildoctor.message.options import MessageOptions
from maildoctor.store.database import PASTED, Store

# Everything about the sender that needs no connection to its servers.
INBOX_AREAS = ("mx", "spf", "dkim", "dmarc", "rdns", "dnsbl", "mtasts", "tlsrpt", "dane", "dnssec", "bimi")
BATCH = 32
MAX_BACKLOG = 200  # messages stored but not graded before acceptance waits
BACKLOG_WAIT = 30.0  # the longest a sender is held before its 250 anyway
log = logging.getLogger("maildoctor.inbox")


async def grade_rows(
    rows: list[dict[str, Any]], resolver: Resolver, budget: float = CHECK_BUDGET
) -> list[tuple[int, float, dict[str, Any]]]:
    """budget: seconds for a message's domain audit; the whole analysis gets twice that."""

    async def one(row: dict[str, Any]) -> tuple[int, float, dict[str, Any]]:
        pasted = row["rcpt"] == PASTED
        try:
            report = await asyncio.wait_for(
                analyse_message(
                    row["raw"],
                    resolver,
                    MessageOptions(
                        client_ip=row["client_ip"],
                        helo=row["helo"],
                        mail_from=row["mail_from"],
                        audit_areas=INBOX_AREAS,
                        budget=budget,
                        tls=None if pasted else (row.get("tls_cipher") or "TLS") if row["tls"] else "",
                        given_by="the SMTP session",
                        known_selectors=tuple(row.get("known_selectors", ())),
                        spamassassin=row.get("spamassassin"),
                        rspamd=row.get("rspamd"),
                        check_links=bool(row.get("check_links")),
                        links_allow_private=bool(row.get("links_allow_private")),
                    ),
                ),
                2 * budget,
            )
        except TimeoutError:
            report = crashed_report(row["rcpt"], "message", "message", TimeoutError(f"the analysis did not finish within {2 * budget:g} s"))
        except Exception as exc:  # noqa: BLE001  (an analysis bug: the user still gets an answer, marked incomplete)
            report = crashed_report(row["rcpt"], "message", "message", exc)
        facts = report.facts if isinstance(report.facts, MessageFacts) else MessageFacts()  # a crash's report has none
        facts.received = Delivery(
            client_ip=row["client_ip"],
            reverse_name=await _reverse_name(resolver, row["client_ip"]),
            helo=row["helo"],
            mail_from=row["mail_from"],
            rcpt=row["rcpt"],
            tls=bool(row["tls"]),
            tls_cipher=row.get("tls_cipher") or "",
            size=row["size"],
            at=row["received"],
            pasted=pasted,
        )
        report.facts = facts
        data: dict[str, Any] = report.to_json()
        # the providers' sender rules for this message (its report holds the domain's findings too)
        data["compliance"] = [r.to_json() for r in compliance(report, report, None, bool(row["client_ip"]) and not pasted)]
        data["graded_in"] = round(time.time() - row["received"], 3)
        return row["id"], report.score, data

    return list(await asyncio.gather(*(one(r) for r in rows)))


async def _reverse_name(resolver: Resolver, ip: str) -> str:
    try:
        answer = await resolver.query(ipaddress.ip_address(ip).reverse_pointer, "PTR")
    except ValueError:
        return ""
    return ", ".join(str(rd.target).rstrip(".") for rd in answer.records) if answer.ok else ""


def _from_domain(raw: bytes) -> str:
    """The From domain, read cheaply from the header block (the analysis reads it properly)."""
    header = raw[:65536].split(b"\r\n\r\n", 1)[0]
    found = _FROM.search(header)
    return found.group(1).decode("ascii", "replace").lower().rstrip(".") if found else ""


_FROM = re.compile(rb"^From:[^\r\n]*@([A-Za-z0-9.-]+)", re.IGNORECASE | re.MULTILINE)


def _verified_keys(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(d=, s=) of every signature that verified in a graded message."""
    return [(sig["d"], sig["s"]) for sig in data.get("facts", {}).get("dkim") or [] if sig.get("result") == "pass"]


# -- inside a worker process ------------------------------------------------------------------
_child: dict[str, Any] = {}


def _child_start(spec: ResolverSpec, parent: int) -> None:
    """parent is the server's pid, passed in: it may be gone before this worker has started."""
    _child["loop"] = asyncio.new_event_loop()
    _child["resolver"] = CachingResolver(spec.build())

    def exit_with_parent() -> None:  # a server killed with -9 cannot stop its workers: they notice by themselves
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=exit_with_parent, name="maildoctor-watch-parent", daemon=True).start()


def _child_grade(rows: list[dict[str, Any]]) -> list[tuple[int, float, dict[str, Any]]]:
    return _child["loop"].run_until_complete(grade_rows(rows, _child["resolver"]))


@dataclass(frozen=True)
class ContentFilters:
    """What looks at each message's content: spamd's HOST:PORT, rspamd's URL, the link checker."""

    spamassassin: str | None = None
    rspamd: str | None = None
    check_links: bool = False  # fetch every link of a message (public addresses only ...)
    links_allow_private: bool = False  # ... unless allowed

    def describe(self) -> str:
        used = [f"SpamAssassin at {self.spamassassin}"] * bool(self.spamassassin) + [f"rspamd at {self.rspamd}"] * bool(self.rspamd)
        return " and ".join(used) or "none"


class Grader:
    def __init__(self, store: Store, spec: ResolverSpec, processes: int = 2, filters: ContentFilters | None = None) -> None:
        self.store, self.spec, self.processes = store, spec, processes
        self.filters = filters or ContentFilters()
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._resolver: Resolver | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight = 0
        self._room = asyncio.Event()
        self._room.set()

    async def start(self) -> int:
        if self.processes > 0:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_child_start, initargs=(self.spec, os.getpid())
            )
        else:
            self._resolver = CachingResolver(self.spec.build())
        pending = await asyncio.to_thread(self.store.ungraded)
        for message_id in pending:
            self.queue.put_nowait(message_id)
        self._update_room()
        self._tasks = [asyncio.create_task(self._dispatch()) for _ in range(max(1, self.processes) * 2)]
        return len(pending)

    @property
    def backlog(self) -> int:
        return self.queue.qsize() + self._in_flight

    def submit(self, message_id: int) -> None:
        self.queue.put_nowait(message_id)
        self._update_room()

    async def wait_for_room(self) -> None:
        if not self._room.is_set():
            try:
                await asyncio.wait_for(self._room.wait(), BACKLOG_WAIT)
            except TimeoutError:
                pass

    def _add_known_selectors(self, rows: list[dict[str, Any]]) -> None:
        """The selectors that worked for each message's From domain before: an unsigned or
        mis-signed message is then checked against the keys the domain really uses."""
        for row in rows:
            domain = _from_domain(row["raw"])
            row["known_selectors"] = selectors_seen(self.store.engine, domain)[:8] if domain else []
            row["spamassassin"], row["rspamd"] = self.filters.spamassassin, self.filters.rspamd
            row["check_links"], row["links_allow_private"] = self.filters.check_links, self.filters.links_allow_private

    def _update_room(self) -> None:
        if self.backlog >= MAX_BACKLOG:
            self._room.clear()
        else:
            self._room.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pool is not None:  # waiting for the workers lets them release their semaphores cleanly
            await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            ids = [await self.queue.get()]
            while len(ids) < BATCH and not self.queue.empty():
                ids.append(self.queue.get_nowait())
            self._in_flight += len(ids)
            try:
                rows = [dict(r) for r in await asyncio.to_thread(self.store.messages_for_grading, ids) if r["report"] is None]
                if rows:
                    await asyncio.to_thread(self._add_known_selectors, rows)
                    if self._pool is not None:
                        grades = await loop.run_in_executor(self._pool, _child_grade, rows)
                    else:
                        assert self._resolver is not None
                        grades = await grade_rows(rows, self._resolver)
                    await asyncio.to_thread(self.store.save_grades, grades)
                    await asyncio.to_thread(
                        remember_selectors, self.store.engine, [pair for _, _, data in grades for pair in _verified_keys(data)]
                    )
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001  (the messages stay ungraded in the database: a restart retries)
                log.exception("grading messages %s failed", ids)
            finally:
                self._in_flight -= len(ids)
                for _ in ids:
                    self.queue.task_done()
                self._update_room()
