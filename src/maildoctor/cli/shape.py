"""`maildoctor shape postfix`: Postfix shaped per mailbox provider."""

from __future__ import annotations

import json
from pathlib import Path

import click

from maildoctor import aio
from maildoctor.audience.hygiene import KEPT, provider_data, resolve_list
from maildoctor.campaign.shaping import shape_postfix
from maildoctor.cli.common import CONTEXT, build_resolver, dns_options, fail


@click.group(
    context_settings=CONTEXT,
    epilog="""\\b
Examples:
  maildoctor shape postfix recipients.csv --out postfix/""",
)
def shape() -> None:
    """Configuration that sends to each provider at the pace it takes."""


@shape.command(
    "postfix",
    context_settings=CONTEXT,
    epilog="""\\b
Examples:
  maildoctor shape postfix --out postfix/                      # the big providers' own domains
  maildoctor shape postfix recipients.csv --out postfix/ --ips 2  # and the list's domains, by MX
\\b
Writes master.cf and main.cf snippets and the transport map into --out; then append them, run
postmap on the map, and postfix reload.""",
)
@click.argument("recipients", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Where the files go.")
@click.option("--ips", type=click.IntRange(1), default=1, show_default=True, help="The IPs Postfix sends from (the limits are per IP).")
@click.option(
    "--providers",
    "providers_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own limits per provider (JSON, as the providers of data/sending.json), over the shipped ones.",
)
@dns_options
def postfix(
    recipients: Path | None,
    out_dir: Path,
    ips: int,
    providers_file: Path | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """One transport per mailbox provider, its limits, and the recipient domains routed to it by MX
    (a company domain on Google's MX goes through Google's transport)."""
    domains: dict[str, str] = {}
    if recipients is not None:
        resolved = aio.run(resolve_list(build_resolver(nameservers, zones, timeout), recipients))
        domains = {d: mail.provider for d, mail in resolved.items() if mail.state == KEPT}
    consumer = {name: list(entry["domains"]) for name, entry in provider_data()["providers"].items()}
    shaped = shape_postfix(domains, consumer, ips, _limits(providers_file) if providers_file else None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "master.cf").write_text(shaped.master_cf)
        (out_dir / "main.cf").write_text(shaped.main_cf)
        (out_dir / "transport").write_text(shaped.transport)
    except OSError as exc:
        fail(f"cannot write into {out_dir}: {exc.strerror}")
    routed = sum(1 for line in shaped.transport.splitlines() if line and not line.startswith("#"))
    click.echo(
        f"{len(shaped.transports)} transports ({', '.join(shaped.transports.values())}), {routed} domains routed: {out_dir}/master.cf, main.cf, transport"
    )


def _limits(path: Path) -> dict[str, dict[str, object]]:
    """{provider: {"connections_per_ip": n, "rate_delay": "1s", "recipients_per_message": n, "source": "..."}}."""
    try:
        data = json.loads(path.read_text("utf-8"))
        limits = data.get("providers", data)
        for provider, entry in limits.items():
            if not isinstance(entry.get("connections_per_ip"), int) or entry["connections_per_ip"] < 1:
                raise ValueError(f"{provider}: connections_per_ip must be a whole number of at least 1")
            entry.setdefault("source", f"your limits ({path.name})")
        return dict(limits)
    except (OSError, ValueError, AttributeError) as exc:
        fail(f"{path}: {exc}")
