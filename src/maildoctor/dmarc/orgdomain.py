"""Organizational domains from the Public Suffix List (shipped with publicsuffixlist, no network)."""

from __future__ import annotations

from functools import cache, lru_cache

from publicsuffixlist import PublicSuffixList


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@lru_cache(maxsize=8192)
def organizational_domain(domain: str) -> str:
    """sub.example.co.uk -> example.co.uk; a public suffix itself stays as it is."""
    name = domain.rstrip(".").lower()
    return _psl().privatesuffix(name) or name


def same_organization(a: str, b: str) -> bool:
    return organizational_domain(a) == organizational_domain(b)
