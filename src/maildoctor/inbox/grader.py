"""Grading received messages in the background: a queue of stored message ids and a few workers.
On start, every stored message without a grade (a crash or restart came between) is queued again."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from maildoctor.dns.answer import Resolver
from maildoctor.findings import Report, make_finding
from maildoctor.inbox.store import Store
from maildoctor.message.analyse import MessageOptions, analyse_message

# Everything about the sender that needs no connection to its servers.
INBOX_AREAS = ("mx", "spf", "dkim", "dmarc", "rdns", "dnsbl", "mtasts", "tlsrpt", "dane", "dnssec", "bimi")
log = logging.getLogger("maildoctor.inbox")


class Grader:
    def __init__(self, store: Store, resolver: Resolver, workers: int = 16) -> None:
        self.store, self.resolver, self.workers = store, resolver, workers
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.graded = 0

    async def start(self) -> int:
        pending = await asyncio.to_thread(self.store.ungraded)
        for message_id in pending:
            self.queue.put_nowait(message_id)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        return len(pending)

    def submit(self, message_id: int) -> None:
        self.queue.put_nowait(message_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            message_id = await self.queue.get()
            try:
                await self.grade(message_id)
            except Exception:  # noqa: BLE001  (one bad message must not stop the grading of the others)
                log.exception("grading message %s failed", message_id)
            finally:
                self.queue.task_done()

    async def grade(self, message_id: int) -> None:
        row = await asyncio.to_thread(self.store.message_for_grading, message_id)
        if row is None or row["report"] is not None:
            return
        try:
            report = await analyse_message(row["raw"], self.resolver, MessageOptions(
                client_ip=row["client_ip"], helo=row["helo"], mail_from=row["mail_from"], audit_areas=INBOX_AREAS))
        except Exception as exc:  # noqa: BLE001  (an analysis bug: the user still gets an answer)
            log.exception("analysis of message %s failed", message_id)
            report = Report(target=row["rcpt"], kind="message")
            report.findings.append(make_finding("msg.parse_error", "The message could not be analysed",
                                                f"{type(exc).__name__}: {exc}", fix="Report this to the maildoctor developers."))
        data: dict[str, Any] = report.to_json()
        data["facts"]["received"] = {"client_ip": row["client_ip"], "helo": row["helo"], "mail_from": row["mail_from"],
                                     "rcpt": row["rcpt"], "tls": bool(row["tls"]), "size": row["size"], "at": row["received"]}
        data["graded_in"] = round(time.time() - row["received"], 3)
        await asyncio.to_thread(self.store.save_grade, message_id, report.score, data)
        self.graded += 1
