"""Every command's --format json validates against the published JSON Schema (docs/maildoctor.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import CORPORA, EXAMPLES, ROOT, ZONES
from tests.test_cli import run

SCHEMA = json.loads((ROOT / "docs" / "maildoctor.schema.json").read_text())
ZONE = str(EXAMPLES / "afspraakmanager.be.zone")
HEADERS = str(EXAMPLES / "afspraakmanager.be-gmail-headers.txt")


def validate(document: object, definition: str) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:10])


@pytest.mark.parametrize(
    ("definition", "arguments"),
    [
        ("audit", ["check", "afspraakmanager.be", "--zone", ZONE]),
        ("audit", ["zone", ZONE]),
        ("audit", ["message", HEADERS, "--zone", ZONE]),
        ("spf", ["spf", "afspraakmanager.be", "--zone", ZONE]),
        ("spf_eval", ["spf", "eval", "--ip", "192.0.2.1", "--mail-from", "a@afspraakmanager.be", "--zone", ZONE]),
        ("dkim", ["dkim", "afspraakmanager.be", "--zone", ZONE]),
        ("blocklists", ["blocklists", "127.0.0.2", "example.org", "--zone", str(ZONES)]),
        ("bounces", ["bounces", "classify", str(CORPORA / "bounces" / "lhost-postfix-36.eml"), str(CORPORA / "bounces" / "arf-16.eml")]),
    ],
)
def test_command_output_follows_the_schema(definition: str, arguments: list[str]) -> None:
    done = run(*arguments, "--format", "json")
    assert done.returncode in (0, 1, 3), done.stderr
    validate(json.loads(done.stdout), definition)


def test_report_commands_follow_the_schema(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    ingested = run(
        "reports",
        "ingest",
        str(CORPORA / "dmarc" / "aggregate"),
        str(CORPORA / "bounces" / "lhost-postfix-36.eml"),
        "--data",
        data,
        "--format",
        "json",
    )
    validate(json.loads(ingested.stdout), "ingest")
    summary = json.loads(run("reports", "summary", "--data", data, "--zone", str(ZONES), "--format", "json").stdout)
    assert summary["domains"]  # a summary with sources, not an empty one
    validate(summary, "summary")
    validate(json.loads(run("suppressions", "export", "--data", data, "--format", "json").stdout), "suppressions")


def test_the_schema_rejects_what_it_should() -> None:
    good = json.loads(run("zone", ZONE, "--format", "json").stdout)
    with pytest.raises(AssertionError):
        validate({**good, "findings": [{**good["findings"][0], "severity": "fatal"}]}, "audit")
    with pytest.raises(AssertionError):
        validate({key: value for key, value in good.items() if key != "complete"}, "audit")


@pytest.mark.parametrize(
    ("definition", "arguments"),
    [
        ("spf_build", ["spf", "build", "good.test", "--mx", "--zone", str(ZONES)]),
        ("dmarc_build", ["dmarc", "build", "good.test", "--rua", "mailto:d@good.test", "--zone", str(ZONES)]),
        ("mtasts_build", ["mta-sts", "build", "good.test", "--zone", str(ZONES)]),
        ("bimi_build", ["bimi", "build", "good.test", "--logo", "https://good.test/logo.svg"]),
        ("warmup", ["plan", "warmup", "--ips", "203.0.113.7", "--daily", "5000", "--start", "2027-01-04"]),
        ("compliance", ["compliance", "afspraakmanager.be", "--zone", ZONE, "--message", HEADERS]),
    ],
)
def test_the_builders_and_plans_follow_the_schema(definition: str, arguments: list[str]) -> None:
    done = run(*arguments, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    validate(json.loads(done.stdout), definition)


def test_audience_waves_and_monitor_status_follow_the_schema(tmp_path: Path) -> None:
    recipients = tmp_path / "recipients.txt"
    recipients.write_text("alice@company.lab\nbob@nomx.lab\n")
    zone = tmp_path / "company.lab.zone"
    zone.write_text("$ORIGIN company.lab.\n@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\n@ 300 IN MX 1 aspmx.l.google.com.\n")
    validate(json.loads(run("audience", "analyse", str(recipients), "--zone", str(zone), "--format", "json").stdout), "audience")
    validate(json.loads(run("plan", "waves", str(recipients), "--per-hour", "10", "--zone", str(zone), "--format", "json").stdout), "waves")
    config = tmp_path / "monitor.toml"
    config.write_text(f'[monitor]\ndata = "{tmp_path / "data"}"\n[watch]\nips = ["192.0.2.1"]\n')
    validate(json.loads(run("monitor", "status", "--config", str(config), "--format", "json").stdout), "monitor_status")
