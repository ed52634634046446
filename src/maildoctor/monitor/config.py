"""monitor.toml: what is watched, how often, where alerts go, and the relay pools. Validated on
load; an error names the line it is about."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from maildoctor.feedback.imap import ImapSource
from maildoctor.target import parse_domain, parse_host_port

MIN_INTERVAL = 1.0  # seconds; the tests use a second, real watches minutes


class ConfigError(ValueError):
    """A monitor.toml that cannot be used: the file, the line and why."""


@dataclass(frozen=True)
class Relay:
    host: str  # where Postfix sends (an address or a name)
    port: int
    ip: str  # the address receivers see it send from: what is looked up on the blocklists

    @property
    def nexthop(self) -> str:
        """The relay as a Postfix transport's next hop: smtp:[host]:port (no MX lookup)."""
        return f"smtp:[{self.host}]:{self.port}"


@dataclass(frozen=True)
class Pool:
    name: str
    relays: tuple[Relay, ...]


@dataclass(frozen=True)
class MonitorConfig:
    path: Path
    interval: float = 900.0  # seconds between the starts of two cycles
    clean_cycles: int = 2  # a listing is resolved after this many clean cycles in a row
    ips: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    pools: tuple[Pool, ...] = ()
    nameservers: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    timeout: float = 2.0
    webhooks: tuple[str, ...] = ()  # JSON POSTs
    slack: tuple[str, ...] = ()  # Slack-compatible incoming webhooks ({"text": ...})
    mail: tuple[str, str, tuple[str, ...]] | None = None  # (SMTP server, From, To) for alert mail
    listen: str = "127.0.0.1:8026"  # the status page, its JSON and /metrics
    socketmap: str = ""  # HOST:PORT where Postfix asks for the relay of a pool (socketmap_table)
    data: str = "maildoctor-data"
    db: str | None = None
    blocklists: str | None = None  # the user's own catalog, instead of the shipped one
    spamhaus_dqs_key: str | None = None
    feedback_folder: str = ""  # report and complaint files dropped here are ingested each cycle
    complaint_warning: float = 0.001  # Gmail's and Yahoo's: stay under 0.1% ...
    complaint_alert: float = 0.003  # ... and never reach 0.3%
    feedback_window: float = 7 * 86400
    dmarc_fail_alert: float = 0.05  # of the messages the reports count, failing DMARC
    tls_fail_alert: float = 0.01  # of the TLS sessions TLS-RPT reports count
    bounce_alert: float = 0.02  # hard bounces over the messages
    imap: str = ""  # imaps://user@host/MAILBOX polled each cycle
    imap_password: str = ""
    imap_cafile: str | None = None
    probe: bool = False  # connect to each watched domain's MX hosts: STARTTLS and the certificate's expiry
    probe_port: int = 25
    cafile: str | None = None  # extra CA certificates to trust (a private CA)
    cert_warning_days: int = 21
    dask: str = ""  # a Dask scheduler (tcp://host:8786) that takes the cycle's checks

    def watched_ips(self) -> list[str]:
        """The IPs and every relay's IP, once each."""
        return list(dict.fromkeys([*self.ips, *(r.ip for p in self.pools for r in p.relays)]))


def _seconds(value: object, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", str(value).strip())
    if not match:
        raise ValueError(f"{where}: give seconds or a duration like 90s, 15m, 1h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _line_of(text: str, key: str) -> int:
    """The line a key is written on (the first), for messages about its value."""
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line) or line.strip() == f"[{key}]" or line.strip().startswith(f"[{key}"):
            return number
    return 0


def load_config(path: Path) -> MonitorConfig:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    current = ""

    def fail(key: str, why: str) -> ConfigError:
        line = _line_of(text, key)
        return ConfigError(f"{path}{f':{line}' if line else ''}: {key}: {why}")

    known = {"monitor", "watch", "alerts", "pool", "dns", "postfix", "feedback"}
    for key in data:
        if key not in known:
            raise fail(key, f"unknown section; the sections are {', '.join(sorted(known))}")
    try:
        monitor = data.get("monitor", {})
        current = "interval"
        interval = _seconds(monitor.get("interval", 900), "interval")
        if interval < MIN_INTERVAL:
            raise ValueError(f"at least {MIN_INTERVAL:g} s")
        current = "clean_cycles"
        clean = int(monitor.get("clean_cycles", 2))
        if clean < 1:
            raise ValueError("at least 1")
        watch = data.get("watch", {})
        current = "probe"
        probe = watch.get("probe", False)
        if not isinstance(probe, bool):
            raise ValueError("true or false")
        current = "cert_warning_days"
        cert_days = int(watch.get("cert_warning_days", 21))
        current = "probe_port"
        probe_port = int(watch.get("probe_port", 25))
        current = "ips"
        ips = tuple(str(ipaddress.ip_address(str(ip).strip())) for ip in watch.get("ips", []))
        current = "domains"
        domains = tuple(parse_domain(str(d)) for d in watch.get("domains", []))
        pools = []
        for name, pool in data.get("pool", {}).items():
            current = f"pool.{name}"
            relays = []
            for relay in pool.get("relays", []):
                entry = relay if isinstance(relay, dict) else {"host": str(relay)}
                host, port = parse_host_port(str(entry["host"]), 25)
                ip = str(ipaddress.ip_address(str(entry.get("ip", host))))
                relays.append(Relay(host, port, ip))
            if not relays:
                raise ValueError("a pool needs relays = [...]")
            pools.append(Pool(name, tuple(relays)))
        if not ips and not domains and not pools and not (data.get("feedback", {}).get("folder") or data.get("feedback", {}).get("imap")):
            current = "watch"
            raise ValueError("nothing to watch: give ips, domains, a pool or a feedback folder")
        alerts = data.get("alerts", {})
        dns = data.get("dns", {})
        current = "mail"
        mail = None
        if "mail" in alerts:
            spec = alerts["mail"]
            parse_host_port(str(spec["server"]), 25)
            recipients = tuple(str(t) for t in spec["to"])
            if "@" not in str(spec["from"]) or not recipients or not all("@" in t for t in recipients):
                raise ValueError('mail = {server = "host:port", from = "a@b", to = ["c@d"]}')
            mail = (str(spec["server"]), str(spec["from"]), recipients)
        current = "nameservers"
        nameservers = tuple(str(n) for n in dns.get("nameservers", []))
        for server in nameservers:
            parse_host_port(server, 53)
        postfix = data.get("postfix", {})
        current = "socketmap"
        socketmap = str(postfix.get("socketmap", ""))
        if socketmap:
            parse_host_port(socketmap, 0)
        feedback = data.get("feedback", {})
        current = "complaint_alert"
        warning, alert = float(feedback.get("complaint_warning", 0.001)), float(feedback.get("complaint_alert", 0.003))
        if not 0 < warning <= alert < 1:
            raise ValueError("give rates as fractions, complaint_warning <= complaint_alert (0.001 is 0.1%)")
        current = "window"
        window = _seconds(feedback.get("window", "7d"), "window")
        current = "dmarc_fail_alert"
        rates = {
            key: float(feedback.get(key, default))
            for key, default in (("dmarc_fail_alert", 0.05), ("tls_fail_alert", 0.01), ("bounce_alert", 0.02))
        }
        for key, value in rates.items():
            current = key
            if not 0 < value < 1:
                raise ValueError("a rate is a fraction (0.05 is 5%)")
        current = "imap"
        imap = str(feedback.get("imap", ""))
        if imap:
            ImapSource.parse(imap)
        current = "imap_password_file"
        password = ""
        if imap:
            secret = feedback.get("imap_password_file")
            password = (path.parent / secret).read_text().strip() if secret else os.environ.get("MAILDOCTOR_IMAP_PASSWORD", "")
            if not password:
                raise ValueError("give imap_password_file (or MAILDOCTOR_IMAP_PASSWORD) for the IMAP mailbox")
        current = "dask"
        dask = str(monitor.get("dask", ""))
        if dask and "://" not in dask:
            raise ValueError("give the scheduler as tcp://host:8786")
        current = "listen"
        listen = str(monitor.get("listen", "127.0.0.1:8026"))
        parse_host_port(listen, 8026)
        return MonitorConfig(
            path=path,
            interval=interval,
            clean_cycles=clean,
            ips=ips,
            domains=domains,
            pools=tuple(pools),
            nameservers=nameservers,
            zones=tuple(str((path.parent / z).resolve()) for z in dns.get("zones", [])),
            timeout=_seconds(dns.get("timeout", 2), "timeout"),
            webhooks=tuple(str(u) for u in alerts.get("webhooks", [])),
            slack=tuple(str(u) for u in alerts.get("slack", [])),
            mail=mail,
            probe=probe,
            probe_port=probe_port,
            cafile=str((path.parent / watch["cafile"]).resolve()) if watch.get("cafile") else None,
            cert_warning_days=cert_days,
            listen=listen,
            dask=dask,
            socketmap=socketmap,
            data=str(monitor.get("data", "maildoctor-data")),
            db=monitor.get("db"),
            blocklists=dns.get("blocklists"),
            spamhaus_dqs_key=dns.get("spamhaus_dqs_key"),
            feedback_folder=str((path.parent / feedback["folder"]).resolve()) if feedback.get("folder") else "",
            complaint_warning=warning,
            complaint_alert=alert,
            feedback_window=window,
            imap=imap,
            imap_password=password,
            imap_cafile=str((path.parent / feedback["imap_cafile"]).resolve()) if feedback.get("imap_cafile") else None,
            **rates,
        )
    except ConfigError:
        raise
    except KeyError as exc:
        raise fail(current, f"missing {exc.args[0]} =") from None
    except OSError as exc:
        raise fail(current, exc.strerror or str(exc)) from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise fail(current, str(exc)) from None
