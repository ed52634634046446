"""`maildoctor serve`: the test inbox."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from maildoctor.cli.common import (
    CONTEXT,
    build_resolver,
    dns_options,
    fail,
    resolver_spec,
)
from maildoctor.monitor.config import ConfigError, MonitorConfig, load_config
from maildoctor.target import parse_domain, parse_host_port


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor serve                                   # SMTP :2525, web http://127.0.0.1:8025, SQLite in ./maildoctor-data
  maildoctor serve --host 0.0.0.0 --smtp-port 25 --http-port 80 --domain test.example.com
  maildoctor serve --db postgresql+psycopg://md:secret@db/maildoctor --admin-token "$TOKEN"
  maildoctor serve --nameserver 127.0.0.1:5353        # DNS for the analysis, as in `check`
  maildoctor serve --monitor monitor.toml             # and the monitor, on the same database
  maildoctor serve --spamassassin 127.0.0.1:7830      # content scored by this spamd (default: one on :783 if it answers)
\b
Then open the web page, get an address, and send a mail to it (e.g. swaks --server 127.0.0.1:2525
--to md-xxxxxxxxxx@DOMAIN). Scripts: POST /api/tests, then GET /api/tests/ID.""",
)
@click.option("--domain", default=None, help="The domain of the test addresses (its MX must point here). [default: this host's name]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (SMTP and web).")
@click.option("--smtp-port", type=click.IntRange(1, 65535), default=2525, show_default=True)
@click.option("--http-port", type=click.IntRange(1, 65535), default=8025, show_default=True)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("maildoctor-data"),
    show_default=True,
    help="Directory for the SQLite database and the TLS certificate.",
)
@click.option("--db", metavar="URL", help="A database URL instead of SQLite in --data (e.g. postgresql+psycopg://...).")
@click.option(
    "--keep-days", type=click.FloatRange(0.01, 3650), default=7.0, show_default=True, help="Delete tests and messages after this many days."
)
@click.option(
    "--admin-token", envvar="MAILDOCTOR_ADMIN_TOKEN", help="Enables GET/DELETE /api/tests (listing, deletion) with this bearer token."
)
@click.option(
    "--max-size",
    type=click.IntRange(1024, 1 << 30),
    default=10 * 1024 * 1024,
    show_default=True,
    help="Largest message accepted, in bytes (552 beyond).",
)
@click.option("--max-recipients", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--max-connections-per-ip", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate for STARTTLS (default: a self-signed one in --data).",
)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM key of --tls-cert.")
@click.option("--no-tls", is_flag=True, help="Do not offer STARTTLS.")
@click.option(
    "--reports-address",
    default="reports",
    show_default=True,
    metavar="LOCAL",
    help="LOCAL@DOMAIN takes DMARC/TLS reports, bounces and complaints (as `reports ingest` does); '' turns it off.",
)
@click.option(
    "--grader-processes",
    type=click.IntRange(0, 64),
    default=None,
    help="Worker processes that grade messages; 0 grades in the server process. [default: the number of CPUs]",
)
@click.option("--spamassassin", metavar="HOST[:PORT]", help="Score every message with this spamd (SpamAssassin).")
@click.option("--rspamd", metavar="URL", help="Score every message with this rspamd (its controller or normal worker).")
@click.option(
    "--no-local-spamd", is_flag=True, help="Do not use a spamd on 127.0.0.1:783 when neither --spamassassin nor --rspamd is given."
)
@click.option("--check-links", is_flag=True, help="Fetch each link of a message (HEAD, then GET; 5 s, 3 redirects; public addresses only).")
@click.option("--check-links-allow-private", is_flag=True, help="Let --check-links reach loopback and private addresses (a lab, tests).")
@click.option(
    "--monitor",
    "monitor_config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also run the monitor with this monitor.toml, on the inbox's database.",
)
@dns_options
def serve(
    domain: str | None,
    host: str,
    smtp_port: int,
    http_port: int,
    data_dir: Path,
    db: str | None,
    keep_days: float,
    admin_token: str | None,
    max_size: int,
    max_recipients: int,
    max_connections_per_ip: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    no_tls: bool,
    reports_address: str,
    grader_processes: int | None,
    spamassassin: str | None,
    rspamd: str | None,
    no_local_spamd: bool,
    check_links: bool,
    check_links_allow_private: bool,
    monitor_config: Path | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Run the test inbox: an SMTP server that accepts mail only for the addresses it hands out,
    and a web page (and REST API) that grades each message like a receiver would."""
    import logging
    import socket

    from maildoctor.inbox.server import ServeConfig
    from maildoctor.inbox.server import serve as run_server
    from maildoctor.inbox.smtpd import SmtpLimits

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("maildoctor.inbox").setLevel(logging.INFO)  # a line per accepted message
    try:
        name = parse_domain(domain) if domain else (socket.getfqdn().lower() if "." in socket.getfqdn() else "localhost")
    except ValueError as exc:
        fail(str(exc))
    if (tls_cert is None) != (tls_key is None):
        fail("give both --tls-cert and --tls-key, or neither")
    config = ServeConfig(
        domain=name,
        host=host,
        smtp_port=smtp_port,
        http_port=http_port,
        data=data_dir,
        db=db,
        keep_days=keep_days,
        admin_token=admin_token,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls=not no_tls,
        limits=SmtpLimits(
            reports_local=reports_address,
            max_message_bytes=max_size,
            max_recipients=max_recipients,
            max_connections_per_ip=max_connections_per_ip,
        ),
        grader_processes=os.cpu_count() or 1 if grader_processes is None else grader_processes,
        spamassassin=spamassassin,
        rspamd=rspamd,
        local_spamd=not no_local_spamd,
        check_links=check_links or check_links_allow_private,
        links_allow_private=check_links_allow_private,
        monitor=_monitor_config(monitor_config),
    )
    if spamassassin:
        try:
            parse_host_port(spamassassin, 783)
        except ValueError as exc:
            fail(f"--spamassassin: {exc}")
    build_resolver(nameservers, zones, timeout)  # bad --nameserver or --zone: say so now, not in a worker
    from sqlalchemy.exc import SQLAlchemyError

    try:
        asyncio.run(run_server(config, resolver_spec(nameservers, zones, timeout)))  # aiosmtpd is tested on asyncio's loop
    except SQLAlchemyError as exc:
        fail(f"cannot open the database {db or data_dir}: {str(exc).splitlines()[0]}")
    except OSError as exc:
        fail(f"cannot listen: {exc}")
    except KeyboardInterrupt:
        pass


def _monitor_config(path: Path | None) -> MonitorConfig | None:
    if path is None:
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))
