"""DMARC logic: organizational domains and policy discovery (RFC 7489 §3.2, §6.6.3)."""
