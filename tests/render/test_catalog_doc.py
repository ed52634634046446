"""docs/checks.md is the catalog, rendered: the two never drift apart."""

from __future__ import annotations

from maildoctor.catalog import catalog
from maildoctor.render.catalog import catalog_markdown
from tests.conftest import ROOT


def test_docs_checks_md_is_generated_from_the_catalog() -> None:
    published = (ROOT / "docs" / "checks.md").read_text("utf-8")
    assert published == catalog_markdown(), "regenerate: python -m maildoctor.render.catalog > docs/checks.md"
    assert all(f"`{check_id}`" in published for check_id in catalog())
