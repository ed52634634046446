"""`maildoctor bounces classify`."""

from __future__ import annotations

from pathlib import Path

import click

from maildoctor.cli.common import (
    CONTEXT,
    fail,
)
from maildoctor.render.json import dumps


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor bounces classify bounce.eml""",
)
def bounces() -> None:
    """Bounces and complaints: classify them (reports ingest stores them)."""


@bounces.command(
    "classify",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor bounces classify bounce.eml
  maildoctor bounces classify bounces/*.eml --format json""",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def bounces_classify(files: tuple[Path, ...], output_format: str) -> None:
    """One line per bounced recipient: recipient, hard/soft, reason, status and the server's words;
    complaints (ARF) as feedback with their type."""
    from maildoctor.feedback.bounces import classify

    results = []
    for path in files:
        try:
            found = classify(path.read_bytes())
        except OSError as exc:
            fail(f"cannot read {path}: {exc}")
        results.append((path, found))
    if output_format == "json":
        from maildoctor.render.feedback import bounces_document

        click.echo(dumps(bounces_document(results)))
        return
    for path, found in results:
        if not found:
            click.echo(f"{path}: not a bounce or complaint")
        for b in found:
            detail = f"feedback-type {b.feedback_type}" if b.reason == "feedback" else f"{b.status or '-'} {b.diagnostic[:100]}"
            click.echo(f"{path}: {b.recipient or '?'}  {b.kind}  {b.reason}  {detail}")
