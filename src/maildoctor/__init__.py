"""maildoctor: why mail lands in spam, and exactly what to change."""

__version__ = "0.1.0"
