"""The command line, run as users run it: a subprocess, against the loopback DNS server."""

import json
import os
import subprocess
import sys
from pathlib import Path

from maildoctor.render.json import SCHEMA_VERSION
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import EXAMPLES, ROOT, ZONES


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env} if env else None
    return subprocess.run(
        [sys.executable, "-m", "maildoctor", *args], capture_output=True, text=True, timeout=60, cwd=ROOT, env=environment
    )


def test_check_json_against_a_nameserver(dns_server: TestDnsServer) -> None:
    result = run("check", "dmarcnone.test", "--nameserver", dns_server.address, "--format", "json")
    assert result.returncode == 0, result.stderr  # only warnings: below the default --fail-on error
    data = json.loads(result.stdout)
    assert data["schema"] == SCHEMA_VERSION and data["complete"] is True and data["target"] == "dmarcnone.test" and data["kind"] == "domain"
    assert {f["id"] for f in data["findings"]} == {"dmarc.policy_none", "dmarc.no_rua", "dnssec.unsigned"}
    for finding in data["findings"]:
        assert set(finding) == {"id", "area", "severity", "title", "detail", "evidence", "fix", "refs", "changes"}
    asked = {(q["name"], q["type"], q["outcome"]) for q in data["queries"]}
    assert ("_dmarc.dmarcnone.test", "TXT", "answer") in asked and ("dmarcnone.test", "MX", "answer") in asked
    assert 0 <= data["score"] <= 10


def test_fail_on_controls_the_exit_status(dns_server: TestDnsServer) -> None:
    assert run("check", "dmarcnone.test", "--nameserver", dns_server.address, "--fail-on", "warning").returncode == 1
    assert run("check", "mxdup.test", "--nameserver", dns_server.address).returncode == 1  # dmarc.missing is an error
    assert run("check", "mxdup.test", "--nameserver", dns_server.address, "--fail-on", "never").returncode == 0


def test_a_clean_domain_scores_10(dns_server: TestDnsServer) -> None:
    result = run("check", "good.test", "--nameserver", dns_server.address, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["findings"] == [] and data["score"] == 10.0


def test_check_answers_from_zone_files_without_network() -> None:
    result = run("check", "mxdup.test", "--zone", str(ZONES), "--format", "json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert "dmarc.missing" in {f["id"] for f in data["findings"]}
    assert all(q["outcome"] != "timeout" for q in data["queries"])


def test_text_output_shows_score_findings_and_fixes(dns_server: TestDnsServer) -> None:
    result = run("check", "mxdup.test", "--nameserver", dns_server.address, "--verbose")
    out = result.stdout
    assert "Score:" in out and "has no DMARC record" in out and "Fix:" in out
    assert "DNS queries" in out and "_dmarc.mxdup.test" in out  # --verbose adds the queries


def test_zone_command_on_the_example() -> None:
    result = run("zone", "examples/afspraakmanager.be.zone", "--format", "json")
    assert result.returncode == 1
    found = {f["id"] for f in json.loads(result.stdout)["findings"]}
    assert {"zone.owner_missing_dot", "zone.localhost_record", "dmarc.missing"} <= found


def test_unparsable_zone_is_a_finding_with_the_line(tmp_path: Path) -> None:
    bad = ROOT / "tests" / "zonefiles" / "broken.example.zone"
    result = run("zone", str(bad), "--format", "json")
    assert result.returncode == 1
    finding = json.loads(result.stdout)["findings"][0]
    assert finding["id"] == "zone.parse_error" and ":4: A data '999.1.1.1' does not parse" in finding["detail"]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        ("check", "not a domain"),
        ("check", "example.com", "--ip", "300.1.1.1"),
        ("check", "example.com", "--nameserver", "dns.google"),
        ("zone", str(tmp_path / "missing.zone")),
        ("check", "example.com", "--zone", str(tmp_path)),
        ("blocklists",),
        ("serve", "--db", "notadialect://x"),
        ("reports", "summary", "--db", "notadialect://x"),
        ("reports", "ingest"),
        ("blocklists", "999.1.2.3"),
    ]
    for args in cases:
        result = run(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip(), args


def test_every_command_has_help_with_examples() -> None:
    import click
    from click.testing import CliRunner

    from maildoctor.cli import main

    def commands(group: click.Group, path: list[str]) -> list[list[str]]:
        found = [path]
        context = click.Context(group)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            found += commands(command, [*path, name]) if isinstance(command, click.Group) else [[*path, name]]
        return found

    every = commands(main, [])
    assert ["fix"] in every and ["dkim", "keygen"] in every and ["mta-sts", "build"] in every
    for command in every:
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.output, command


def test_spf_tree_json(dns_server: TestDnsServer) -> None:
    result = run("spf", "spflookups.test", "--nameserver", dns_server.address, "--format", "json")
    assert result.returncode == 1, result.stderr  # too many lookups is critical
    data = json.loads(result.stdout)
    assert data["lookups"] == 14 and data["tree"]["domain"] == "spflookups.test"
    assert [c["via"] for c in data["tree"]["children"]] == ["include:l1.provider.test", "include:_spf.provider.test"]
    assert "spf.too_many_lookups" in {f["id"] for f in data["findings"]}


def test_spf_tree_text_shows_branches_and_counts(dns_server: TestDnsServer) -> None:
    out = run("spf", "spfok.test", "--nameserver", dns_server.address).stdout
    assert "include:_spf.provider.test" in out and "DNS lookups counted by receivers: 2/10" in out
    assert "203.0.113.0/25" in out


def test_spf_eval_json_has_the_documented_keys(dns_server: TestDnsServer) -> None:
    result = run(
        "spf",
        "eval",
        "--ip",
        "203.0.113.7",
        "--mail-from",
        "bounce@spfok.test",
        "--helo",
        "mail.spfok.test",
        "--nameserver",
        dns_server.address,
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["result"] == "pass" and data["mechanism"] == "include:_spf.provider.test"
    assert data["lookups"] == 2 and {"explanation", "queries"} <= set(data)
    assert any(q["name"] == "_spf.provider.test" for q in data["queries"])


def test_spf_eval_fail_exits_1_and_says_why(dns_server: TestDnsServer) -> None:
    result = run("spf", "eval", "--ip", "192.0.2.99", "--mail-from", "x@spfnoall.test", "--nameserver", dns_server.address)
    assert result.returncode == 1
    assert "SPF result: neutral" in result.stdout and "neither permitted nor denied" in result.stdout


def test_spf_eval_bad_input() -> None:
    assert run("spf", "eval", "--ip", "nope", "--helo", "x.example").returncode == 2
    result = run("spf", "eval", "--ip", "192.0.2.1")
    assert result.returncode == 2 and "--mail-from" in result.stderr


def test_dkim_command_decodes_the_key(dns_server: TestDnsServer) -> None:
    result = run("dkim", "good.test", "-s", "default", "--nameserver", dns_server.address, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["keys"]["default"]["bits"] == 2048 and data["keys"]["default"]["key_type"] == "rsa"
    text = run("dkim", "good.test", "-s", "default", "--nameserver", dns_server.address).stdout
    assert "DKIM keys of good.test" in text and "2048" in text and "ok" in text


def test_message_command_on_the_example() -> None:
    example = EXAMPLES
    result = run(
        "message",
        str(example / "afspraakmanager.be-gmail-headers.txt"),
        "--zone",
        str(example / "afspraakmanager.be.zone"),
        "--format",
        "json",
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "message" and data["facts"]["connection"]["client_ip"] == "2a02:348:8e:6048::1"
    assert {"auth.spf_fail", "auth.dkim_selector_mismatch", "auth.dmarc_fail", "spf.missing", "dkim.record_escaped"} <= {
        f["id"] for f in data["findings"]
    }


def test_message_from_standard_input_as_text() -> None:
    raw = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello\r\n"
    result = subprocess.run(
        [sys.executable, "-m", "maildoctor", "message", "-", "--zone", str(ZONES), "--no-domain-audit"],
        input=raw,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1 and b"Authentication" in result.stdout and b"auth.dkim_none" in result.stdout


def test_message_bad_input() -> None:
    assert run("message", "/nonexistent.eml").returncode == 2
    result = run("message", str(EXAMPLES / "afspraakmanager.be-gmail-headers.txt"), "--client-ip", "not-an-ip")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_check_many_domains_from_a_file(dns_server: TestDnsServer, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("good.test\n# customers\ndmarcnone.test  # p=none\n\nmxdup.test\n")
    result = run("check", "--domains-file", str(listing), "--nameserver", dns_server.address, "--format", "json")
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["target"] for r in reports) == ["dmarcnone.test", "good.test", "mxdup.test"]
    assert result.returncode == 1  # mxdup.test has errors
    scores = {r["target"]: r["score"] for r in reports}
    assert scores["good.test"] == 10.0 and scores["mxdup.test"] < 8
    listing.write_text("good.test\nnot a domain\n")
    bad = run("check", "--domains-file", str(listing), "--nameserver", dns_server.address)
    assert bad.returncode == 2 and "line 2" in bad.stderr and "good.test" in bad.stdout
    assert run("check", "good.test", "--domains-file", str(listing)).returncode == 2
    listing.write_text("good.test\ndmarcnone.test\nmxdup.test\nspfok.test\n")
    parallel = run("check", "--domains-file", str(listing), "--nameserver", dns_server.address, "--format", "json", "--jobs", "2")
    assert parallel.returncode == 1
    documents = [json.loads(line) for line in parallel.stdout.splitlines()]
    assert sorted(d["target"] for d in documents) == ["dmarcnone.test", "good.test", "mxdup.test", "spfok.test"]
    assert all(d["schema"] == SCHEMA_VERSION and d["queries"] for d in documents) and all(r["schema"] == SCHEMA_VERSION for r in reports)
    summary = run("check", "--domains-file", str(listing), "--nameserver", dns_server.address, "--jobs", "2")
    lines = {line.split()[0]: line for line in summary.stdout.splitlines()}
    assert summary.returncode == 1 and sorted(lines) == sorted(d["target"] for d in documents)
    assert "0 finding(s)" in lines["good.test"] and "worst: warning dmarc.no_rua" in lines["dmarcnone.test"]
    assert "fail: DMARC" in lines["dmarcnone.test"] and "fail:" not in lines["good.test"]
    assert all({a["state"] for a in d["areas"]} <= {"pass", "fail", "not_checked", "unavailable"} for d in documents)


def test_a_dead_name_server_makes_the_audit_incomplete_exit_3() -> None:
    from tests.dns.test_hostile import closed_udp_port

    dead = f"127.0.0.9:{closed_udp_port()}"  # nothing answers there
    result = run("check", "example.com", "--nameserver", dead, "--timeout", "0.3", "--format", "json")
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["complete"] is False and {"mx", "spf", "dmarc"} <= set(data["incomplete"])
    assert "incomplete:" in data["score_text"] and "SPF" in data["score_text"]
    assert {r["state"] for r in data["runs"] if r["area"] == "spf"} == {"unavailable"}
    text = run("check", "example.com", "--nameserver", dead, "--timeout", "0.3")
    assert text.returncode == 3 and "incomplete: " in text.stdout and "could not be checked" in text.stdout
    assert "UNAVAILABLE" in text.stdout  # the areas say so, not only the score
    allowed = run("check", "example.com", "--nameserver", dead, "--timeout", "0.3", "--allow-incomplete", "--fail-on", "never")
    assert allowed.returncode == 0


def test_bulk_lines_say_what_could_not_be_checked(tmp_path: Path) -> None:
    from tests.dns.test_hostile import closed_udp_port

    names = tmp_path / "domains.txt"
    names.write_text("example.com\nexample.net\n")
    result = run("check", "--domains-file", str(names), "--nameserver", f"127.0.0.9:{closed_udp_port()}", "--timeout", "0.3")
    assert result.returncode == 3 and result.stdout.count("incomplete: ") == 2


def test_internationalized_names_are_encoded_by_uts46(dns_server: TestDnsServer) -> None:
    result = run(
        "check",
        "straße.de",
        "--nameserver",
        dns_server.address,
        "--timeout",
        "0.3",
        "--format",
        "json",
        "--allow-incomplete",
        "--fail-on",
        "never",
    )
    assert result.returncode == 0 and json.loads(result.stdout)["target"] == "xn--strae-oqa.de"  # not strasse.de
    bad = run("check", "xn--zz.de")
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


def test_inputs_that_are_not_what_they_claim_are_input_errors(tmp_path: Path) -> None:
    """Exit 2 with one line and no score: a binary file as a message, zone files with no records,
    no SOA, or an origin that is no domain."""
    (tmp_path / "blob.eml").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.zone").write_text("")
    (tmp_path / "nosoa.example.zone").write_text("$ORIGIN nosoa.example.\n@ 300 IN A 192.0.2.1\n")
    (tmp_path / "onlyorigin.zone").write_text("$ORIGIN onlyorigin.example.\n")
    cases = {
        ("message", str(tmp_path / "blob.eml"), "--zone", str(ZONES)): "is not a mail message",
        ("zone", str(tmp_path / "empty.zone")): "is not a domain name",
        ("zone", str(tmp_path / "nosoa.example.zone")): "no SOA record at nosoa.example",
        ("zone", str(tmp_path / "onlyorigin.zone")): "no records",
    }
    for arguments, said in cases.items():
        done = run(*arguments)
        assert done.returncode == 2 and said in done.stderr, (arguments, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr and "Score" not in done.stdout


def test_a_zone_audit_checks_the_ptr_of_ip_in_a_given_reverse_zone(tmp_path: Path) -> None:
    zone = str(EXAMPLES / "afspraakmanager.be.zone")
    ip = "2a02:348:8e:6048::1"  # the example case: Gmail wants a PTR for IPv6 senders
    alone = json.loads(run("zone", zone, "--ip", ip, "--format", "json").stdout)
    rdns = next(a for a in alone["areas"] if a["area"] == "rdns")
    assert rdns["state"] == "not_checked" and f"{ip} (sending IP): not checked" in rdns["reason"]
    reverse = tmp_path / "8.4.3.0.2.0.a.2.ip6.arpa.zone"
    reverse.write_text("$TTL 3600\n@ IN SOA ns.example. h.example. 1 2 3 4 5\n@ IN NS ns.example.\n")  # the zone, without the PTR
    given = json.loads(run("zone", zone, "--ip", ip, "--reverse-zone", str(reverse), "--format", "json").stdout)
    rdns = next(a for a in given["areas"] if a["area"] == "rdns")
    assert rdns["state"] == "fail" and any(f["id"] == "rdns.ptr_missing" and ip in f["title"] for f in given["findings"])
    broken = tmp_path / "broken.zone"
    broken.write_text("this is no zone\n")
    bad = run("zone", zone, "--ip", ip, "--reverse-zone", str(broken))
    assert bad.returncode == 2 and "--reverse-zone" in bad.stderr and "Traceback" not in bad.stderr


def test_a_command_loads_only_what_it_needs() -> None:
    # every command's module was imported at each start: SQLAlchemy, Dask, matplotlib, pyarrow
    # and Starlette for a `check`, a second of CPU, and again in each --jobs worker
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from maildoctor.cli import main\n"
        "assert CliRunner().invoke(main, ['check', '--help']).exit_code == 0\n"
        "print(' '.join(m for m in ('sqlalchemy', 'dask', 'distributed', 'matplotlib', 'pyarrow', 'starlette') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == ""
