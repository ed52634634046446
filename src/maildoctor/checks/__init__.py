"""Checks, one module per area; importing this package registers them all with the engine."""

from maildoctor.checks import dkim, dmarc, dnsbl, mx, policies, rdns, smtp, spf, zone  # noqa: F401
