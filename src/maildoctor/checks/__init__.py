"""Checks, one module per area; importing this package registers them all with the engine."""
from maildoctor.checks import dmarc, mx, spf, zone  # noqa: F401
