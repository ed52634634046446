"""The watch as a service: a cycle every interval (IPs, relays, domains), alerts sent on change,
Prometheus metrics and a status page over HTTP, and the socketmap Postfix asks for the relay of a
pool. A cycle that fails is logged and counted; the next one runs on time."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from maildoctor.checks.dnsbl import catalog_for
from maildoctor.dns.answer import Resolver
from maildoctor.feedback.imap import ImapSource, fetch_and_ingest
from maildoctor.monitor.alerts import Event, Tracker
from maildoctor.monitor.config import MonitorConfig, Pool, Relay
from maildoctor.monitor.feedback import complaint_rate, delivery, ingest_folder, new_failing_sources
from maildoctor.monitor.looks import DomainAsk, DomainOptions, LocalLooks, Looks
from maildoctor.monitor.notify import notify
from maildoctor.monitor.watch import (
    CLEAN_STATE,
    LISTED_STATE,
    UNKNOWN_STATE,
    Budget,
    DomainLook,
    Observation,
    Probe,
    budgets,
    changes,
)
from maildoctor.store.monitor import MonitorStore

log = logging.getLogger("maildoctor.monitor")
IP_CHUNK = 500  # IPs asked of every list at once: memory stays bounded by a chunk's answers
DOMAIN_BATCH = 500  # domains whose last snapshots are read at once
LAST_CYCLE = "monitor:last-cycle"  # where a cycle's summary is kept for `monitor status`


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.listed = Gauge(
            "maildoctor_listed", "1 while the target is listed on the list (no series when it is not)", ["target", "list"], registry=r
        )
        self.untrusted = Gauge("maildoctor_answers_untrusted", "List answers of the last cycle that could not be trusted", registry=r)
        self.cycle_seconds = Gauge("maildoctor_cycle_seconds", "How long the last cycle took", registry=r)
        self.cycle_end = Gauge("maildoctor_cycle_last_end_timestamp_seconds", "When the last cycle ended (Unix time)", registry=r)
        self.cycles = Counter("maildoctor_cycles", "Cycles run", ["outcome"], registry=r)
        self.alerts = Counter("maildoctor_alert_events", "Alert events sent", ["event", "kind"], registry=r)
        self.open_alerts = Gauge("maildoctor_alerts_open", "Alerts open now", registry=r)
        self.complaint_rate = Gauge(
            "maildoctor_complaint_rate", "Complaints over the messages the DMARC reports counted, in the window", registry=r
        )
        self.relay_healthy = Gauge("maildoctor_relay_healthy", "1 when the relay is on no list", ["pool", "relay"], registry=r)


class Monitor:
    def __init__(self, config: MonitorConfig, store: MonitorStore, resolver: Resolver | None = None, looks: Looks | None = None) -> None:
        """looks: where the cycle's looks are taken (a Dask cluster); by default here, with resolver."""
        self.config = config
        self.store = store
        self.looks: Looks | None = looks or (LocalLooks(resolver) if resolver is not None else None)
        self.tracker = Tracker(store, config.clean_cycles)
        self.metrics = Metrics()
        self.last_cycle: dict[str, Any] = {}
        self.cycles_run = 0
        self.answers = 0
        self.exported: set[tuple[str, str]] = set()  # the (target, list) series of maildoctor_listed
        self.budgets: list[Budget] = []

    def relay_for(self, pool: Pool) -> tuple[Relay, bool]:
        """The relay to use now: the first on no list; when all are listed, the first (never none)."""
        for relay in pool.relays:
            if not self.tracker.listed(relay.ip):
                return relay, True
        return pool.relays[0], False

    async def cycle(self) -> list[Event]:
        started, now = time.perf_counter(), time.time()
        config = self.config
        events: list[Event] = []
        ips = config.watched_ips()
        self.budgets = budgets(catalog_for(config.blocklists, config.spamhaus_dqs_key), ips, config.interval, len(config.domains))
        due = [b.blocklist for b in self.budgets if self.cycles_run % b.every == 0]
        self.cycles_run += 1
        self.tracker.new_cycle()
        seen: list[Observation] = []
        looks = self.looks
        assert looks is not None, "a monitor that runs cycles asks DNS"
        chunks = [ips[start : start + IP_CHUNK] for start in range(0, len(ips), IP_CHUNK)]  # memory stays bounded by a chunk
        async for chunk in looks.ips(chunks, due):
            for observation in chunk:
                events += self._record(observation, now)
            seen += [o for o in chunk if o.state != CLEAN_STATE]  # what the status needs; clean answers are counted
            self.answers += len(chunk)
        async for reverses in looks.rdns(chunks):
            for reverse in reverses:
                if reverse.state != UNKNOWN_STATE:  # an answer that failed changes nothing
                    events += self.tracker.problem(
                        reverse.ip, "rdns", f"The reverse DNS of {reverse.ip} is broken: {reverse.detail}",
                        {"fix": f"Ask the owner of {reverse.ip} for a PTR naming your mail host, with a matching A/AAAA record."},
                        now, holds=reverse.state != "ok", kind="rdns",
                    )  # fmt: skip
        options = DomainOptions(
            config.blocklists, config.spamhaus_dqs_key, Probe(config.probe_port, config.cafile) if config.probe else None
        )
        for start in range(0, len(config.domains), DOMAIN_BATCH):
            batch = config.domains[start : start + DOMAIN_BATCH]
            before = await asyncio.to_thread(self._snapshots, batch)
            asks = [DomainAsk(d, sorted((before[d] or {}).get("dkim", {}))) for d in batch]
            async for look in looks.domains(asks, options):
                events += await self._domain_looked(look, before[look.domain], now)
        for pool in config.pools:
            relay, healthy = self.relay_for(pool)
            for each in pool.relays:
                self.metrics.relay_healthy.labels(pool.name, f"{each.host}:{each.port}").set(0 if self.tracker.listed(each.ip) else 1)
            events += self.tracker.problem(
                f"pool:{pool.name}",
                "relays",
                f"Every relay of pool {pool.name} is listed: mail goes through {relay.host}:{relay.port}, the first",
                {"relays": [f"{r.host}:{r.port} ({r.ip})" for r in pool.relays], "fix": "Delist a relay or add a clean one to the pool."},
                now,
                holds=not healthy,
            )
        events += await self.feedback(now)
        await asyncio.to_thread(self.tracker.flush)
        failed = await notify(events, config.webhooks, config.slack, config.mail)
        for event in events:
            self.metrics.alerts.labels(event.what, event.alert.kind).inc()
        untrusted = sum(1 for o in seen if o.state == UNKNOWN_STATE)
        answers, self.answers = self.answers, 0
        self.metrics.untrusted.set(untrusted)
        self.metrics.open_alerts.set(len(self.tracker.open))
        took = time.perf_counter() - started
        self.metrics.cycle_seconds.set(took)
        self.metrics.cycle_end.set(time.time())
        self.metrics.cycles.labels("ok").inc()
        self.last_cycle = {
            "ended": time.time(),
            "seconds": round(took, 3),
            "answers": answers,
            "untrusted": untrusted,
            "events": len(events),
            "undelivered": failed,
            "looked_on": looks.where,
        }
        await asyncio.to_thread(self.store.save_snapshot, LAST_CYCLE, {"cycle": self.last_cycle, "targets": self.targets()}, now)
        return events

    def _snapshots(self, domains: tuple[str, ...]) -> dict[str, dict[str, Any] | None]:
        return {d: self.store.snapshot(d) for d in domains}

    async def _domain_looked(self, look: DomainLook, before: dict[str, Any] | None, now: float) -> list[Event]:
        domain = look.domain
        found = [self.tracker.changed(change, now) for change in changes(domain, before, look)]
        merged = {**(before or {}), **{area: look.snapshot[area] for area in look.checked}}
        await asyncio.to_thread(self.store.save_snapshot, domain, merged, now)
        for observation in look.listings:
            found += self._record(observation, now)
        for host, not_after in look.certificates:
            days = (datetime.datetime.fromisoformat(not_after).timestamp() - now) / 86400
            found += self.tracker.problem(
                domain, f"cert:{host}", f"The certificate of {host} ({domain}'s MX) expires in {days:.0f} days ({not_after[:10]})",
                {"fix": "Renew it (certbot renew, or your provider's panel) and reload the mail server."},
                now, holds=days < self.config.cert_warning_days, kind="cert",
            )  # fmt: skip
        return found

    def _record(self, observation: Observation, now: float) -> list[Event]:
        """One answer: tracked, and in the metrics while it is a listing (a series per listing,
        not one per IP and list: 10,000 IPs on 50 lists would be half a million)."""
        events = self.tracker.observe(observation, now)
        name = str(observation.evidence.get("list", observation.check))
        state = self.tracker.states.get((observation.target, observation.check))
        if state is not None and state.state == LISTED_STATE:
            self.metrics.listed.labels(observation.target, name).set(1)
            self.exported.add((observation.target, name))
        elif (observation.target, name) in self.exported and observation.state == CLEAN_STATE:
            self.metrics.listed.remove(observation.target, name)
            self.exported.discard((observation.target, name))
        return events

    async def feedback(self, now: float) -> list[Event]:
        """Ingest what was dropped in the feedback folder; alert while the complaint rate is too high."""
        config = self.config
        if not config.feedback_folder and not config.imap:
            return []
        engine = self.store.engine
        events = []
        if config.feedback_folder:
            await asyncio.to_thread(ingest_folder, engine, Path(config.feedback_folder))
        if config.imap:
            source = ImapSource.parse(config.imap)
            try:
                await asyncio.to_thread(fetch_and_ingest, engine, source, config.imap_password, False, config.imap_cafile)
                failure = ""
            except ValueError as exc:  # the mailbox is unreachable this cycle: said, and tried again the next
                failure = str(exc)
            events += self.tracker.problem(
                "feedback",
                "imap",
                f"The feedback mailbox cannot be read: {failure}",
                {"fix": "Check the server, the account and its password."},
                now,
                holds=bool(failure),
                kind="feedback",
            )
        rate = await asyncio.to_thread(complaint_rate, engine, now, config.feedback_window)
        self.metrics.complaint_rate.set(rate.rate)
        sent = await asyncio.to_thread(delivery, engine, now, config.feedback_window)
        before = await asyncio.to_thread(delivery, engine, now - config.feedback_window, config.feedback_window)
        trend = f"; {before.share(before.dmarc_failing, before.messages):.1%} the window before" if before.messages else ""
        days = f"{config.feedback_window / 86400:g} days"
        for check, part, whole, limit, words, fix in (
            (
                "dmarc_failures",
                sent.dmarc_failing,
                sent.messages,
                config.dmarc_fail_alert,
                f"of the messages the DMARC reports counted fail DMARC{trend}",
                "Read maildoctor reports summary: a source that sends for you needs SPF and DKIM aligned with your domain.",
            ),
            (
                "tls_failures",
                sent.tls_failures,
                sent.tls_sessions,
                config.tls_fail_alert,
                "of the TLS sessions reported (TLS-RPT) failed",
                "Read the TLS reports: a certificate, an MTA-STS policy or a DANE record that does not match the MX hosts.",
            ),
            (
                "hard_bounces",
                sent.hard_bounces,
                sent.messages,
                config.bounce_alert,
                "of the messages hard-bounced",
                "Stop mailing the addresses that bounce (maildoctor suppressions export) and check how the list is built.",
            ),
        ):
            share = sent.share(part, whole)
            events += self.tracker.problem(
                "feedback", check, f"{share:.1%} {words} in {days} ({part} of {whole}), over {limit:.1%}", {"fix": fix}, now,
                holds=whole > 0 and share > limit, kind="feedback",
            )  # fmt: skip
        fresh = await asyncio.to_thread(new_failing_sources, engine, now, config.feedback_window)
        current = {(domain, f"new_source:{ip}") for domain, ip, _ in fresh}
        for target, check in [k for k in self.tracker.open if k[1].startswith("new_source:") and k not in current]:
            events += self.tracker.problem(target, check, "", {}, now, holds=False)  # it passes now, or is no longer new
        for domain, ip, count in fresh:
            events += self.tracker.problem(
                domain, f"new_source:{ip}", f"A new source, {ip}, sends as {domain} and fails DMARC ({count} messages)",
                {"fix": "If it is a service of yours, set up SPF and DKIM for it; if not, someone sends as your domain: a DMARC policy stops it."},
                now, holds=True, kind="feedback",
            )  # fmt: skip
        for check, threshold, what in (
            ("complaint_rate", config.complaint_alert, "over"),
            ("complaint_rate_warning", config.complaint_warning, "over"),
        ):
            events += self.tracker.problem(
                "feedback",
                check,
                f"The complaint rate is {rate.words()}, {what} {threshold:.1%}",
                {
                    "complaints": rate.complaints,
                    "messages": rate.messages,
                    "fix": "Stop mailing who did not ask for it: check the sign-up path, the list's age and the unsubscribe link.",
                },
                now,
                holds=rate.messages > 0 and rate.rate > threshold,
                kind="feedback",
            )
        return events

    async def run(self, stop: asyncio.Event, cycles: int | None = None) -> None:
        done = 0
        while not stop.is_set() and (cycles is None or done < cycles):
            began = time.monotonic()
            try:
                await self.cycle()
            except Exception:  # noqa: BLE001  (a bug or an outage in one cycle must not end the watch)
                log.exception("monitor cycle failed")
                self.metrics.cycles.labels("failed").inc()
            done += 1
            wait = max(0.0, self.config.interval - (time.monotonic() - began))
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass

    def targets(self) -> dict[str, dict[str, Any]]:
        """Each target's reading: the lists it is on, the checks answered, those that could not be trusted."""
        states: dict[str, dict[str, Any]] = {
            target: {"listed_on": [], "unknown": untrusted, "checks": answered}
            for target, (answered, untrusted) in self.tracker.counts.items()
        }
        for (target, check), state in sorted(self.tracker.states.items()):
            entry = states.setdefault(target, {"listed_on": [], "unknown": 0, "checks": 0})
            if state.state == LISTED_STATE:
                alert = self.tracker.open.get((target, check))
                name = str(alert.detail.get("list", check)) if alert else check
                entry["listed_on"].append({"check": check, "list": name, "since": state.since, "detail": state.detail})
        return states

    def status(self) -> dict[str, Any]:
        """What is watched, the last cycle, the open alerts and the recent ones, each target's states
        (this process's, or as the running monitor saved them at the end of its last cycle)."""
        saved = {} if self.last_cycle else (self.store.snapshot(LAST_CYCLE) or {})
        return {
            "watching": {"ips": list(self.config.watched_ips()), "domains": list(self.config.domains), "interval": self.config.interval},
            "last_cycle": self.last_cycle or saved.get("cycle", {}),
            "targets": self.targets() if self.last_cycle else saved.get("targets", {}),
            "pools": [
                {
                    "pool": pool.name,
                    "using": f"{self.relay_for(pool)[0].host}:{self.relay_for(pool)[0].port}",
                    "relays": [f"{r.host}:{r.port}" for r in pool.relays],
                }
                for pool in self.config.pools
            ],
            "budgets": [b.to_json() for b in self.budgets if b.blocklist.daily_queries],
            "open_alerts": [a.to_json() for a in self.store.alerts(open_only=True)],
            "recent_alerts": [a.to_json() for a in self.store.alerts(limit=50)],
        }

    def metrics_text(self) -> tuple[bytes, str]:
        return generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST
