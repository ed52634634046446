"""What every command shares: the option groups, the resolver built from them, exit statuses and failing with a message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from maildoctor import aio
from maildoctor.dns.answer import Resolver
from maildoctor.dns.spec import ResolverSpec
from maildoctor.dns.zonedata import ZoneLoadError
from maildoctor.findings import Report, Severity
from maildoctor.render.json import render_json
from maildoctor.render.terminal import render_terminal

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FAIL_ON = ["critical", "error", "warning", "notice", "info", "never"]


# The exit statuses (documented in the README): 0 nothing at or above --fail-on, 1 something was,
# 2 usage or input error, 3 the audit is incomplete (Nagios' UNKNOWN).
EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


class InputError(click.ClickException):
    """Bad input: one line on stderr, exit status 2, never a traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"maildoctor: error: {self.format_message()}", err=True)


class DomainOrCommand(click.Group):
    """A group whose first argument, when it names none of its commands, is the DOMAIN of its
    default command: `maildoctor spf DOMAIN` is `maildoctor spf tree DOMAIN`."""

    def __init__(self, *args: Any, default_command: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def fail(message: str) -> NoReturn:
    raise InputError(message)


def finish(status: int) -> NoReturn:
    """End a command with this exit status (click turns it into the process's)."""
    raise click.exceptions.Exit(status)


def _remember_allow_incomplete(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["allow_incomplete"] = value


def allow_incomplete_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--allow-incomplete",
        is_flag=True,
        expose_value=False,
        callback=_remember_allow_incomplete,
        help="Exit 0 or 1 even when an area could not be checked (instead of 3).",
    )(func)


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = allow_incomplete_option(func)
    func = click.option(
        "--fail-on",
        type=click.Choice(FAIL_ON),
        default="error",
        show_default=True,
        help="Exit with status 1 when a finding at or above this severity is found.",
    )(func)
    func = click.option("-v", "--verbose", is_flag=True, help="Show the evidence of each finding and every DNS query made.")(func)
    func = click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for scripts (quiet: only the JSON on stdout).",
    )(func)
    return func


def dns_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--timeout",
        type=click.FloatRange(0.05, 60),
        default=2.0,
        show_default=True,
        help="Seconds to wait for each DNS answer (two attempts).",
    )(func)
    func = click.option(
        "--zone",
        "zones",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="Answer DNS from zone files: a *.zone file or a directory of them (repeatable).",
    )(func)
    func = click.option(
        "--nameserver",
        "nameservers",
        multiple=True,
        metavar="IP[:PORT]",
        help="Ask this DNS server instead of the system's resolver (repeatable).",
    )(func)
    return func


def _dqs_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from maildoctor.dnsbl.catalog import CatalogError, parse_dqs_key

    if not value:
        return None
    try:
        return parse_dqs_key(value)
    except CatalogError as exc:
        raise click.BadParameter(str(exc)) from None


def dqs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--spamhaus-dqs-key",
        envvar="MAILDOCTOR_SPAMHAUS_DQS_KEY",
        metavar="KEY",
        callback=_dqs_key,
        help="Ask Spamhaus through its Data Query Service with this key (answers through any resolver;"
        " also read from MAILDOCTOR_SPAMHAUS_DQS_KEY). Never shown in the output.",
    )(func)


def storage_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--db", metavar="URL", help="A database URL instead of SQLite in --data (e.g. postgresql+psycopg://...).")(func)
    func = click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("maildoctor-data"),
        show_default=True,
        help="Directory of the SQLite database (shared with `maildoctor serve`).",
    )(func)
    return func


def open_database(data_dir: Path, db: str | None) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    from maildoctor.store.database import connect, migrate

    try:
        engine = connect(db or str(data_dir))
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot open the database {db or data_dir}: {str(exc).splitlines()[0]}")
    return engine


def seconds_of(text: str) -> float | None:
    """'30d', '12h', '90m' as seconds, or None when the text is not such a duration."""
    units = {"d": 86400, "h": 3600, "m": 60}
    return int(text[:-1]) * units[text[-1]] if text[:-1].isdigit() and text[-1:] in units else None


def parse_since(text: str) -> float:
    """'30d', '12h', '90m' (ago), or a date YYYY-MM-DD; a UNIX time."""
    import datetime
    import time as clock

    ago = seconds_of(text)
    if ago is not None:
        return clock.time() - ago
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()
    except ValueError:
        raise ValueError(f"--since {text!r}: give 30d, 12h, 90m or a date like 2026-11-01") from None


def build_resolver(nameservers: tuple[str, ...], zones: tuple[Path, ...], timeout: float) -> Resolver:
    try:
        return resolver_spec(nameservers, zones, timeout).build()
    except ZoneLoadError as exc:
        fail(f"cannot read zone file: {exc}")
    except ValueError as exc:
        fail(str(exc))


def resolver_spec(nameservers: tuple[str, ...], zones: tuple[Path, ...], timeout: float) -> ResolverSpec:
    return ResolverSpec(tuple(nameservers), tuple(str(z) for z in zones), timeout)


EXIT_INCOMPLETE = 3  # an area could not be checked (Nagios' UNKNOWN)


def allow_incomplete() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("allow_incomplete"))


def exit_status(report: Report, fail_on: str) -> int:
    """0 nothing at or above --fail-on, 1 something was, 3 incomplete (unless --allow-incomplete)."""
    if not report.complete and not allow_incomplete():
        return EXIT_INCOMPLETE
    worst = report.worst()
    threshold = None if fail_on == "never" else Severity.parse(fail_on)
    return 1 if threshold is not None and worst is not None and worst >= threshold else 0


def emit(report: Report, output_format: str, verbose: bool, fail_on: str) -> NoReturn:
    if output_format == "json":
        click.echo(render_json(report, verbose=verbose))
    else:
        render_terminal(report, Console(highlight=False), verbose=verbose)
    finish(exit_status(report, fail_on))


def run_with_status(coro: Any, output_format: str, what: str) -> Any:
    console = Console(stderr=True)
    if output_format == "text" and console.is_terminal:
        with console.status(f"Auditing {what}…"):
            return aio.run(coro)
    return aio.run(coro)
