"""Every finding id the code can emit is in the package's catalog (the project owns it: src/maildoctor/data/checks.json)."""

import re

import pytest

from maildoctor.catalog import catalog
from maildoctor.engine import load_checks
from tests.conftest import ROOT

ID_LITERAL = re.compile(
    r"[\"'](?:domain|engine|zone|mx|spf|dkim|dmarc|rdns|smtp|mtasts|tlsrpt|dane|dnssec|bimi|dnsbl|msg|auth|content|tls|feedback)\.[a-z0-9_]+[\"']"
)


# Literals of the same shape that are not finding ids: RFC 8601 result properties (smtp.mailfrom, ...).
NOT_IDS = {"smtp.mailfrom", "smtp.mail", "smtp.helo", "smtp.rcptto", "smtp.auth"}


def source_ids() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "maildoctor").rglob("*.py"):
        found |= {m.group(0)[1:-1] for m in ID_LITERAL.finditer(path.read_text())}
    return found - NOT_IDS


def test_every_id_in_the_code_is_in_the_package_catalog() -> None:
    missing = source_ids() - set(catalog())
    assert not missing, f"ids used in src/ but not in data/checks.json: {sorted(missing)}"


def test_every_declared_id_is_in_the_package_catalog() -> None:
    declared = {i for spec in load_checks() for i in spec.emits}
    assert declared and declared <= set(catalog())


def test_temporary_failures_have_warning_ids_in_the_catalog() -> None:
    for spec in load_checks():
        for check_id in (i for i in spec.emits if i.endswith(".lookup_failed")):
            assert catalog()[check_id].severity == "warning", check_id


def test_an_unknown_finding_id_fails_in_tests_and_is_reported_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from maildoctor import findings

    with pytest.raises(findings.UnknownFinding):
        findings.make_finding("spf.not_in_the_catalog", "t", "d")
    monkeypatch.setattr(findings, "STRICT", False)
    reported = findings.make_finding("spf.not_in_the_catalog", "A title", "A detail")
    assert reported.id == "spf.not_in_the_catalog" and reported.title == "A title" and str(reported.severity) == "warning"


def test_a_title_of_fixed_wording_comes_from_the_catalog() -> None:
    """make_finding builds a title; one that never varies is the catalog's (catalog_finding)."""
    import ast

    literal = []
    for path in (ROOT / "src" / "maildoctor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node.func, "id", getattr(node.func, "attr", None)) if isinstance(node, ast.Call) else None
            if name == "make_finding" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                literal.append(f"{path.name}: {node.args[0].value}")
    assert literal == []
    titled = {e.id: e.title for e in catalog().values() if e.title}
    assert len(titled) >= 20 and all(t.strip() == t and not t.endswith(".") for t in titled.values())
    from maildoctor.findings import catalog_finding

    assert catalog_finding("spf.no_all", "d").title == titled["spf.no_all"]
    with pytest.raises(KeyError, match="no title"):
        catalog_finding("spf.missing", "d")  # its title names the domain
