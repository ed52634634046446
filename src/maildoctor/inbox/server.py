"""`maildoctor serve`: the SMTP server, the grader and the web server in one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from maildoctor.dns.spec import ResolverSpec
from maildoctor.inbox.grader import ContentFilters, Grader
from maildoctor.inbox.smtpd import InboxHandler, LimitedSMTP, SmtpLimits, any_credentials
from maildoctor.inbox.tlscert import server_context
from maildoctor.inbox.web import create_app
from maildoctor.monitor.config import MonitorConfig
from maildoctor.monitor.run import QuietServer, start_monitor
from maildoctor.probes.contentengines import spamd_answers
from maildoctor.store.database import Store
from maildoctor.store.monitor import MonitorStore

log = logging.getLogger("maildoctor.inbox")


@dataclass
class ServeConfig:
    domain: str
    host: str = "127.0.0.1"
    smtp_port: int = 2525
    http_port: int = 8025
    data: Path = Path("maildoctor-data")
    db: str | None = None  # an SQLAlchemy URL; default SQLite in data/
    keep_days: float = 7.0
    admin_token: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls: bool = True
    grader_processes: int = 2
    limits: SmtpLimits = field(default_factory=SmtpLimits)
    spamassassin: str | None = None  # spamd's HOST:PORT
    rspamd: str | None = None  # rspamd's URL
    local_spamd: bool = True  # with neither given: use a spamd on 127.0.0.1:783 when one answers
    check_links: bool = False
    links_allow_private: bool = False
    monitor: MonitorConfig | None = None  # the watch, run in the same process on the same database


LOCAL_SPAMD = "127.0.0.1:783"


async def content_filters(config: ServeConfig) -> ContentFilters:
    spamassassin = config.spamassassin
    if not (spamassassin or config.rspamd) and config.local_spamd and await spamd_answers(LOCAL_SPAMD):
        spamassassin = LOCAL_SPAMD
    return ContentFilters(spamassassin, config.rspamd, config.check_links, config.links_allow_private)


async def purge_forever(store: Store, keep_days: float) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(store.purge, time.time() - keep_days * 86400)
            if removed:
                log.info("purged %d tests older than %g days", removed, keep_days)
        except Exception:  # noqa: BLE001  (a failed purge is retried at the next round)
            log.exception("purge failed")
        await asyncio.sleep(3600)


async def serve(config: ServeConfig, spec: ResolverSpec) -> None:
    config.data.mkdir(parents=True, exist_ok=True)
    store = Store(config.db or str(config.data))
    filters = await content_filters(config)
    grader = Grader(store, spec, config.grader_processes, filters)
    queued = await grader.start()
    handler = InboxHandler(store, config.domain, grader, config.limits)
    tls = server_context(config.data, config.domain, config.tls_cert, config.tls_key) if config.tls else None
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: LimitedSMTP(
            handler,
            hostname=config.domain,
            data_size_limit=config.limits.max_message_bytes,
            tls_context=tls,
            timeout=config.limits.command_timeout,
            enable_SMTPUTF8=True,
            max_per_ip=config.limits.max_connections_per_ip,
            ident="maildoctor test inbox",
            authenticator=any_credentials,
        ),
        config.host,
        config.smtp_port,
    )
    names = spec.build()  # the reverse names of report sources, asked under the web server's loop
    web = QuietServer(
        uvicorn.Config(
            create_app(store, config.domain, config.admin_token, lambda: names, filters.describe(), grader.submit),
            host=config.host,
            port=config.http_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    purger = asyncio.create_task(purge_forever(store, config.keep_days))
    watch = await start_monitor(config.monitor, MonitorStore(store.engine)) if config.monitor else None
    web_host = f"[{config.host}]" if ":" in config.host else config.host
    print(
        f"maildoctor serve: SMTP on {config.host}:{config.smtp_port} for <test address>@{config.domain}"
        f" (STARTTLS {'on' if tls else 'off'}), web on http://{web_host}:{config.http_port}/,"
        f" data in {config.db or config.data}; content filter: {filters.describe()}; {queued} stored message(s) queued for grading",
        flush=True,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: setattr(web, "should_exit", True))
    try:
        await web.serve()
    finally:
        smtp.close()
        purger.cancel()
        if watch is not None:
            await watch.close()
        await grader.stop()
        store.close()
        print("maildoctor serve: stopped", file=sys.stderr, flush=True)
